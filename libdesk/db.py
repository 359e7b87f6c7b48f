"""Database: engine creation, SQLite pragmas, schema, the institution copy, transactions.

One :class:`Database` wraps a SQLAlchemy engine (SQLite file by default, PostgreSQL through a
URL) and the institution read from the database itself. Writers open their transaction with
``BEGIN IMMEDIATE`` on SQLite: with a plain ``BEGIN`` two desks writing at once failed with
"database is locked" about 18% of the time (DESIGN.md); with IMMEDIATE the second writer
waits on the busy timeout instead.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, insert, select, update
from sqlalchemy.exc import ArgumentError, DatabaseError, DBAPIError, NoSuchModuleError, OperationalError
from sqlmodel import SQLModel

from libdesk import institution as inst_mod
from libdesk.errors import ConfigError
from libdesk.institution import Institution
from libdesk.models import SCHEMA_VERSION, Meta, Patron

BUSY_TIMEOUT_MS = 10_000
APPLICATION_ID = 0x4C44534B
"""``PRAGMA application_id`` of a libdesk SQLite file ("LDSK"), set when it is created: with
it, and the meta table for files made before it, libdesk tells its own files from others'."""
SQLITE_MAGIC = b"SQLite format 3\x00"
URL_SCHEMES = ("sqlite", "postgresql")


def database_url(path_or_url: str | os.PathLike[str]) -> str:
    """A SQLAlchemy URL for a file path or a URL given as is."""
    text = os.fspath(path_or_url)
    if "://" in text:
        return text
    return f"sqlite:///{Path(text).expanduser().resolve()}"


def describe(url: str) -> str:
    """The database as a person reads it: the SQLite file, or the PostgreSQL host/db."""
    if url.startswith("sqlite:///"):
        return url[len("sqlite:///"):]
    if "@" in url:  # never show a password
        scheme = url.split("://", 1)[0]
        return f"{scheme}://{url.rsplit('@', 1)[1]}"
    return url


def make_engine(url: str) -> Engine:
    """The engine for ``url`` (SQLite gets its pragmas on every connection).

    Raises:
        ConfigError: not a SQLite or PostgreSQL URL, or its driver is not installed.
    """
    scheme = url.split("://", 1)[0].lower()
    if scheme.split("+", 1)[0] not in URL_SCHEMES:
        raise ConfigError(f"{describe(url)}: not a database libdesk can use (give a file path, sqlite:///PATH "
                          "or postgresql+psycopg://USER@HOST/DATABASE)")
    try:
        return _make_engine(url)
    except (NoSuchModuleError, ModuleNotFoundError, ImportError) as exc:
        name = getattr(exc, "name", None) or scheme
        raise ConfigError(f"{describe(url)}: the database driver {name!r} is not installed (libdesk speaks to "
                          "PostgreSQL through psycopg 3: pip install 'libdesk[postgres]' and use a "
                          "postgresql+psycopg:// URL)") from None
    except (ArgumentError, ValueError) as exc:
        raise ConfigError(f"{describe(url)}: not a valid database URL ({str(exc).splitlines()[0]})") from None


def _make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            # pysqlite's own transaction handling must be off for BEGIN IMMEDIATE to work
            # (SQLAlchemy docs, "Serializable isolation / Savepoints / Transactional DDL").
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            # No checkpoint inside a desk's commit: WAL checkpoints (copy + fsync, ~4-8 ms) landed
            # on about 1 scan in 100 and made the p99 (benchmarks/run.py: 7.9 ms against 0.34 ms
            # p50). Database's checkpointer thread does them in the background instead.
            cur.execute("PRAGMA wal_autocheckpoint=0")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            if conn.get_execution_options().get("libdesk_write"):
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.exec_driver_sql("BEGIN")

        return engine
    return create_engine(url, pool_pre_ping=True)


CHECKPOINT_EVERY_S = 1.0


class Database:
    """An open libdesk database and the institution it was set up with."""

    def __init__(self, url: str, engine: Engine, institution: Institution) -> None:
        self.url = url
        self.engine = engine
        self.institution = institution
        self._stop = threading.Event()
        self._checkpointer: threading.Thread | None = None

    def _ensure_checkpointer(self) -> None:
        """Start the WAL checkpointer on the first write (SQLite only). It holds only a weak
        reference, so a Database that is dropped without close() does not keep it running."""
        if self._checkpointer is not None or self.engine.dialect.name != "sqlite":
            return
        self._checkpointer = threading.Thread(target=_checkpoint_loop, args=(weakref.ref(self), self._stop),
                                              name="libdesk-wal-checkpoint", daemon=True)
        self._checkpointer.start()

    @property
    def description(self) -> str:
        return describe(self.url)

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction (BEGIN IMMEDIATE on SQLite); rolls back on any error."""
        self._ensure_checkpointer()
        with self.engine.connect().execution_options(libdesk_write=True) as conn:
            with _friendly_db_errors(self.url):
                with conn.begin():
                    yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction."""
        with self.engine.connect() as conn:
            with _friendly_db_errors(self.url):
                with conn.begin():
                    yield conn

    def close(self) -> None:
        self._stop.set()
        if self._checkpointer is not None and self._checkpointer is not threading.current_thread():
            self._checkpointer.join(timeout=5)
        if self.engine.dialect.name == "sqlite":
            try:
                with self.engine.connect() as conn:
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
            except Exception:  # noqa: BLE001 - closing must not fail on a busy database
                pass
        self.engine.dispose()


def _checkpoint_loop(ref: weakref.ReferenceType[Database], stop: threading.Event) -> None:
    """Fold the WAL back into the database file off the scan path (PASSIVE: it never waits
    for, nor blocks, a desk's transaction). Ends with close(), or when the Database is gone."""
    while not stop.wait(CHECKPOINT_EVERY_S):
        db = ref()
        if db is None:
            return
        try:
            with db.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        except Exception:  # noqa: BLE001 - a missed checkpoint is retried next round
            if not Path(db.description).exists():
                return  # the file is gone (a removed scratch database)
        del db


@contextmanager
def _friendly_db_errors(url: str) -> Iterator[None]:
    try:
        yield
    except OperationalError as exc:
        msg = str(exc.orig) if exc.orig is not None else str(exc)
        if "locked" in msg or "busy" in msg:
            raise ConfigError(f"The database is busy (another desk is writing); try again: {describe(url)}") from None
        if "readonly" in msg or "read-only" in msg:
            raise ConfigError(f"The database file is read-only: {describe(url)}") from None
        if "unable to open" in msg:
            raise ConfigError(f"Cannot open the database file: {describe(url)}") from None
        storage = _storage_error(url, msg)
        if storage is not None:
            raise storage from None
        raise
    except (DatabaseError, sqlite3.DatabaseError) as exc:
        # A full disk or a damaged file (also from the raw sqlite3 fast path): one line that
        # says what to do, never the statement and its parameters.
        orig = getattr(exc, "orig", None) or exc
        storage = _storage_error(url, str(orig))
        if storage is None:
            raise
        raise storage from None


def _storage_error(url: str, msg: str) -> ConfigError | None:
    """The user error for a storage failure SQLite reports, or None for anything else."""
    if "disk is full" in msg or "database or disk is full" in msg:
        return ConfigError(f"The disk is full: nothing was written; free some space and try again: {describe(url)}")
    if "disk I/O error" in msg:
        return ConfigError(f"The database file could not be written (disk I/O error: is the disk full or failing?); "
                           f"nothing was written: {describe(url)}")
    if "malformed" in msg or "file is not a database" in msg:
        return ConfigError(f"{describe(url)}: the database file is damaged ({msg}); restore it from a backup")
    return None


def _check_sqlite_path(url: str, create: bool) -> None:
    if not url.startswith("sqlite:///"):
        return
    path = Path(url[len("sqlite:///"):])
    if path.exists():
        if path.is_dir():
            raise ConfigError(f"{path}: is a directory, not a database file")
        if not os.access(path, os.R_OK | os.W_OK):
            raise ConfigError(f"{path}: the database file is not readable and writable")
        return
    for ancestor in path.parents:
        if ancestor.exists():
            if not ancestor.is_dir():
                raise ConfigError(f"{path}: {ancestor} is a file, not a folder")
            break
    if not create:
        raise ConfigError(f"{path}: no database here; run `libdesk init` (or `libdesk init --demo`) first")
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{parent}: cannot create the database folder: {exc.strerror}") from None
    if not os.access(parent, os.W_OK):
        raise ConfigError(f"{parent}: the folder is not writable, so the database cannot be created there")


def _check_identity(url: str, *, create: bool) -> None:
    """Is the SQLite file at ``url`` libdesk's? Asked before any engine opens it, because the
    engine's first connection sets ``journal_mode=WAL``, which rewrites another program's file.
    Reads the header, then (for files made before the application id) ``sqlite_master`` and
    the meta table through a read-only connection; never writes to the file.

    ``create`` (init) also accepts a missing or 0-byte file and an SQLite file with no tables;
    open needs libdesk's own file.

    Raises:
        ConfigError: an empty file (open), not an SQLite file, another program's database,
        a damaged file.
    """
    if not url.startswith("sqlite:///"):
        return
    path = Path(url[len("sqlite:///"):])
    if not path.is_file():
        return  # missing: _check_sqlite_path has said what to do
    try:
        with open(path, "rb") as fh:
            header = fh.read(100)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the database file: {exc.strerror}") from None
    if not header and not Path(f"{path}-wal").exists():
        if create:
            return
        raise ConfigError(f"{path}: an empty file, not a libdesk database; run `libdesk init` to set it up")
    if not header.startswith(SQLITE_MAGIC) or len(header) < 100:
        raise ConfigError(f"{path}: not a libdesk database (not an SQLite file); libdesk leaves it as it is")
    app_id = int.from_bytes(header[68:72], "big")
    if app_id == APPLICATION_ID:
        return
    if app_id != 0:
        raise ConfigError(f"{path}: another program's database (application id {app_id:#x}); "
                          "libdesk leaves it as it is")
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            tables = {name for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            app_id = con.execute("PRAGMA application_id").fetchone()[0]  # a WAL not yet checkpointed
            libdesk = "meta" in tables and con.execute(
                "SELECT count(*) FROM meta WHERE key IN ('schema_version', 'institution')").fetchone()[0] > 0
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise ConfigError(f"{path}: the database file is damaged or not a database ({exc}); "
                          "libdesk leaves it as it is") from None
    if app_id == APPLICATION_ID or libdesk or (create and not tables):
        return
    raise ConfigError(f"{path}: another program's database (it has tables but no libdesk meta table); "
                      "libdesk leaves it as it is")


def open_database(path_or_url: str | os.PathLike[str]) -> Database:
    """Open an existing libdesk database.

    Raises:
        ConfigError: no database there, unreadable, not a libdesk database, or too new.
    """
    url = database_url(path_or_url)
    _check_sqlite_path(url, create=False)
    _check_identity(url, create=False)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = dict(conn.execute(select(Meta.key, Meta.value)).all())  # type: ignore[call-overload]
    except (OperationalError, DBAPIError) as exc:
        engine.dispose()
        raise ConfigError(f"{describe(url)}: not a libdesk database ({exc.orig})") from None
    version = int(rows.get("schema_version", "0"))
    if version > SCHEMA_VERSION:
        engine.dispose()
        raise ConfigError(f"{describe(url)}: made by a newer libdesk (schema {version}); upgrade libdesk")
    if "institution" not in rows:
        engine.dispose()
        raise ConfigError(f"{describe(url)}: not a libdesk database (no institution); run `libdesk init`")
    institution = inst_mod.parse(rows["institution"], f"{describe(url)} (stored institution)")
    _upgrade(engine, version)
    return Database(url, engine, institution)


def create_database(path_or_url: str | os.PathLike[str], institution: Institution) -> Database:
    """Create the schema and store the institution; refuses a database that already has one.

    Raises:
        ConfigError: the path is unusable or the database is already set up.
    """
    url = database_url(path_or_url)
    _check_sqlite_path(url, create=True)
    _check_identity(url, create=True)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            existing = conn.dialect.has_table(conn, "meta")
        if existing:
            engine.dispose()
            raise ConfigError(f"{describe(url)}: already set up; remove it first or use another --db")
        if engine.dialect.name == "sqlite":
            # Marked libdesk's first, so that a set-up cut short can be run again (see _check_identity).
            with engine.connect().execution_options(libdesk_write=True) as conn, conn.begin():
                conn.exec_driver_sql(f"PRAGMA application_id={APPLICATION_ID}")
        SQLModel.metadata.create_all(engine)
        _create_extras(engine)
        with engine.connect().execution_options(libdesk_write=True) as conn, conn.begin():
            conn.execute(insert(Meta.__table__), [
                {"key": "schema_version", "value": str(SCHEMA_VERSION)},
                {"key": "institution", "value": institution.source},
            ])
            if institution.patrons:
                conn.execute(insert(Patron.__table__), [
                    {"id": p.id, "name": p.name, "pseudo": p.pseudo, "active": True} for p in institution.patrons
                ])
    except OperationalError as exc:
        engine.dispose()
        raise ConfigError(f"{describe(url)}: cannot create the database: {exc.orig}") from None
    return Database(url, engine, institution)


FTS_COLUMNS = ("title", "author", "call_number")


FTS_INSERT_TRIGGER = (
    f"CREATE TRIGGER IF NOT EXISTS item_fts_ai AFTER INSERT ON item BEGIN "
    f"INSERT INTO item_fts(rowid, {', '.join(FTS_COLUMNS)}) "
    f"VALUES (new.id, {', '.join('new.' + c for c in FTS_COLUMNS)}); END")


@contextmanager
def bulk_item_insert(conn: Connection) -> Iterator[None]:
    """Inside a write transaction: insert many items, then index their words in one statement.

    Indexing row by row through the insert trigger cost 3.3x the whole import (200,000 items:
    20.5 s against 6.2 s measured). The trigger is dropped and re-created inside the same
    transaction (SQLite DDL is transactional, and the write lock keeps other desks out), so
    no reader ever sees items without their index entries.
    """
    if conn.dialect.name != "sqlite":
        yield
        return
    before = conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM item").scalar_one()
    conn.exec_driver_sql("DROP TRIGGER IF EXISTS item_fts_ai")
    yield
    cols = ", ".join(FTS_COLUMNS)
    conn.exec_driver_sql(f"INSERT INTO item_fts(rowid, {cols}) SELECT id, {cols} FROM item WHERE id > ?", (before,))
    conn.exec_driver_sql(FTS_INSERT_TRIGGER)


def has_fts(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _create_extras(engine: Engine) -> None:
    """Indexes and the full-text index, which SQLModel cannot express."""
    with engine.begin() as conn:
        # The in-process list of a department is read by (department, status) and paged by
        # barcode or by days in department.
        conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_item_dept_status ON item (department, status)")
        conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_item_dept_barcode ON item (department, barcode)")
        conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_item_dept_since ON item (department, wo_since)")
        conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_request_active_step ON request (active, step)")
        # Covers every Monitor facet: the facet counts read this index alone, never the table.
        conn.exec_driver_sql(
            "CREATE INDEX IF NOT EXISTS ix_request_monitor ON request (active, kind, work_order_type, pickup, "
            "department, step, owner, material_type, placed_at)")
        if not has_fts(engine):
            return
        # Title/author/call-number words: FTS5 is 0.2 ms where LIKE scans (70 ms on 1M items,
        # DESIGN.md). An external-content table kept in step by triggers; the update trigger
        # fires only when those columns are set, so a scan (which never sets them) pays nothing.
        _create_facet_summary(conn)
        cols = ", ".join(FTS_COLUMNS)
        new = ", ".join(f"new.{c}" for c in FTS_COLUMNS)
        old = ", ".join(f"old.{c}" for c in FTS_COLUMNS)
        conn.exec_driver_sql(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS item_fts USING fts5({cols}, content='item', content_rowid='id', "
            # Prefix indexes: a typed word matches as a prefix ("gard" finds gardens); without
            # them a short common prefix ("law*") costs 14 ms at 1M items, with them ~0.2 ms.
            "tokenize='unicode61 remove_diacritics 2', prefix='2 3 4')")
        conn.exec_driver_sql(FTS_INSERT_TRIGGER)
        conn.exec_driver_sql(
            f"CREATE TRIGGER IF NOT EXISTS item_fts_ad AFTER DELETE ON item BEGIN "
            f"INSERT INTO item_fts(item_fts, rowid, {cols}) VALUES ('delete', old.id, {old}); END")
        conn.exec_driver_sql(
            f"CREATE TRIGGER IF NOT EXISTS item_fts_au AFTER UPDATE OF {cols} ON item BEGIN "
            f"INSERT INTO item_fts(item_fts, rowid, {cols}) VALUES ('delete', old.id, {old}); "
            f"INSERT INTO item_fts(rowid, {cols}) VALUES (new.id, {new}); END")


_FACET_KEY = ("CASE WHEN {r}.kind = 'patron' THEN 'patron' ELSE coalesce({r}.work_order_type, '') END, "
              "coalesce({r}.owner, ''), coalesce({r}.pickup, {r}.department, ''), coalesce({r}.material_type, ''), "
              "{r}.step, substr({r}.placed_at, 1, 10)")
_FACET_MATCH = ("type = CASE WHEN old.kind = 'patron' THEN 'patron' ELSE coalesce(old.work_order_type, '') END "
                "AND owner = coalesce(old.owner, '') AND pickup = coalesce(old.pickup, old.department, '') "
                "AND material_type = coalesce(old.material_type, '') AND step = old.step "
                "AND day = substr(old.placed_at, 1, 10)")


def _create_facet_summary(conn: Connection) -> None:
    """``request_facets``: active requests counted by every Monitor facet value and day,
    kept exact by triggers on request insert/update/delete, so the Monitor's facet counts
    read a few thousand rows instead of grouping every active request."""
    exists = conn.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'request_facets'").first()
    if exists:
        return
    conn.exec_driver_sql(
        "CREATE TABLE request_facets (type TEXT NOT NULL, owner TEXT NOT NULL, pickup TEXT NOT NULL, "
        "material_type TEXT NOT NULL, step TEXT NOT NULL, day TEXT NOT NULL, n INTEGER NOT NULL, "
        "PRIMARY KEY (type, owner, pickup, material_type, step, day))")
    add = ("INSERT INTO request_facets (type, owner, pickup, material_type, step, day, n) "
           "SELECT " + _FACET_KEY.format(r="new") + ", 1 WHERE new.active "
           "ON CONFLICT (type, owner, pickup, material_type, step, day) DO UPDATE SET n = n + 1;")
    remove = "UPDATE request_facets SET n = n - 1 WHERE old.active AND " + _FACET_MATCH + ";"
    conn.exec_driver_sql(f"CREATE TRIGGER request_facets_ai AFTER INSERT ON request BEGIN {add} END")
    conn.exec_driver_sql(f"CREATE TRIGGER request_facets_ad AFTER DELETE ON request BEGIN {remove} END")
    conn.exec_driver_sql(
        "CREATE TRIGGER request_facets_au AFTER UPDATE OF active, kind, work_order_type, owner, pickup, department, "
        f"material_type, step, placed_at ON request BEGIN {remove} {add} END")
    conn.exec_driver_sql(
        "INSERT INTO request_facets (type, owner, pickup, material_type, step, day, n) "
        "SELECT " + _FACET_KEY.format(r="request") + ", count(*) FROM request WHERE active GROUP BY 1, 2, 3, 4, 5, 6")


def _upgrade(engine: Engine, version: int) -> None:
    """Bring an older schema up to date, one version at a time, each step in one transaction."""
    if version >= SCHEMA_VERSION:
        return
    with engine.connect().execution_options(libdesk_write=True) as conn, conn.begin():
        if version < 2:
            # 2: requests carry their item's owner and material type (Monitor facets).
            conn.exec_driver_sql("ALTER TABLE request ADD COLUMN owner VARCHAR")
            conn.exec_driver_sql("ALTER TABLE request ADD COLUMN material_type VARCHAR")
            conn.exec_driver_sql(
                "UPDATE request SET owner = (SELECT library FROM item WHERE item.id = request.item_id), "
                "material_type = (SELECT material_type FROM item WHERE item.id = request.item_id)")
        if version < 3:
            # 3: resource-sharing borrowing requests and their messages (new tables only).
            SQLModel.metadata.create_all(conn, checkfirst=True)
        conn.execute(update(Meta.__table__).where(Meta.__table__.c.key == "schema_version")
                     .values(value=str(SCHEMA_VERSION)))
    _create_extras(engine)
