"""Desks that never block each other for long (issue 11, item 6).

PostgreSQL: two bulk runs over the same items in opposite orders, really overlapping, on two
connections of a real server: no deadlock (one lock order), and when a deadlock is forced
anyway (the lock order switched off) it is retried, or, retries used up, reported in words.
SQLite: a bulk run lets a waiting desk in between two batches; the WAL is restarted past its
limit and emptied on close. No timings asserted: threads meet on events and on what the
server says about its locks.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from sqlalchemy import text

from libdesk import db as db_module
from libdesk import queries, scan, workorders, writers
from libdesk.batch import BatchCtx
from libdesk.db import is_retryable_conflict, open_database
from libdesk.errors import ConfigError
from tests.conftest import scratch_postgres

CODES = [f"W{n:02d}" for n in range(1, 21)]
SAFETY_S = 30  # only ever reached when something is broken; never a measured time


def _fill(database, codes):
    for code in codes:
        scan.scan_in(database, code, at="CCWID", operator="cc", status="Repair")


@pytest.fixture
def pg_db(request):
    """A seeded PostgreSQL database (as the ``db`` fixture's third engine)."""
    template = request.getfixturevalue("_postgres_seeded_template")
    with scratch_postgres(template) as url:
        database = open_database(url)
        yield database
        database.close()


class Overlap:
    """Makes two bulk runs really overlap: each, on its first item (row locked), waits until
    the other has locked its own first item too, or is blocked waiting for a row lock. The
    rows are locked where a batch reads them (set-based bulk, libdesk/batch.py): there the
    first item is locked alone first."""

    def __init__(self, database, monkeypatch):
        self.database = database
        self.locked = {"a": threading.Event(), "b": threading.Event()}
        self.first = {"a": True, "b": True}
        original = BatchCtx.fetch

        def fetch(ctx, barcodes):
            me = threading.current_thread().name
            if self.first.get(me) and barcodes:
                self.first[me] = False
                original(ctx, barcodes[:1])
                self.locked[me].set()
                self.wait_for_other("b" if me == "a" else "a")
            return original(ctx, barcodes)

        monkeypatch.setattr(BatchCtx, "fetch", fetch)

    def wait_for_other(self, other):
        deadline = time.monotonic() + SAFETY_S
        with self.database.engine.connect() as conn:
            while not self.locked[other].is_set() and time.monotonic() < deadline:
                waiting = conn.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'")).scalar_one()
                if waiting:
                    return
                conn.rollback()
                time.sleep(0.005)


def _opposite_bulks(database, monkeypatch):
    """Bulk Done of CODES (a) and of CODES reversed (b) at once, each on its own connection."""
    _fill(database, CODES)
    Overlap(database, monkeypatch)
    monkeypatch.setattr(workorders, "BULK_BATCH", len(CODES))  # one transaction each: all locks held at once
    monkeypatch.setattr(workorders, "BULK_BATCH_SECONDS", 3600.0)
    desks = {"a": open_database(database.url), "b": open_database(database.url)}
    results, errors = {}, []
    barrier = threading.Barrier(2)

    def run(name, codes):
        try:
            barrier.wait()
            results[name] = workorders.bulk_done(desks[name], "CCWID", codes, operator="cc")
        except BaseException as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run, name=n, args=(n, c)) for n, c in (("a", CODES), ("b", CODES[::-1]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(SAFETY_S * 4)
    for d in desks.values():
        d.close()
    assert errors == []
    return results


def _done_once(database, results):
    assert sum(r.done for r in results.values()) == len(CODES)
    for code in CODES:
        events = [e for e in queries.item_history(database, code) if e["action"] == "work_order_done"]
        assert len(events) == 1, code
        assert queries.item_show(database, code)["process_type"] == "transit"


def test_opposite_order_bulks_on_postgres_take_locks_in_one_order(pg_db, monkeypatch):
    monkeypatch.setattr(workorders, "BULK_RETRIES", 0)  # a deadlock would show, not be retried away
    results = _opposite_bulks(pg_db, monkeypatch)
    _done_once(pg_db, results)
    for r in results.values():
        assert all("not in a work order" in why for _, why in r.failures), r.failures


def _input_order(db, barcodes):
    return list(enumerate(barcodes))


def test_a_deadlock_that_still_happens_is_retried(pg_db, monkeypatch):
    """The lock order switched off: the server detects the deadlock (40P01), the victim's batch
    is rolled back and run again, and finds the items already done by the other."""
    monkeypatch.setattr(workorders, "_lock_order", _input_order)
    seen = []
    original = workorders.is_retryable_conflict

    def spy(exc):
        answer = original(exc)
        if answer:
            seen.append(exc)
        return answer

    monkeypatch.setattr(workorders, "is_retryable_conflict", spy)
    results = _opposite_bulks(pg_db, monkeypatch)
    assert seen, "the two runs did not deadlock: the test no longer forces a conflict"
    _done_once(pg_db, results)
    for r in results.values():
        assert all("not in a work order" in why for _, why in r.failures), r.failures
    # The classifier read the server's own code, not the words.
    assert any(getattr(getattr(e, "orig", None), "sqlstate", None) == "40P01" or
               getattr(getattr(e.__context__, "orig", None), "sqlstate", None) == "40P01" for e in seen)


def test_retries_used_up_are_reported_per_item_in_words(pg_db, monkeypatch):
    monkeypatch.setattr(workorders, "_lock_order", _input_order)
    monkeypatch.setattr(workorders, "BULK_RETRIES", 0)
    results = _opposite_bulks(pg_db, monkeypatch)
    _done_once(pg_db, results)
    words = [why for r in results.values() for _, why in r.failures if "another desk" in why]
    assert words and all("lock conflict" in w and "busy" not in w for w in words)
    victim = next(r for r in results.values() if any("another desk" in why for _, why in r.failures))
    assert victim.done == 0  # its whole batch was rolled back: nothing half-done


def test_classifier_reads_sqlstate_not_words(postgres_url):
    import psycopg
    from sqlalchemy.exc import OperationalError

    plain = postgres_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(plain, autocommit=True) as conn:
        with pytest.raises(psycopg.Error) as raised:
            conn.execute("DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = 'serialization_failure'; END $$")
        assert is_retryable_conflict(OperationalError("stmt", {}, raised.value))
        with pytest.raises(psycopg.Error) as other:  # says "blocked" and "locked", is neither code
            conn.execute("DO $$ BEGIN RAISE EXCEPTION 'blocked: database is locked' USING ERRCODE = 'P0001'; END $$")
        assert not is_retryable_conflict(OperationalError("stmt", {}, other.value))
    # Our own friendlier error raised while handling it still counts (the chain is followed).
    try:
        try:
            raise OperationalError("stmt", {}, raised.value)
        except OperationalError:
            raise ConfigError("busy") from None
    except ConfigError as friendly:
        assert is_retryable_conflict(friendly)
    assert not is_retryable_conflict(ValueError("deadlock detected"))


# -- SQLite -------------------------------------------------------------------------------------

def test_sqlite_bulk_lets_a_waiting_desk_in_between_batches(sqlite_db, monkeypatch):
    """A desk that starts waiting for the write lock during the bulk run's first batch has
    its scan committed before the second batch: its event comes before the rest of the run."""
    db = sqlite_db
    _fill(db, CODES + ["W30"])
    monkeypatch.setattr(workorders, "BULK_BATCH", 4)
    monkeypatch.setattr(workorders, "BULK_BATCH_SECONDS", 3600.0)
    other = open_database(db.url)
    probe = writers.WaitSignal.open(db.description)
    assert probe is not None
    start_scan = threading.Event()
    errors = []

    def desk():
        try:
            start_scan.wait(SAFETY_S)
            scan.scan_in(other, "W30", at="CCWID", operator="cc", status="Pocket")
        except BaseException as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    original = workorders.mark_done
    calls = Counter()

    def mark_done(ctx, item, dept):
        calls["n"] += 1
        if calls["n"] == 1:  # inside the first batch, the write lock held: the desk scans now
            start_scan.set()
            deadline = time.monotonic() + SAFETY_S
            while not writers.writer_waiting(probe.fd) and time.monotonic() < deadline:
                time.sleep(0.001)
            assert writers.writer_waiting(probe.fd), "the desk never said it was waiting"
        return original(ctx, item, dept)

    monkeypatch.setattr(workorders, "mark_done", mark_done)
    thread = threading.Thread(target=desk)
    thread.start()
    result = workorders.bulk_done(db, "CCWID", CODES, operator="cc")
    thread.join(SAFETY_S)
    probe.close()
    other.close()
    assert errors == [] and result.done == len(CODES)
    with db.engine.connect() as conn:
        scan_id = conn.execute(text("SELECT max(id) FROM event WHERE barcode = 'W30' AND action = 'status_changed'")).scalar_one()
        done_ids = [r[0] for r in conn.execute(text(
            "SELECT id FROM event WHERE action = 'work_order_done' ORDER BY id"))]
    assert len(done_ids) == len(CODES)
    # the first batch (4 items) before the desk's scan, every later batch after it
    assert done_ids[3] < scan_id < done_ids[4]


def test_wal_is_truncated_when_a_desk_closes_cleanly(sqlite_db):
    db = sqlite_db
    other = open_database(db.url)  # another desk still open: SQLite alone would leave the WAL
    queries.item_show(other, "W01")
    _fill(db, CODES)
    assert db_module.wal_size(db) > 0
    db.close()
    assert db_module.wal_size(db) == 0
    other.close()


def test_wal_past_its_limit_is_restarted_not_only_folded(sqlite_db):
    db = sqlite_db
    with db.engine.connect() as conn:  # a restarted WAL is cut back to the limit, too
        assert conn.exec_driver_sql("PRAGMA journal_size_limit").scalar() == db_module.WAL_LIMIT_BYTES
    _fill(db, CODES)
    small = db_module.wal_size(db)
    assert small > 0
    assert db_module.checkpoint(db, limit=small * 100) == "PASSIVE"
    assert db_module.wal_size(db) == small  # PASSIVE folds the log back but leaves the file as it is
    modes = [db_module.checkpoint(db, limit=1024)]
    while modes[-1] == "BUSY" and len(modes) < 100:  # the background checkpointer was at it
        modes.append(db_module.checkpoint(db, limit=1024))
    assert modes[-1] == "TRUNCATE"
    assert db_module.wal_size(db) == 0


def test_background_checkpointer_keeps_the_wal_under_its_limit(sqlite_db, monkeypatch):
    """Many writes with a small limit: the checkpointer thread restarts the log (TRUNCATE)
    each time it passes the limit, so after the writes it is back under it."""
    db = sqlite_db
    limit = 64 * 1024
    modes: list[str] = []
    original = db_module.checkpoint

    def spy(database, limit=None):
        modes.append(original(database, limit))
        return modes[-1]

    monkeypatch.setattr(db_module, "WAL_LIMIT_BYTES", limit)
    monkeypatch.setattr(db_module, "CHECKPOINT_POLL_S", 0.01)
    monkeypatch.setattr(db_module, "checkpoint", spy)
    for _ in range(10):
        _fill(db, CODES)
    deadline = time.monotonic() + SAFETY_S
    while (db_module.wal_size(db) > limit or "TRUNCATE" not in modes) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "TRUNCATE" in modes
    assert db_module.wal_size(db) <= limit
