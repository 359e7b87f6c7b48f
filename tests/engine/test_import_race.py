"""Two desks importing the same new barcodes at once: one import succeeds, the other is a clear
user error naming a barcode, and nothing of it is half-applied (issue 11, item 7)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import func, insert, select, text

from libdesk import importing
from libdesk.core import event_t, item_t
from libdesk.db import Database, open_database
from libdesk.errors import InvalidInput
from tests.conftest import FROZEN

HEADER = "barcode,title,author,call_number,material_type,library,location\n"
NEW = [f"N{n:02d}" for n in range(1, 51)]


def _csv(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "".join(f"{b},Title {b},A,QA{b},BOOK,WID,WID-STACKS\n" for b in NEW), encoding="utf-8")
    return path


def _count(db: Database, where) -> int:  # type: ignore[no-untyped-def]
    with db.read() as conn:
        return conn.execute(select(func.count()).select_from(item_t).where(where)).scalar_one()


def _import_events(db: Database) -> int:
    with db.read() as conn:
        return conn.execute(select(func.count()).select_from(event_t).where(
            event_t.c.action == "import_items", event_t.c.message.like("%from desk-%"))).scalar_one()


def test_two_desks_importing_the_same_new_barcodes_at_once(db: Database, tmp_path: Path) -> None:
    files = [_csv(tmp_path, "desk-a.csv"), _csv(tmp_path, "desk-b.csv")]
    desks = [open_database(db.url), open_database(db.url)]
    start = threading.Barrier(2, timeout=30)
    outcomes: list[object] = [None, None]

    def desk(slot: int) -> None:
        start.wait()
        try:
            outcomes[slot] = importing.import_items(desks[slot], files[slot], operator="admin")
        except BaseException as exc:  # noqa: BLE001 - asserted below
            outcomes[slot] = exc

    threads = [threading.Thread(target=desk, args=(slot,)) for slot in (0, 1)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        for d in desks:
            d.close()
    successes = [o for o in outcomes if isinstance(o, dict)]
    errors = [o for o in outcomes if isinstance(o, InvalidInput)]
    assert len(successes) == 1 and len(errors) == 1, outcomes
    assert successes[0]["imported"] == len(NEW)
    message = errors[0].message
    assert "already exists" in message and "nothing imported" in message
    assert any(repr(b) in message for b in NEW) and "line " in message and "\n" not in message
    assert _count(db, item_t.c.barcode.like("N%")) == len(NEW)  # each barcode once, all of them
    assert _import_events(db) == 1  # the loser left no event either


def test_postgres_import_that_loses_on_the_unique_index_names_the_barcode(postgres_url: str, inst,
                                                                           tmp_path: Path) -> None:
    """Deterministic: another desk's uncommitted insert of N25 makes this import pass its
    check, then wait on the barcode's unique index; the other desk commits; ours fails there."""
    from tests.conftest import make_db

    database = make_db(postgres_url, inst)  # type: ignore[arg-type]
    other = database.engine.connect()
    outcome: list[object] = []
    try:
        tx = other.begin()
        other.execute(insert(item_t), [{
            "barcode": "N25", "title": "Theirs", "author": "", "call_number": "", "material_type": "BOOK",
            "library": "WID", "location": "WID-STACKS", "process_type": None, "version": 1,
            "created_at": FROZEN, "updated_at": FROZEN}])
        path = _csv(tmp_path, "desk-b.csv")

        def desk() -> None:
            try:
                outcome.append(importing.import_items(database, path, operator="admin"))
            except BaseException as exc:  # noqa: BLE001 - asserted below
                outcome.append(exc)

        thread = threading.Thread(target=desk)
        thread.start()
        with _watcher(postgres_url) as watch:
            deadline = time.monotonic() + 30
            while not watch() and time.monotonic() < deadline and thread.is_alive():
                time.sleep(0.02)
        tx.commit()
        thread.join(60)
    finally:
        other.close()
    try:
        assert len(outcome) == 1 and isinstance(outcome[0], InvalidInput), outcome
        message = outcome[0].message
        assert "'N25' already exists" in message and "another desk" in message and "line 26" in message
        assert _count(database, item_t.c.barcode.like("N%")) == 1  # only the other desk's N25
        assert _import_events(database) == 0
    finally:
        database.close()


class _watcher:
    """True once a backend of the test database waits on a lock (our import on the index)."""

    def __init__(self, url: str) -> None:
        self.db = open_database(url)

    def __enter__(self):  # type: ignore[no-untyped-def]
        def waiting() -> bool:
            with self.db.read() as conn:
                return conn.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'")).scalar_one() > 0
        return waiting

    def __exit__(self, *exc: object) -> None:
        self.db.close()

