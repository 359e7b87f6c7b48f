"""Moving a desk's database: ``libdesk db copy --to URL`` (a SQLite desk onto the shared
PostgreSQL server, or any libdesk database into a new, empty one).

Every row of every table goes, history events included, with its own id, so a barcode's
history, a request's audit trail and the links between them read the same on the target.
The target is created and filled in one transaction (:func:`libdesk.db.create_database` with
``fill``): a copy that fails half-way leaves no half-filled database behind. Afterwards the
rows are counted on both sides and the events compared by digest; the copy itself is one
event in the target's history, naming the operator and the source.

The source is only read (one read transaction: a consistent snapshot even while desks write).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Table, func, insert, select, text
from sqlmodel import SQLModel

from libdesk import clock
from libdesk.db import Database, bulk_item_insert, create_database, database_url, describe
from libdesk.errors import ConfigError
from libdesk.models import Event, Meta
from libdesk.models import table as table_of

BATCH = 5_000
"""Rows per INSERT of the copy (executemany): large enough to be quick, small enough to
keep memory flat on a million items."""

_SET_BY_CREATE = {"schema_version", "institution"}


def copied_tables() -> list[Table]:
    """Every table of the models, parents before children (foreign keys), meta last."""
    tables = [t for t in SQLModel.metadata.sorted_tables if t.name != Meta.__tablename__]
    return tables + [table_of(Meta)]


def _rows(conn: Connection, table: Table) -> Iterator[list[dict[str, Any]]]:
    order = list(table.primary_key.columns)
    # Options on the statement, not the connection (Connection.execution_options changes the
    # connection itself): a server-side cursor for this read only.
    result = conn.execute(select(table).order_by(*order).execution_options(yield_per=BATCH))
    for part in result.mappings().partitions(BATCH):
        yield [dict(row) for row in part]


def event_digest(conn: Connection) -> str:
    """A digest of every history event (id, time, operator, place, action, links, before/after)."""
    e = table_of(Event)
    digest = hashlib.sha256()
    stmt = select(e.c.id, e.c.at, e.c.operator, e.c.place, e.c.action, e.c.item_id, e.c.request_id,
                  e.c.borrowing_id, e.c.barcode, e.c.before, e.c.after, e.c.message).order_by(e.c.id)
    for row in conn.execute(stmt.execution_options(yield_per=BATCH)):
        digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def _counts(conn: Connection) -> dict[str, int]:
    return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in copied_tables()}


def copy_database(source: Database, to: str, *, operator: str,
                  progress: Callable[[str, int], None] | None = None) -> dict[str, Any]:
    """Copy ``source`` into a new database at ``to`` (a file path or URL; must not be set up).

    Returns the rows copied per table and the verification. ``progress(table, rows)`` is
    called after each batch.

    Raises:
        ConfigError: the target is the source, already set up, unreachable, or the copy does
            not verify (then nothing is left set up at the target).
    """
    target_url = database_url(to)
    if target_url == source.url:
        raise ConfigError(f"{describe(target_url)}: that is the database being copied; give another --to")
    target_file = Path(target_url[len("sqlite:///"):]) if target_url.startswith("sqlite:///") else None
    made_file = target_file is not None and not target_file.exists()
    try:
        with source.read() as source_conn:
            before = _counts(source_conn)
            digest = event_digest(source_conn)
            target = create_database(target_url, source.institution,
                                     fill=lambda conn: _fill(conn, source, source_conn, before, digest,
                                                             operator, target_url, progress))
    except BaseException:
        if made_file and target_file is not None:  # no empty file left where the copy failed
            for leftover in (target_file, target_file.with_name(target_file.name + "-wal"),
                             target_file.with_name(target_file.name + "-shm")):
                leftover.unlink(missing_ok=True)
        raise
    target.close()
    return {"source": source.description, "target": describe(target_url), "rows": before,
            "events_digest": digest, "verified": True}


def _fill(conn: Connection, source: Database, source_conn: Connection, before: dict[str, int], digest: str,
          operator: str, target_url: str, progress: Callable[[str, int], None] | None) -> None:
    """Inside the target's creating transaction: every row, then the checks, then the event."""
    for table in copied_tables():
        if table.name == Meta.__tablename__:
            rows = [r for batch in _rows(source_conn, table) for r in batch if r["key"] not in _SET_BY_CREATE]
            if rows:
                conn.execute(insert(table), rows)
            continue
        with bulk_item_insert(conn) if table.name == "item" else nullcontext():
            for batch in _rows(source_conn, table):
                conn.execute(insert(table), batch)
                if progress is not None:
                    progress(table.name, len(batch))
    if conn.dialect.name == "postgresql":
        # Rows came with their ids: each table's next id continues after them.
        for table in copied_tables():
            if "id" in table.c and table.c.id.primary_key and table.c.id.type.python_type is int:
                conn.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                    f"coalesce((SELECT max(id) FROM \"{table.name}\"), 0) + 1, false)"))
    after = _counts(conn)
    if after != before:
        wrong = ", ".join(f"{t}: {before[t]} → {after[t]}" for t in before if before[t] != after[t])
        raise ConfigError(f"the copy did not verify ({wrong}); nothing was set up at {describe(target_url)}")
    if event_digest(conn) != digest:
        raise ConfigError(f"the copied history differs from the source; nothing was set up at {describe(target_url)}")
    conn.execute(insert(table_of(Event)), {
        "at": clock.now(), "operator": operator, "place": None, "action": "database_copied",
        "message": f"Copied from {source.description}: " + ", ".join(f"{n} {t}" for t, n in before.items()),
    })
