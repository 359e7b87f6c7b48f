"""Set-based bulk work (issue 16, item 3): a batch is a handful of statements, and what it does
is exactly what the items did one by one, each in its own savepoint (the way before it):
the same per-item results, the same rows, the same history events in the same order, and a
failing item leaves nothing while the others stand.

Each case builds the same mixed scenario in two databases of the same engine (fastpath,
SQLAlchemy, PostgreSQL), runs the bulk action set-based in one and item by item in the
other, and compares the results and a digest of every row of every table.
"""

from __future__ import annotations

import random

import pytest
from sqlalchemy import event, inspect, text

from libdesk import fastpath, requests, scan, workorders
from libdesk.errors import WrongState
from libdesk.models import WORK_ORDER
from libdesk.routing import start_work_order
from tests.conftest import db_fingerprint, make_db, scratch_postgres

POOL = [f"W{n:02d}" for n in range(1, 25)] + [f"L{n:02d}" for n in range(1, 6)] + ["R01", "R02", "R03"]
PATRONS = ["P0001", "P0002", "P0003"]


@pytest.fixture
def twin(db, request, tmp_path, inst):
    """A second database, seeded as ``db`` is, on the same engine."""
    if db.engine.dialect.name == "postgresql":
        from libdesk.db import open_database

        with scratch_postgres(request.getfixturevalue("_postgres_seeded_template")) as url:
            other = open_database(url)
            yield other
            other.close()
        return
    other = make_db(tmp_path / "twin.db", inst)
    yield other
    other.close()


def _scenario(database, seed: int) -> list[str]:
    """Items in the department (most), some with patron or work-order requests queued behind,
    some never there; returns the barcodes to act on: shuffled, a few twice, one unknown."""
    rng = random.Random(seed)
    statuses = ["Assessment", "Repair", "Pocket"]
    for code in POOL:
        if rng.random() < 0.8:
            scan.scan_in(database, code, at="CCWID", operator="cc", status=rng.choice(statuses))
        for patron in rng.sample(PATRONS, rng.choice([0, 0, 1, 2])):
            if rng.random() < 0.6:
                requests.place_request(database, code, patron, rng.choice(["WID-CIRC", "LAW-CIRC"]), operator="circ")
            else:
                workorders.place_work_order(database, code, "TS", rng.choice(["ITS625", "ITSLAW"]), operator="admin")
    codes = [c for c in POOL if rng.random() < 0.85]
    codes += rng.sample(codes, 3) + ["nope"]
    rng.shuffle(codes)
    return codes


def _both(db, twin, monkeypatch, seed, run):
    monkeypatch.setattr(workorders, "BULK_BATCH", 7)  # several batches, one cut mid-scenario
    monkeypatch.setattr(workorders, "BULK_BATCH_SECONDS", 3600.0)  # never cut by time: the same batches
    codes = _scenario(db, seed)
    assert _scenario(twin, seed) == codes
    assert db_fingerprint(db) == db_fingerprint(twin)
    monkeypatch.setattr(workorders, "SET_BASED", True)
    sets = run(db, codes)
    monkeypatch.setattr(workorders, "SET_BASED", False)
    one_by_one = run(twin, codes)
    assert sets.to_dict() == one_by_one.to_dict()
    assert sets.done and sets.failures
    assert _rows(db) == _rows(twin)
    if db.engine.dialect.name == "sqlite":
        assert db_fingerprint(db) == db_fingerprint(twin)  # every table, ids and FTS shadow tables too
    return sets


def _rows(database):
    """Every row of every table; events in id order without their ids: on PostgreSQL an insert
    rolled back with its savepoint (the way one by one) still used up a sequence number, which
    the set-based way, never writing a failed item's events, does not."""
    out = {}
    with database.engine.connect() as conn:
        for table in sorted(inspect(conn).get_table_names()):
            if table == "event":
                cols = [c["name"] for c in inspect(conn).get_columns("event") if c["name"] != "id"]
                query = f'SELECT {", ".join(f"{chr(34)}{c}{chr(34)}" for c in cols)} FROM event ORDER BY id'
            else:
                query = f'SELECT * FROM "{table}" ORDER BY 1'
            out[table] = [tuple(r) for r in conn.execute(text(query))]
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_bulk_done_as_one_by_one(db, twin, monkeypatch, seed):
    result = _both(db, twin, monkeypatch, seed,
                   lambda database, codes: workorders.bulk_done(database, "CCWID", codes, operator="cc"))
    assert {"nope"} <= {code for code, _ in result.failures}


@pytest.mark.parametrize("seed", [4, 5])
def test_bulk_change_status_as_one_by_one(db, twin, monkeypatch, seed):
    _both(db, twin, monkeypatch, seed, lambda database, codes: workorders.bulk_change_status(
        database, "CCWID", "Rehousing", codes, operator="cc"))


def test_failures_after_writes_and_statements_not_served_from_memory(db, twin, monkeypatch):
    """An item that fails after it wrote (its writes must vanish, the others' stay), and one
    whose action inserts a request (not served from memory: run the old way, in a savepoint)."""

    def one(ctx, item, dept):
        if item["process_type"] != WORK_ORDER or item["department"] != dept.code:
            raise WrongState(f"not in a work order at {dept.code}")
        routed = workorders.mark_done(ctx, item, dept)
        n = sum(map(ord, item["barcode"]))
        if n % 3 == 0:
            raise WrongState("refused after writing")
        if n % 3 == 1:
            start_work_order(ctx, item, dept, "Pocket", None)  # a new request: an INSERT needing its id
        return routed

    result = _both(db, twin, monkeypatch, 6, lambda database, codes: workorders._bulk(
        database, codes, "CCWID", "cc", "Done", one, None))
    assert any(why == "refused after writing" for _, why in result.failures)


def test_a_batch_is_a_handful_of_statements(sqlite_db, monkeypatch):
    """Through SQLAlchemy (every statement seen): 40 items Done in one batch, each with three
    history events, in a few statements, not ~17 per item."""
    if fastpath.ENABLED:
        pytest.skip("the direct SQLite path bypasses SQLAlchemy's statement events")
    db = sqlite_db
    codes = [f"W{n:02d}" for n in range(1, 21)] + [f"L{n:02d}" for n in range(1, 11)]
    for code in codes:
        scan.scan_in(db, code, at="CCWID", operator="cc", status="Repair")
    for code in codes[::3]:
        requests.place_request(db, code, "P0001", "LAW-CIRC", operator="circ")
    monkeypatch.setattr(workorders, "BULK_BATCH_SECONDS", 3600.0)
    seen = []
    listener = lambda conn, cursor, statement, params, context, many: seen.append(statement.split()[0])
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        result = workorders.bulk_done(db, "CCWID", codes, operator="cc")
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert result.done == len(codes)
    # the lock-order read, then: the items, their queues, their current requests, one
    # executemany per table (item, request, event): under a dozen for 30 items
    assert len(seen) <= 12, seen
