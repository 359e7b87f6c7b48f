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
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, delete, event, insert, select
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError
from sqlmodel import SQLModel

from libdesk import institution as inst_mod
from libdesk import writers
from libdesk.errors import (
    ConfigError,
    DatabaseBusy,
    DatabaseConflict,
    DatabaseFull,
    DatabaseUnreachable,
    DatabaseUnusable,
    InvalidInput,
    LibdeskError,
)
from libdesk.institution import Institution
from libdesk.models import SCHEMA_VERSION, Meta, Patron, table

BUSY_TIMEOUT_MS = 10_000
CONNECT_TIMEOUT_S = 5

WAL_LIMIT_BYTES = 8 * 1024 * 1024
"""Past this size the background checkpointer restarts the WAL (TRUNCATE) instead of only
folding it back (PASSIVE), and SQLite cuts a restarted WAL back to it (journal_size_limit).
PASSIVE alone never restarts the log while writes keep coming: 30,000 scans left a 3.3 GB WAL
beside a 48 MB database (issue 11). The checkpoint itself lags behind full-speed scanning, so
the file overshoots the limit: at 8 MB the largest seen was 31 MB (16 MB: 39-53 MB), against
the 64 MB bound (benchmarks/desks.py --only wal)."""

RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})
"""deadlock_detected, serialization_failure: the server rolled the transaction back as a
whole, so running it again is correct (PostgreSQL docs, "Serialization Failure Handling")."""


def is_retryable_conflict(exc: BaseException | None) -> bool:
    """Is ``exc`` (or the database error it was raised from, when a friendlier error was
    raised while handling it) a deadlock or a serialization failure? By the driver's SQLSTATE
    (psycopg's ``exc.orig.sqlstate``), never by the words of the message."""
    for _ in range(8):  # a short chain: the driver's error, SQLAlchemy's, ours
        if exc is None:
            return False
        orig = exc.orig if isinstance(exc, DBAPIError) else exc
        if getattr(orig, "sqlstate", None) in RETRYABLE_SQLSTATES:
            return True
        exc = exc.__cause__ or exc.__context__
    return False

APPLICATION_ID = 0x4C44534B
"""``PRAGMA application_id`` of a libdesk SQLite file ("LDSK"), set when it is created: with
it, and the meta table for files made before it, libdesk tells its own files from others'."""
SQLITE_MAGIC = b"SQLite format 3\x00"
URL_SCHEMES = ("sqlite", "postgresql")


def database_url(path_or_url: str | os.PathLike[str]) -> str:
    """A SQLAlchemy URL for a file path or a URL given as is."""
    text = os.fspath(path_or_url)
    for plain in ("postgresql://", "postgres://"):
        if text.startswith(plain):  # the form psql and most tools use: libdesk's driver is psycopg 3
            return "postgresql+psycopg://" + text[len(plain):]
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
        def _on_connect(dbapi_conn, _record):
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
            cur.execute(f"PRAGMA journal_size_limit={WAL_LIMIT_BYTES}")
            cur.close()

        @event.listens_for(engine, "close")
        def _on_close(_dbapi_conn, record):
            signal = record.info.pop("libdesk_wait_signal", None)
            if signal is not None:
                signal.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            if conn.get_execution_options().get("libdesk_write"):
                info = conn.info
                if "libdesk_wait_signal" not in info:  # on the connection's first write
                    path = engine.url.database or ""
                    info["libdesk_wait_signal"] = writers.WaitSignal.open(path) if path != ":memory:" and path else None
                signal = info["libdesk_wait_signal"]
                if signal is None:
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                else:
                    with signal:  # "a desk waits to write": a bulk run lets it in (libdesk/writers.py)
                        conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.exec_driver_sql("BEGIN")

        return engine
    # A server that does not answer (a cut network drops packets) must not hang a scan: libpq
    # waits forever by default. The URL's own ?connect_timeout= wins.
    args = {} if "connect_timeout" in url else {"connect_timeout": CONNECT_TIMEOUT_S}
    return create_engine(url, pool_pre_ping=True, connect_args=args)


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
    def write(self, conn: Connection | None = None) -> Iterator[Connection]:
        """One write transaction (BEGIN IMMEDIATE on SQLite); rolls back on any error. ``conn``:
        on a connection the caller already holds (an import stages its rows in a temporary
        table on it first, outside the write lock)."""
        self._ensure_checkpointer()
        if conn is not None:
            conn.execution_options(libdesk_write=True)
            with _friendly_db_errors(self.url):
                with conn.begin():
                    yield conn
            return
        # connect() inside: a server that went away fails there (pool_pre_ping finds the dead
        # pooled connection and the reconnect is refused), and that is a user error too.
        with _friendly_db_errors(self.url):
            with self.engine.connect().execution_options(libdesk_write=True) as conn, conn.begin():
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction."""
        with _friendly_db_errors(self.url):
            with self.engine.connect() as conn, conn.begin():
                yield conn

    def close(self) -> None:
        self._stop.set()
        if self._checkpointer is not None and self._checkpointer is not threading.current_thread():
            self._checkpointer.join(timeout=5)
        if self.engine.dialect.name == "sqlite":
            try:
                with self.engine.connect() as conn:
                    # Fold the whole WAL back and empty the file, so a desk that closes cleanly
                    # leaves no WAL behind. Bounded wait: another desk mid-transaction keeps its
                    # part of the log, and the next checkpoint (theirs) folds it.
                    conn.exec_driver_sql(f"PRAGMA busy_timeout={CLOSE_BUSY_TIMEOUT_MS}")
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            except Exception:  # noqa: BLE001 - closing must not fail on a busy database
                pass
        self.engine.dispose()


CLOSE_BUSY_TIMEOUT_MS = 500
TRUNCATE_BUSY_TIMEOUT_MS = 100


def wal_size(db: Database) -> int:
    """Bytes in the SQLite database's -wal file (0 when there is none)."""
    try:
        return os.stat(db.description + "-wal").st_size
    except OSError:
        return 0


CHECKPOINT_POLL_S = 0.1
"""How often the checkpointer looks at the WAL's size: a stat, so that at full-speed scanning
(several MB a second) it restarts the log long before it nears 64 MB."""


def checkpoint(db: Database, limit: int | None = None) -> str:
    """One background checkpoint: PASSIVE (it never waits for, nor blocks, a desk's
    transaction); when the WAL has grown past ``limit``, PASSIVE first (the bulk of the
    copying, no desk waits for it) and then TRUNCATE, which holds writers back only while it
    copies what came in meanwhile, and restarts the log. Returns the mode used last, or BUSY
    when TRUNCATE could not finish (a reader still in the old log, another checkpoint)."""
    limit = WAL_LIMIT_BYTES if limit is None else limit
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        if wal_size(db) <= limit:
            return "PASSIVE"
        # TRUNCATE takes the write lock and then waits for readers still in the old log: on
        # the busy timeout, so a short one, or a long report reading would hold every desk's
        # scan for up to 10 s. If it cannot finish now, the next round tries again.
        conn.exec_driver_sql(f"PRAGMA busy_timeout={TRUNCATE_BUSY_TIMEOUT_MS}")
        try:
            busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()[0]
        finally:
            conn.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")  # a pooled desk connection
        return "BUSY" if busy else "TRUNCATE"


def _checkpoint_loop(ref: weakref.ReferenceType[Database], stop: threading.Event) -> None:
    """Fold the WAL back into the database file off the scan path, every CHECKPOINT_EVERY_S,
    or at once when it has grown past WAL_LIMIT_BYTES. Ends with close(), or when the Database
    is gone."""
    last = 0.0
    while not stop.wait(CHECKPOINT_POLL_S):
        db = ref()
        if db is None:
            return
        now = time.monotonic()
        if now - last >= CHECKPOINT_EVERY_S or wal_size(db) > WAL_LIMIT_BYTES:
            last = now
            try:
                checkpoint(db)
            except Exception:  # noqa: BLE001 - a missed checkpoint is retried next round
                if not Path(db.description).exists():
                    return  # the file is gone (a removed scratch database)
        del db


@contextmanager
def _friendly_db_errors(url: str) -> Iterator[None]:
    try:
        yield
    except (DBAPIError, sqlite3.Error) as exc:
        friendly = classify_db_error(exc, url)
        if friendly is None:
            raise
        raise friendly from None
    except Exception as exc:
        # psycopg's own errors (raised outside SQLAlchemy's wrapping) are classified the same way.
        if _psycopg_error(exc) is None:
            raise
        friendly = classify_db_error(exc, url)
        if friendly is None:
            raise
        raise friendly from None


# -- what went wrong, from the driver's error codes --------------------------------------------
# SQLite: the primary result code (extended code & 0xFF) of sqlite3.Error.sqlite_errorcode.
# PostgreSQL: the SQLSTATE of psycopg's error; libpq gives none when a connection attempt
# fails, so a failed connect asks the server with PQping whether it is there at all.
# Never the wording of the message: "blocked" is not "locked", and servers translate theirs.

def _driver_error(exc: BaseException) -> BaseException:
    """The DB-API exception behind a SQLAlchemy wrapper (or the exception itself)."""
    orig = getattr(exc, "orig", None) if isinstance(exc, DBAPIError) else None
    return orig if orig is not None else exc


def _psycopg_error(exc: BaseException) -> BaseException | None:
    psycopg = sys.modules.get("psycopg")
    orig = _driver_error(exc)
    return orig if psycopg is not None and isinstance(orig, psycopg.Error) else None


def sqlstate(exc: BaseException) -> str | None:
    """PostgreSQL's SQLSTATE of a driver error (wrapped by SQLAlchemy or not), else None."""
    orig = _psycopg_error(exc)
    return getattr(orig, "sqlstate", None) if orig is not None else None


def sqlite_code(exc: BaseException) -> int | None:
    """SQLite's extended result code of a driver error (wrapped or not), else None."""
    orig = _driver_error(exc)
    return getattr(orig, "sqlite_errorcode", None) if isinstance(orig, sqlite3.Error) else None


def is_unique_violation(exc: BaseException) -> bool:
    """A unique constraint refused a row (SQLSTATE 23505, SQLITE_CONSTRAINT_UNIQUE or _PRIMARYKEY)."""
    code = sqlite_code(exc)
    if code is not None:
        return code in (sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
    return sqlstate(exc) == "23505"


def classify_db_error(exc: BaseException, url: str) -> LibdeskError | None:
    """The user error a database failure means, in one line; None for anything else (a bug,
    which the caller lets through)."""
    where = describe(url)
    code = sqlite_code(exc)
    if code is not None:
        return _classify_sqlite(code & 0xFF, where)
    orig = _psycopg_error(exc)
    if orig is None:
        return None
    state = getattr(orig, "sqlstate", None)
    psycopg = sys.modules["psycopg"]
    if (state or "").startswith("22") or (state is None and isinstance(orig, psycopg.DataError)):
        # SQLSTATE class 22, "data exception": a value given that the server cannot take
        # (out of range, not valid text); psycopg raises it before sending for a NUL in text.
        return InvalidInput(f"The database cannot take a value given ({_first_line(orig)}); nothing was changed")
    if state is not None:
        return _classify_sqlstate(state, where)
    if not isinstance(orig, (psycopg.OperationalError, psycopg.InterfaceError)):
        return None
    pgconn = getattr(orig, "pgconn", None)
    if pgconn is not None and getattr(pgconn, "server_version", 0) == 0 and _server_answers(url):
        # The connection was never made, yet the server is there: it refused this login or
        # database (libpq keeps the server's SQLSTATE to itself; its own line says which).
        detail = _first_line(orig)
        return DatabaseUnusable(f"The database server refused the connection ({where}): {detail}")
    reason = f"{where}: {_first_line(orig)}"
    return DatabaseUnreachable(f"The library database is unreachable ({reason}); nothing was changed", reason)


def _classify_sqlite(primary: int, where: str) -> LibdeskError | None:
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return DatabaseBusy(f"The database is busy (another desk is writing); nothing was changed, "
                            f"try again: {where}")
    if primary == sqlite3.SQLITE_READONLY:
        return DatabaseUnusable(f"The database file is read-only: {where}")
    if primary == sqlite3.SQLITE_CANTOPEN:
        return DatabaseUnusable(f"Cannot open the database file: {where}")
    if primary == sqlite3.SQLITE_CORRUPT:
        return DatabaseUnusable(f"The database file is damaged (SQLite found it corrupt); restore it from a "
                                f"backup: {where}")
    if primary == sqlite3.SQLITE_NOTADB:
        return DatabaseUnusable(f"{where}: not a libdesk database (not an SQLite database file at all)")
    if primary == sqlite3.SQLITE_FULL:
        return DatabaseFull(f"The disk is full; nothing was changed (free some space): {where}")
    if primary == sqlite3.SQLITE_IOERR:
        return DatabaseUnusable(f"Cannot read or write the database file (a disk error): {where}")
    return None


def _classify_sqlstate(state: str, where: str) -> LibdeskError | None:
    if state == "40P01":
        return DatabaseConflict("Another desk was changing the same records at the same moment (a deadlock); "
                                "nothing was changed, try again")
    if state == "40001":
        return DatabaseConflict("Another desk changed the same records at the same moment; nothing was "
                                "changed, try again")
    if state == "55P03":
        return DatabaseBusy("Another desk is holding these records (a lock timeout); nothing was changed, "
                            "try again")
    if state == "53300":
        return DatabaseBusy(f"The database server has no free connections (too many desks or programs "
                            f"connected); nothing was changed, try again in a moment: {where}")
    if state.startswith("08") or state in ("57P01", "57P02", "57P03"):
        why = {"57P01": "the server is shutting down", "57P02": "the server restarted after a crash",
               "57P03": "the server is starting up or shutting down"}.get(state, "the connection failed")
        return DatabaseUnreachable(f"The library database is unreachable ({where}: {why}); nothing was changed",
                                   f"{where}: {why}")
    if state in ("28P01", "28000"):
        return DatabaseUnusable(f"The database server refused the login ({where}): check the user and password "
                                "in the database URL")
    if state == "3D000":
        return DatabaseUnusable(f"No such database on the server ({where}); create it first (README: Several desks)")
    if state in ("53100",):
        return DatabaseFull(f"The database server's disk is full; nothing was changed: {where}")
    if state in ("25006",):
        return DatabaseUnusable(f"The database server is read-only (a standby?): {where}")
    return None


def _server_answers(url: str) -> bool:
    """Whether a PostgreSQL server listens at the URL's host and port (PQping: no login, no
    database needed; REJECT is a server starting up or shutting down, which is not usable)."""
    from psycopg import pq
    from sqlalchemy.engine import make_url

    try:
        target = make_url(url).set(drivername="postgresql")
        if "connect_timeout" not in target.query:  # a server that drops packets must not hang the ping
            target = target.update_query_dict({"connect_timeout": str(CONNECT_TIMEOUT_S)})
        conninfo = target.render_as_string(hide_password=False)
        return pq.PGconn.ping(conninfo.encode()) == pq.Ping.OK
    except Exception:  # noqa: BLE001 - a URL libpq cannot read: say unreachable, with the driver's line
        return False


def _first_line(exc: BaseException) -> str:
    """The driver's message on one line, for a person (shown, never matched on)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text.removeprefix("connection failed: ")


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
        _check_readable(path)
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


def _check_readable(path: Path) -> None:
    """Can libdesk's own file at ``path`` be read? Its meta table is read through a read-only
    connection before any engine opens it: a file damaged past its header page is refused
    here, while nothing that can write to it exists yet (a scan on a damaged file once let its
    write reach the file before SQLite noticed the damage).

    Raises:
        DatabaseUnusable: SQLite finds the file damaged.
    """
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            con.execute("SELECT count(*) FROM sqlite_master").fetchone()
            con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        primary = getattr(exc, "sqlite_errorcode", 0) & 0xFF
        if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN):
            return  # not damage: the engine's own connection says what it is
        if "no such table" in str(exc):
            return  # an older or unfinished file: open_database's schema check says what to do
        raise DatabaseUnusable(f"The database file is damaged (SQLite found it corrupt); restore it from a "
                               f"backup: {path}") from None


def _check_postgres_identity(engine: Engine, url: str) -> None:
    """Before init changes a PostgreSQL database: is it libdesk's (its meta table says so) or
    empty? The PostgreSQL side of :func:`_check_identity`: another program's tables are never
    joined by libdesk's, and CREATE EXTENSION is not run in its database.

    Raises:
        ConfigError: the database (its schemas on the search path) has tables, views or
            sequences that are not libdesk's; a server that cannot be reached (classified).
    """
    if engine.dialect.name != "postgresql":
        return
    try:
        with engine.connect() as conn:
            objects = [name for (name,) in conn.exec_driver_sql(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = ANY (current_schemas(false)) AND c.relkind IN ('r', 'v', 'm', 'p', 'f') "
                "ORDER BY c.relname")]
            libdesk = "meta" in objects and conn.exec_driver_sql(
                "SELECT count(*) FROM meta WHERE key IN ('schema_version', 'institution')").scalar_one() > 0
    except (OperationalError, DBAPIError) as exc:
        engine.dispose()
        friendly = classify_db_error(exc, url)
        if friendly is not None:
            raise friendly from None
        raise ConfigError(f"{describe(url)}: cannot tell whose database this is ({_first_line(exc.orig or exc)}); "
                          "libdesk leaves it as it is") from None
    if libdesk or not objects:
        return
    engine.dispose()
    shown = ", ".join(objects[:5]) + (f" and {len(objects) - 5} more" if len(objects) > 5 else "")
    raise ConfigError(f"{describe(url)}: another program's database (it has tables but no libdesk meta table: "
                      f"{shown}); libdesk leaves it as it is: give it an empty database")


def open_database(path_or_url: str | os.PathLike[str], *, upgrade: bool = True) -> Database:
    """Open an existing libdesk database, bringing an older schema up to date first (unless
    ``upgrade`` is False: ``libdesk db current`` only looks).

    Raises:
        ConfigError: no database there, unreadable, not a libdesk database, or too new.
    """
    url = database_url(path_or_url)
    _check_sqlite_path(url, create=False)
    _check_identity(url, create=False)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows: dict[str, str] = dict(conn.execute(select(Meta.key, Meta.value)).all())  # type: ignore[call-overload]
    except (OperationalError, DBAPIError) as exc:
        engine.dispose()
        friendly = classify_db_error(exc, url)  # a server that is down is not "not a libdesk database"
        raise friendly or ConfigError(f"{describe(url)}: not a libdesk database ({exc.orig})") from None
    if "institution" not in rows:
        engine.dispose()
        raise ConfigError(f"{describe(url)}: not a libdesk database (no institution); run `libdesk init`")
    if INCOMPLETE_KEY in rows:
        engine.dispose()
        raise ConfigError(f"{describe(url)}: set-up did not finish (it was stopped while loading the "
                          f"{rows[INCOMPLETE_KEY]}), so this database is incomplete; run `libdesk init --demo` "
                          "(or `libdesk init`) again to start it over")
    from libdesk import migrations

    try:
        with engine.connect() as conn:
            revision = migrations.current(conn)
            behind = not migrations.up_to_date(conn)
        migrations.check_not_newer(revision, describe(url))
        institution = inst_mod.parse(rows["institution"], f"{describe(url)} (stored institution)")
        if upgrade and behind:
            migrations.upgrade(engine, describe(url))
    except BaseException:
        engine.dispose()
        raise
    return Database(url, engine, institution)


INCOMPLETE_KEY = "incomplete"
"""A meta row present while set-up is still loading something after the schema (the demo: many
engine actions, many transactions). :func:`mark_complete` removes it at the end; a database
that still has it was stopped half-way: open refuses it and says so, and init starts it over."""


def create_database(path_or_url: str | os.PathLike[str], institution: Institution, *,
                    fill: Callable[[Connection], None] | None = None,
                    incomplete: str | None = None) -> Database:
    """Create the schema and store the institution; refuses a database that already has one.
    A database whose set-up was stopped half-way (:data:`INCOMPLETE_KEY`) is made anew.

    ``fill``, when given, puts the rows in (``libdesk db copy``) instead of the institution's
    patrons, inside the same transaction: the new database is whole or not there at all.
    ``incomplete`` (what is still to load, e.g. "demo") marks the new database incomplete
    until :func:`mark_complete`.

    Raises:
        ConfigError: the path is unusable, another program's database, or already set up.
    """
    url = database_url(path_or_url)
    _check_sqlite_path(url, create=True)
    _check_identity(url, create=True)
    engine = make_engine(url)
    try:
        _check_postgres_identity(engine, url)
        with engine.connect() as conn:
            existing = conn.dialect.has_table(conn, "meta")
            unfinished = existing and conn.execute(
                select(Meta.value).where(Meta.key == INCOMPLETE_KEY)).first() is not None  # type: ignore[call-overload]
        if unfinished:
            engine = _discard_incomplete(engine, url)
            existing = False
        if existing:
            engine.dispose()
            raise ConfigError(f"{describe(url)}: already set up; remove it first or use another --db")
        from libdesk import migrations

        # One transaction: a desk killed mid-way leaves no half-made database (DDL is
        # transactional on both engines), and the new database is stamped at the head.
        with engine.connect().execution_options(libdesk_write=True) as conn, conn.begin():
            if engine.dialect.name == "sqlite":
                # Marked libdesk's (see _check_identity), in the same transaction as the schema.
                conn.exec_driver_sql(f"PRAGMA application_id={APPLICATION_ID}")
            SQLModel.metadata.create_all(conn)
            create_extras(conn)
            migrations.stamp_new(conn)
            conn.execute(insert(table(Meta)), [
                {"key": "schema_version", "value": str(SCHEMA_VERSION)},
                {"key": "institution", "value": institution.source},
                *([{"key": INCOMPLETE_KEY, "value": incomplete}] if incomplete else []),
            ])
            if fill is not None:
                fill(conn)
            elif institution.patrons:
                conn.execute(insert(table(Patron)), [
                    {"id": p.id, "name": p.name, "pseudo": p.pseudo, "active": True} for p in institution.patrons
                ])
    except OperationalError as exc:
        engine.dispose()
        raise ConfigError(f"{describe(url)}: cannot create the database: {exc.orig}") from None
    except BaseException:
        engine.dispose()
        raise
    return Database(url, engine, institution)


def mark_complete(db: Database) -> None:
    """Set-up has loaded everything: the database is no longer incomplete."""
    with db.write() as conn:
        conn.execute(delete(table(Meta)).where(table(Meta).c.key == INCOMPLETE_KEY))


def _discard_incomplete(engine: Engine, url: str) -> Engine:
    """Remove a database whose set-up was stopped half-way, so init can start it over: the
    SQLite file (and its WAL), or on PostgreSQL libdesk's own tables and search objects, in one
    transaction (identity was checked: the database held only libdesk's). Returns the engine
    to create the new database with."""
    if engine.dialect.name == "sqlite":
        engine.dispose()
        path = Path(url[len("sqlite:///"):])
        for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            try:
                leftover.unlink(missing_ok=True)
            except OSError as exc:
                raise ConfigError(f"{leftover}: cannot remove the incomplete database: {exc.strerror}") from None
        return make_engine(url)
    from libdesk import migrations

    with engine.connect().execution_options(libdesk_write=True) as conn, conn.begin():
        SQLModel.metadata.drop_all(conn)
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {migrations.VERSION_TABLE}")
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS {POSTGRES_WORDS_FUNCTION}(text, text, text)")
            conn.exec_driver_sql(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {POSTGRES_WORDS_CONFIG}")
    return engine


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


def create_extras(conn: Connection) -> None:
    """Indexes and the full-text index, which SQLModel cannot express (idempotent; inside the
    caller's transaction: creating or upgrading a database)."""
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
    if conn.dialect.name == "postgresql":
        _create_postgres_search(conn)
        return
    if not has_fts(conn.engine):
        return
    # Title/author/call-number words: FTS5 is 0.2 ms where LIKE scans (70 ms on 1M items,
    # DESIGN.md). An external-content table kept in step by triggers; the update trigger
    # fires only when those columns are set, so a scan (which never sets them) pays nothing.
    _create_facet_summary(conn)
    indexed = conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'item_fts'").first() is not None
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
    if not indexed:  # a database that had items before it had the word index
        conn.exec_driver_sql("INSERT INTO item_fts(item_fts) VALUES ('rebuild')")


POSTGRES_WORDS_CONFIG = "libdesk_words"
POSTGRES_WORDS_FUNCTION = "libdesk_item_words"
POSTGRES_WORDS_COLUMN = "search_words"
_POSTGRES_TOKEN_TYPES = ("asciiword, word, numword, asciihword, hword, numhword, hword_asciipart, hword_part, "
                         "hword_numpart, email, protocol, url, host, url_path, file, sfloat, float, int, uint, "
                         "version, tag, entity")


def _postgres_search_support(conn: Connection) -> str:
    """Make sure the server can fold accents and split words. Returns the COLLATE clause the
    word splitting needs ("" under a UTF-8 ctype). A refusal raises inside the caller's
    transaction (create_database's or a migration's), so nothing is left half made.

    Raises:
        ConfigError: CREATE EXTENSION unaccent refused, or a C ctype on a server without ICU.
    """
    has_unaccent = conn.exec_driver_sql("SELECT 1 FROM pg_extension WHERE extname = 'unaccent'").first()
    if not has_unaccent:
        try:
            with conn.begin_nested():
                conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS unaccent")
        except DBAPIError as exc:
            database = conn.exec_driver_sql("SELECT current_database()").scalar_one()
            reason = str(exc.orig).splitlines()[0] if exc.orig is not None else str(exc)
            raise ConfigError(
                f"PostgreSQL refused CREATE EXTENSION unaccent ({reason}); search needs it to fold accents: "
                f"ask the server's administrator to run `CREATE EXTENSION unaccent;` in database {database} "
                "(or make this user the database owner), then try again") from None
    if conn.exec_driver_sql("SELECT 'ä' ~ '^[[:alnum:]]$'").scalar_one():
        return ""
    if not conn.exec_driver_sql("SELECT 1 FROM pg_collation WHERE collname = 'und-x-icu'").first():
        raise ConfigError("This PostgreSQL database's character type (LC_CTYPE) is C and the server has no "
                          "ICU, so search cannot tell letters from punctuation: create the database with a "
                          "UTF-8 locale (CREATE DATABASE ... LC_CTYPE 'C.UTF-8' TEMPLATE template0)")
    return ' COLLATE "und-x-icu"'


def _create_postgres_search(conn: Connection) -> None:
    """PostgreSQL's word search, the same questions as SQLite's FTS5 ``item_fts``; idempotent
    and self-contained (a migration may call it as is).

    - ``unaccent`` (a trusted contrib extension: a database owner may create it) and a text
      search configuration ``libdesk_words`` = ``simple`` + ``unaccent``: lower case, accents
      folded, no stemming and no stop words, as unicode61 with remove_diacritics 2.
    - ``libdesk_item_words(title, author, call_number)``: the item's words as a tsvector.
      Every run of characters that are not letters or digits is a separator first (as
      unicode61 splits "QA76.73" into qa76 and 73), so PostgreSQL's parser never makes hosts,
      file names or hyphenated compounds that SQLite would not. The regex classes follow the
      collation: under a C/POSIX database ctype they know only ASCII letters, so the ICU root
      collation is used there instead.
    - ``item.search_words``, a stored generated column of that tsvector (PostgreSQL keeps it
      in step with the row; it is not in the SQLModel metadata, so nothing writes or copies
      it), with a GIN index. A stored column, not an index on the expression: the first page
      of a common word ("law") is a walk of the primary key in id order that tests each row,
      and recomputing the expression cost 25 us a row (24 ms p50 at 100k items) where reading
      the stored tsvector costs about 1 us.
    - A btree on ``barcode COLLATE "C"``, so that barcode ranges (``prefix*``) and their order
      are by code point, as on SQLite, whatever the database's collation.

    Raises:
        ConfigError: the server refused CREATE EXTENSION unaccent (it says what to ask for).
    """
    collate = _postgres_search_support(conn)
    if not conn.exec_driver_sql("SELECT 1 FROM pg_ts_config WHERE cfgname = %(c)s AND "
                                "pg_ts_config_is_visible(oid)", {"c": POSTGRES_WORDS_CONFIG}).first():
        conn.exec_driver_sql(f"CREATE TEXT SEARCH CONFIGURATION {POSTGRES_WORDS_CONFIG} (COPY = simple)")
        conn.exec_driver_sql(f"ALTER TEXT SEARCH CONFIGURATION {POSTGRES_WORDS_CONFIG} "
                             f"ALTER MAPPING FOR {_POSTGRES_TOKEN_TYPES} WITH unaccent, simple")
    if not conn.exec_driver_sql("SELECT 1 FROM pg_proc WHERE proname = %(f)s AND pg_function_is_visible(oid)",
                                {"f": POSTGRES_WORDS_FUNCTION}).first():
        conn.exec_driver_sql(
            f"CREATE OR REPLACE FUNCTION {POSTGRES_WORDS_FUNCTION}(title text, author text, call_number text) "
            "RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ "
            f"SELECT to_tsvector('{POSTGRES_WORDS_CONFIG}'::regconfig, regexp_replace("
            f"(coalesce(title, '') || ' ' || coalesce(author, '') || ' ' || coalesce(call_number, '')){collate}, "
            "'[^[:alnum:]]+', ' ', 'g')) $$")
    conn.exec_driver_sql(f"ALTER TABLE item ADD COLUMN IF NOT EXISTS {POSTGRES_WORDS_COLUMN} tsvector "
                         f"GENERATED ALWAYS AS ({POSTGRES_WORDS_FUNCTION}(title, author, call_number)) STORED")
    conn.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS ix_item_words ON item USING gin ({POSTGRES_WORDS_COLUMN})")
    conn.exec_driver_sql('CREATE INDEX IF NOT EXISTS ix_item_barcode_c ON item (barcode COLLATE "C")')


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
