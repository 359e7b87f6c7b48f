"""Two desks on one SQLite file: writers queue on BEGIN IMMEDIATE instead of failing, and a
stale write of an item is refused by its row version."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import update

from libdesk import circulation, queries, scan
from libdesk.core import action, item_t
from libdesk.db import open_database
from libdesk.errors import ConcurrentChange


def test_two_desks_writing_at_once_never_see_database_locked(db):
    other = open_database(db.url)
    errors: list[BaseException] = []

    def desk(database, barcodes, place, operator):
        try:
            for _ in range(5):
                for code in barcodes:
                    scan.scan_in(database, code, at=place, operator=operator, status="Repair")
                    scan.scan_in(database, code, at=place, operator=operator, status="Pocket")
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    a = threading.Thread(target=desk, args=(db, [f"W{n:02d}" for n in range(1, 11)], "CCWID", "cc"))
    b = threading.Thread(target=desk, args=(other, [f"L{n:02d}" for n in range(1, 11)], "CCLAW", "admin"))
    a.start(), b.start()
    a.join(), b.join()
    other.close()
    assert errors == []
    assert queries.item_show(db, "W10")["status"] == "Pocket" and queries.item_show(db, "L10")["status"] == "Pocket"


def test_stale_item_write_is_refused_and_rolled_back(db):
    with pytest.raises(ConcurrentChange, match="another desk"):
        with action(db, "circ", "WID-CIRC") as ctx:
            item = ctx.item("W01")
            # Another desk's committed change, as PostgreSQL would let it happen meanwhile.
            ctx.conn.execute(update(item_t).where(item_t.c.id == item["id"]).values(version=item["version"] + 1))
            ctx.update_item(item, "loan", process_type="loan", loan_patron="P0001")
    assert queries.item_show(db, "W01")["loan"] is None
    assert queries.item_history(db, "W01") == []


def test_same_item_at_two_desks_second_sees_first_result(db):
    circulation.loan(db, "W02", "P0001", at="WID-CIRC", operator="circ")
    other = open_database(db.url)
    first = circulation.return_item(db, "W02", at="WID-CIRC", operator="circ")
    assert first.next_step == "reshelve"
    with pytest.raises(Exception, match="not on loan"):
        circulation.return_item(other, "W02", at="WID-CIRC", operator="circ")
    other.close()


def test_wal_is_checkpointed_in_the_background_not_in_a_desk_commit(sqlite_db, monkeypatch):
    """Scans never pay for a checkpoint (wal_autocheckpoint=0); a background thread folds the
    WAL back into the file, and stops with close()."""
    import time

    from sqlalchemy import Connection

    from libdesk import db as db_module

    db = sqlite_db
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
    seen: list[str] = []
    original = Connection.exec_driver_sql

    def spy(self, statement, *args, **kwargs):  # type: ignore[no-untyped-def]
        if threading.current_thread().name == "libdesk-wal-checkpoint":
            seen.append(statement)
        return original(self, statement, *args, **kwargs)

    monkeypatch.setattr(Connection, "exec_driver_sql", spy)
    monkeypatch.setattr(db_module, "CHECKPOINT_EVERY_S", 0.05)
    scan.scan_in(db, "W01", at="CCWID", operator="cc", status="Repair")
    thread = db._checkpointer
    assert thread is not None and thread.is_alive()
    deadline = time.monotonic() + 10
    while not seen and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "PRAGMA wal_checkpoint(PASSIVE)" in seen
    db.close()
    assert not thread.is_alive()
