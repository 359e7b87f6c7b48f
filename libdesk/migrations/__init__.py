"""Schema migrations, with Alembic, for SQLite and PostgreSQL alike.

Each schema version is one Alembic revision in ``versions/``, named by its number (``0003``),
and ``meta.schema_version`` holds the same number, so an older libdesk still refuses a database
made by a newer one. Rules for whoever changes the schema:

- a change is a new revision ``NNNN_what.py`` whose ``down_revision`` is the last one, and
  :data:`libdesk.models.SCHEMA_VERSION` becomes ``NNNN`` (a test checks the two agree);
- a new database is made from the models (``create_all``) and stamped at the head, so each
  revision only has to bring an existing database from the previous version to its own, and a
  test compares a database upgraded from the committed schema-3 file with a new one;
- a revision runs inside the transaction that holds the upgrade lock (see :func:`upgrade`): no
  COMMIT of its own, no CREATE INDEX CONCURRENTLY.

Databases made before Alembic (schema 1 to 3, with no ``alembic_version`` table) are stamped at
the revision their ``meta.schema_version`` names, then upgraded as any other.

Alembic itself (about half a second to import) is loaded only when a database is behind, or by
``libdesk db``; opening an up-to-date database reads one row.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, insert, text
from sqlalchemy.exc import DBAPIError

from libdesk import clock
from libdesk.errors import ConfigError
from libdesk.models import SCHEMA_VERSION, Event, table

if TYPE_CHECKING:
    from alembic.script import ScriptDirectory

VERSIONS = Path(__file__).parent / "versions"
HEAD = f"{SCHEMA_VERSION:04d}"
"""The newest revision this libdesk knows."""

VERSION_TABLE = "alembic_version"
# Alembic's own version table, written by hand when a database is created (so creating one
# does not import Alembic): the layout of alembic.runtime.migration's _version table.
_CREATE_VERSION_TABLE = (f"CREATE TABLE {VERSION_TABLE} (version_num VARCHAR(32) NOT NULL, "
                         f"CONSTRAINT {VERSION_TABLE}_pkc PRIMARY KEY (version_num))")

# pg_advisory_xact_lock key: "libdesk" as a number; held until the upgrade's transaction ends.
_PG_UPGRADE_LOCK = 0x6C69626465736B


def stamp_new(conn: Connection) -> None:
    """Inside the creating transaction: the new database (made from the models) is at HEAD."""
    conn.exec_driver_sql(_CREATE_VERSION_TABLE)
    conn.execute(text(f"INSERT INTO {VERSION_TABLE} (version_num) VALUES (:v)"), {"v": HEAD})


def current(conn: Connection) -> str | None:
    """The database's revision: from Alembic's table, else (a database made before Alembic)
    from ``meta.schema_version``; None when neither says."""
    if conn.dialect.has_table(conn, VERSION_TABLE):
        row = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).first()
        if row is not None:
            return str(row[0])
    row = conn.execute(text("SELECT value FROM meta WHERE key = 'schema_version'")).first()
    if row is None or not str(row[0]).isdigit():
        return None
    return f"{int(row[0]):04d}"


def up_to_date(conn: Connection) -> bool:
    """At HEAD, and with Alembic's table (a database made before Alembic is stamped once)."""
    if not conn.dialect.has_table(conn, VERSION_TABLE):
        return False
    row = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).first()
    return row is not None and row[0] == HEAD


def _known(revision: str) -> bool:
    return any(VERSIONS.glob(f"{revision}_*.py"))


def check_not_newer(revision: str | None, where: str) -> None:
    if revision is not None and revision.isdigit() and int(revision) > SCHEMA_VERSION and not _known(revision):
        raise ConfigError(f"{where}: made by a newer libdesk (schema {int(revision)}); upgrade libdesk")


def upgrade(engine: Engine, where: str, *, operator: str = "libdesk") -> tuple[str | None, str]:
    """Bring the database to HEAD; returns (revision before, revision after).

    Safe when several desks open an old database at once: the upgrade runs in one transaction
    that first takes the upgrade lock (BEGIN IMMEDIATE on SQLite: SQLite's DDL is
    transactional; a transaction-scoped advisory lock on PostgreSQL) and then reads the
    revision again, so the second desk waits, finds the work done, and changes nothing.

    Raises:
        ConfigError: the database is newer than this libdesk, or its revision is unknown.
    """
    with engine.connect().execution_options(libdesk_write=True) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_UPGRADE_LOCK})
        before = current(conn)
        check_not_newer(before, where)
        if up_to_date(conn):
            return before, HEAD
        if before is None or not _known(before):
            raise ConfigError(f"{where}: unknown schema revision {before!r}; cannot upgrade it")
        _run(conn, before)
        if before == HEAD:  # made before Alembic, at the newest schema: stamped, nothing else
            return before, HEAD
        conn.execute(text("UPDATE meta SET value = :v WHERE key = 'schema_version'"), {"v": str(SCHEMA_VERSION)})
        conn.execute(insert(table(Event)), {
            "at": clock.now(), "operator": operator, "place": None, "action": "schema_upgraded",
            "message": f"Schema upgraded from {int(before)} to {SCHEMA_VERSION}"})
        return before, HEAD


def _script() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(VERSIONS.parent), version_locations=[str(VERSIONS)])


def _run(conn: Connection, start: str) -> None:
    """Run the revisions after ``start`` up to HEAD on ``conn`` (already in the transaction)."""
    from alembic.config import Config
    from alembic.runtime.environment import EnvironmentContext
    from alembic.runtime.migration import MigrationContext

    script = _script()
    if not conn.dialect.has_table(conn, VERSION_TABLE):
        # Made before Alembic: record where it stands, then go on from there.
        MigrationContext.configure(conn).stamp(script, start)

    def steps(rev: Any, _context: Any) -> Any:
        return script._upgrade_revs(HEAD, rev)

    config = Config()
    config.set_main_option("script_location", str(VERSIONS.parent))
    try:
        with EnvironmentContext(config, script, fn=steps, destination_rev=HEAD) as env:
            # The connection is already in our transaction: Alembic runs every step in it.
            env.configure(connection=conn, render_as_batch=True)
            env.run_migrations()
    except DBAPIError as exc:
        raise ConfigError(f"the schema upgrade from {start} to {HEAD} failed and was undone: {exc.orig}") from None


def script_head() -> str | None:
    """The head of the revision files (tests check it is :data:`HEAD`)."""
    return _script().get_current_head()
