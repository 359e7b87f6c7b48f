"""libdesk benchmark suite: libdesk against the physical limit of the same machine.

    python benchmarks/run.py                      # 1,000,000 items (a few minutes)
    python benchmarks/run.py --items 100000       # smaller, same proportions
    python benchmarks/run.py --only bulk_done     # one measure (bulk Done of 10,000 items)
    python benchmarks/run.py --smoke              # tiny, for CI: checks it runs, not the targets

It generates a reproducible data set (seeded): items with 10% in process at one department
(CCWID), 3 in 10 of those with patron requests queued behind the work order, loans,
200,000 active requests in queues up to 20 deep, 2,000,000 history events (all scaled with
--items unless given), then measures in the same run, as benchmarks/method.py describes: in
blocks, a warm-up first, every measure repeated (--repeats, at least 3) and reported as the
median with its spread [min-max], CPU time beside wall clock, every ratio one of medians
measured in this run. Two raw baselines: the *minimal* raw transaction (only the statements
the outcome needs, same indexes, triggers and full-text index) and, where it exists, the
*same-transaction* raw (libdesk's own statements by hand).

| measure | against | target (issue 16) |
|---|---|---|
| Scan In p99, a status move in place | minimal raw (and same-transaction raw) | <= 3x minimal p99 |
| Done at the department, routed to a request | minimal raw | <= 3x |
| return at a desk of an item with a queue | minimal raw | <= 3x |
| arrival of an item in transit at its pickup desk | minimal raw | <= 3x |
| bulk Done of 10,000 items (fresh copy of the data set each run) | minimal raw loop, and same-transaction raw | <= 3x minimal |
| import of N items from CSV (neither side's close timed) | raw csv + executemany, words in one go | <= 2x raw |
| XLSX export of 100,000 rows | the same rows straight to XlsxWriter, libdesk's own (fastest) calls | <= 1.3x |
| title word search p50 | - | < 20 ms |
| first page of the in-process list (100,000 items) | - | < 50 ms |
| monitor facet counts (200,000 requests) | - | < 300 ms |
| resident memory of a scan session | - | < 150 MB |

The same search and facet rows on PostgreSQL: benchmarks/postgres_search.py (same data set).

It prints a table and writes JSON (``--out``, default benchmarks/results/latest.json).
Benchmarks are not tests: nothing here asserts a time; CI runs ``--smoke`` only.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import method  # benchmarks/method.py: how the suite measures, the minimal raw baselines

from libdesk import circulation, clock, demo, exporting, importing, institution, queries, scan, workorders
from libdesk.db import FTS_INSERT_TRIGGER, create_database, open_database

NOW = datetime(2026, 3, 2, 9, 0, 0)
DEPT = "CCWID"
STATUSES = ["Assessment", "Pocket", "Repair", "Rehousing", "Unknown Substance"]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


# -- data set ------------------------------------------------------------------------------------

def generate(path: Path, items: int, active_requests: int, events: int, seed: int) -> dict[str, Any]:
    """Build the data set with raw sqlite3 inserts into libdesk's own schema."""
    inst = institution.load_file(institution.demo_path())
    create_database(path, inst).close()
    rng = random.Random(seed)
    records = demo.make_records(items, rng, NOW - timedelta(days=400))
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    n_dept = items // 10
    n_loan = items * 8 // 100
    item_rows = []
    for n, rec in enumerate(records, start=1):
        process = status = dept = wo_type = wo_since = loan_patron = loan_due = None
        if n <= n_dept:
            process, dept, wo_type = "work_order", DEPT, "PRES"
            status = STATUSES[n % len(STATUSES)]
            wo_since = NOW - timedelta(days=n % 60)
            rec["library"], rec["location"] = "WID", "WID-STACKS"
        elif n <= n_dept + n_loan:
            process, loan_patron, loan_due = "loan", f"P{(n % 40) + 1:04d}", (NOW + timedelta(days=n % 28)).date()
        item_rows.append((n, rec["barcode"], rec["title"], rec["author"], rec["call_number"], rec["material_type"],
                          rec["library"], rec["location"], process, wo_type, dept, status, loan_patron,
                          loan_due.isoformat() if loan_due else None,
                          wo_since.strftime("%Y-%m-%d %H:%M:%S.%f") if wo_since else None, NOW.strftime("%Y-%m-%d %H:%M:%S.%f")))
    con.executemany(
        "INSERT INTO item (id, barcode, title, author, call_number, material_type, library, location, process_type, "
        "work_order_type, department, status, loan_patron, loan_due, wo_since, version, created_at, updated_at) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,1,?,?)",
        [r + (r[-1],) for r in item_rows])
    # The work order of every in-process item has its In Process request (current_request_id).
    req_rows = []
    rid = 0
    for n in range(1, n_dept + 1):
        rid += 1
        placed = NOW - timedelta(days=n % 60)
        req_rows.append((rid, n, "work_order", None, None, "PRES", DEPT, "in_process", 0, None,
                         placed.strftime("%Y-%m-%d %H:%M:%S.%f"), "admin", (placed + timedelta(days=30)).date().isoformat(),
                         "WID", records[n - 1]["material_type"]))
    con.executemany("UPDATE item SET current_request_id = ? WHERE id = ?", [(r[0], r[1]) for r in req_rows])
    # A share of the department's items have requests queued behind their work order (patron
    # requests waiting at a pickup desk): Done and bulk Done route them there.
    for n in range(1, n_dept + 1):
        if n % 10 >= 3 or rid >= active_requests:
            continue
        for k in range(1 + n % 2):
            rid += 1
            placed = NOW - timedelta(days=rng.randint(0, 90), minutes=k)
            req_rows.append((rid, n, "patron", f"P{rng.randint(1, 40):04d}", rng.choice(["WID-CIRC", "LAW-CIRC"]),
                             None, None, "waiting", 0, None, placed.strftime("%Y-%m-%d %H:%M:%S.%f"), "admin", None,
                             "WID", records[n - 1]["material_type"]))
    # Queues up to 20 deep on loaned items and items on the shelf (the head of a shelf item's
    # queue is to be pulled), mixed patron and work-order requests, some forced.
    candidates = list(range(n_dept + 1, items + 1))
    rng.shuffle(candidates)
    ci = 0
    while rid < active_requests and ci < len(candidates):
        item_id = candidates[ci]
        ci += 1
        on_shelf = item_id > n_dept + n_loan
        depth = min(20, max(1, int(rng.paretovariate(1.6))))
        for k in range(depth):
            if rid >= active_requests:
                break
            rid += 1
            placed = NOW - timedelta(days=rng.randint(0, 90), minutes=depth - k)
            is_patron = rng.random() < 0.7
            step = ("pickup_from_shelf" if on_shelf and k == 0 else "waiting")
            req_rows.append((rid, item_id, "patron" if is_patron else "work_order",
                             f"P{rng.randint(1, 40):04d}" if is_patron else None,
                             rng.choice(["WID-CIRC", "LAW-CIRC"]) if is_patron else None,
                             None if is_patron else "TS", None if is_patron else "ITS625", step,
                             1 if rng.random() < 0.02 else 0, None, placed.strftime("%Y-%m-%d %H:%M:%S.%f"), "admin", None,
                             records[item_id - 1]["library"], records[item_id - 1]["material_type"]))
    con.executemany(
        "INSERT INTO request (id, item_id, kind, patron, pickup, work_order_type, department, step, forced, "
        "forced_rank, placed_at, creator, expiry, owner, material_type, note, in_hand, active) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,'',0,1)",
        req_rows)
    con.execute("UPDATE request SET forced_rank = id WHERE forced = 1")
    ev_rows = ((NOW - timedelta(minutes=i)).strftime("%Y-%m-%d %H:%M:%S.%f") for i in range(events))
    con.executemany(
        "INSERT INTO event (at, operator, place, action, item_id, barcode, before, after, message) "
        "VALUES (?, 'admin', 'WID-CIRC', 'loan', ?, NULL, '{}', '{}', '')",
        ((at, (i % items) + 1) for i, at in enumerate(ev_rows)))
    con.commit()
    con.execute("ANALYZE")
    con.close()
    return {"items": items, "in_department": n_dept, "loans": n_loan, "active_requests": rid, "events": events}


# -- raw sqlite3 baselines: the same transactions, by hand -------------------------------------------

_QUEUE_SQL = ("SELECT * FROM request WHERE item_id = ? AND active = 1 "
              "ORDER BY forced DESC, forced_rank, placed_at, id")


def raw_connect(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute("PRAGMA foreign_keys=ON")
    con.execute("PRAGMA busy_timeout=10000")
    # As libdesk's connections: no checkpoint inside a commit (libdesk's background
    # checkpointer folds the WAL for the shared file), so both sides pay the same I/O.
    con.execute("PRAGMA wal_autocheckpoint=0")
    con.row_factory = sqlite3.Row  # rows by column name, as libdesk reads them
    return con


def raw_scan(con: sqlite3.Connection, barcode: str, status: str) -> None:
    """A status move at a department, as libdesk does it: item, queue, update, event, view."""
    con.execute("BEGIN IMMEDIATE")
    item = con.execute("SELECT * FROM item WHERE barcode = ?", (barcode,)).fetchone()
    item_id, version = item["id"], item["version"]
    con.execute("UPDATE item SET status = ?, version = ?, updated_at = ? WHERE id = ? AND version = ?",
                (status, version + 1, NOW.strftime("%Y-%m-%d %H:%M:%S.%f"), item_id, version))
    con.execute("INSERT INTO event (at, operator, place, action, item_id, barcode, before, after, message) "
                "VALUES (?, 'cc', 'CCWID', 'status_changed', ?, ?, ?, ?, '')",
                (NOW.strftime("%Y-%m-%d %H:%M:%S.%f"), item_id, barcode, json.dumps({"status": "x"}), json.dumps({"status": status})))
    con.execute(_QUEUE_SQL, (item_id,)).fetchall()
    con.execute(_QUEUE_SQL, (item_id,)).fetchall()
    con.execute("COMMIT")


def raw_done(con: sqlite3.Connection, barcodes: list[str]) -> None:
    """Bulk Done by hand: batches of 200, a savepoint per item, complete the request, clear
    the work order, route (queue head or home), an event per change."""
    now = NOW.strftime("%Y-%m-%d %H:%M:%S.%f")
    for start in range(0, len(barcodes), 200):
        con.execute("BEGIN IMMEDIATE")
        for code in barcodes[start:start + 200]:
            con.execute("SAVEPOINT one")
            item = con.execute("SELECT * FROM item WHERE barcode = ?", (code,)).fetchone()
            item_id, req_id, version = item["id"], item["current_request_id"], item["version"]
            con.execute("SELECT * FROM request WHERE id = ?", (req_id,)).fetchone()
            con.execute("UPDATE request SET step = 'completed', active = 0, closed_at = ? WHERE id = ?", (now, req_id))
            con.execute("INSERT INTO event (at, operator, place, action, item_id, request_id, barcode, before, after,"
                        " message) VALUES (?, 'cc', 'CCWID', 'request_completed', ?, ?, ?, '{}', '{}', '')",
                        (now, item_id, req_id, code))
            con.execute("UPDATE item SET process_type = NULL, work_order_type = NULL, department = NULL, "
                        "status = NULL, current_request_id = NULL, wo_since = NULL, version = ? "
                        "WHERE id = ? AND version = ?", (version + 1, item_id, version))
            con.execute("INSERT INTO event (at, operator, place, action, item_id, barcode, before, after, message) "
                        "VALUES (?, 'cc', 'CCWID', 'work_order_done', ?, ?, '{}', '{}', '')", (now, item_id, code))
            head = con.execute(_QUEUE_SQL, (item_id,)).fetchone()
            dest = "WID-CIRC" if head is None else (head["pickup"] or head["department"])
            con.execute("UPDATE item SET process_type = 'transit', transit_to = ?, version = ? "
                        "WHERE id = ? AND version = ?", (dest, version + 2, item_id, version + 1))
            con.execute("INSERT INTO event (at, operator, place, action, item_id, barcode, before, after, message) "
                        "VALUES (?, 'cc', 'CCWID', 'transit', ?, ?, '{}', '{}', '')", (now, item_id, code))
            con.execute(_QUEUE_SQL, (item_id,)).fetchall()
            con.execute("RELEASE one")
        con.execute("COMMIT")


def raw_import(con: sqlite3.Connection, csv_path: Path) -> int:
    """Rows first, then their words in one go: the best a hand-written load can do here. The
    connection is the caller's: its close (a WAL checkpoint) is outside the timing, as libdesk's is."""
    with open(csv_path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        next(reader)
        now = NOW.strftime("%Y-%m-%d %H:%M:%S.%f")
        con.execute("BEGIN IMMEDIATE")
        con.execute("DROP TRIGGER item_fts_ai")
        cur = con.executemany(
            "INSERT INTO item (barcode, title, author, call_number, material_type, library, location, version, "
            "created_at, updated_at) VALUES (?,?,?,?,?,?,?,1,?,?)", (row + [now, now] for row in reader))
        count = cur.rowcount
        con.execute("INSERT INTO item_fts(rowid, title, author, call_number) "
                    "SELECT id, title, author, call_number FROM item")
        con.execute(FTS_INSERT_TRIGGER)
        con.execute("COMMIT")
    return count


# -- measurements -----------------------------------------------------------------------------------

def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - start, out


def rss_of_scan_session(path: Path, barcodes: list[str]) -> float:
    """Max resident memory (MB) of a fresh process that opens the database and scans."""
    code = (
        "import sys, json\n"
        "from libdesk.db import open_database\nfrom libdesk import scan\n"
        f"db = open_database({str(path)!r})\n"
        f"codes = json.loads({json.dumps(json.dumps(barcodes))})\n"
        "for i, c in enumerate(codes):\n"
        "    scan.scan_in(db, c, at='CCWID', operator='cc', status=['Pocket', 'Repair'][i % 2])\n"
        "print([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1])\n"
    )
    # VmHWM (peak resident set) of the new process itself: ru_maxrss would include the
    # benchmark parent's peak, which the child inherits across fork/exec on Linux.
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"scan session failed: {out.stderr.strip().splitlines()[-1]}")
    return int(out.stdout.strip().splitlines()[-1]) / 1024


def _fresh(src: Path, dst: Path) -> Path:
    """A copy of the data set's file: every repeat of a measure that changes the items starts
    from the same rows."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(dst) + suffix).unlink(missing_ok=True)
    shutil.copyfile(src, dst)
    return dst


def _ratio(a: dict[str, Any], b: dict[str, Any], key: str = "median") -> float:
    return a[key] / b[key] if b[key] else float("inf")


def measure_bulk_done(base: Path, work: Path, codes: list[str], repeats: int) -> dict[str, Any]:
    """Bulk Done of ``codes``: libdesk, the minimal raw loop and the same-transaction raw, each run
    on a fresh copy of the data set, a warm-up run first, ``repeats`` timed runs, in blocks."""
    now = method.ts(NOW)
    run_db = work / "bulk-run.db"
    sides: dict[str, list[tuple[float, float]]] = {"libdesk": [], "raw_minimal": [], "raw_same": []}

    def libdesk_side() -> tuple[float, float]:
        db = open_database(_fresh(base, run_db))
        try:
            sample, res = method.timed_run(lambda: workorders.bulk_done(db, DEPT, codes, operator="cc"))
            assert res.done == len(codes), res.message
        finally:
            db.close()
        return sample

    def raw_side(fn: Any) -> tuple[float, float]:
        con = method.raw_connect(_fresh(base, run_db))
        try:
            sample, _ = method.timed_run(lambda: fn(con))
        finally:
            con.close()
        return sample

    runs = {"libdesk": libdesk_side,
            "raw_minimal": lambda: raw_side(lambda con: method.minimal_bulk_done(con, codes, DEPT, now)),
            "raw_same": lambda: raw_side(lambda con: raw_done(_rows(con), codes))}
    for name, fn in runs.items():
        fn()  # warm-up: untimed
        for _ in range(repeats):
            sides[name].append(fn())
    out: dict[str, Any] = {"items": len(codes)}
    for name, samples in sides.items():
        out[name] = {"wall_s": method.summary([w for w, _ in samples]), "cpu_s": method.summary([c for _, c in samples])}
    out["ratio_minimal"] = _ratio(out["libdesk"]["wall_s"], out["raw_minimal"]["wall_s"])
    out["ratio_same"] = _ratio(out["libdesk"]["wall_s"], out["raw_same"]["wall_s"])
    out["cpu_ratio_minimal"] = _ratio(out["libdesk"]["cpu_s"], out["raw_minimal"]["cpu_s"])
    # (the old keys, read by the desks benchmark's readers and the smoke test)
    out["libdesk_s"], out["raw_s"], out["ratio"] = (out["libdesk"]["wall_s"]["median"],
                                                    out["raw_minimal"]["wall_s"]["median"], out["ratio_minimal"])
    return out


def _rows(con: sqlite3.Connection) -> sqlite3.Connection:
    con.row_factory = sqlite3.Row  # the same-transaction raw reads rows by column name, as libdesk does
    return con


def measure_scans(db: Any, db_path: Path, dept_codes: list[str], queued: set[str], args: argparse.Namespace
                  ) -> dict[str, Any]:
    """Every scan kind, per-scan latency in blocks (warm-up, repeats), libdesk against the
    minimal raw transaction (and, for the status move, the same-transaction raw)."""
    now = method.ts(NOW)
    block, warm, reps = args.block, args.warmup, args.repeats
    need = (block + warm) * reps
    con = method.raw_connect(db_path)
    same = _rows(method.raw_connect(db_path))
    out: dict[str, Any] = {}
    plain = [c for c in dept_codes if c not in queued]
    routed = [c for c in dept_codes if c in queued]

    # 1. status move in place at the department
    pools = {"libdesk": plain[:need], "raw_minimal": plain[need:2 * need], "raw_same": plain[2 * need:3 * need]}
    cycle = iter(range(10 ** 9))
    res = method.latency_blocks({
        "libdesk": lambda c: scan.scan_in(db, c, at=DEPT, operator="cc", status=STATUSES[next(cycle) % 5]),
        "raw_minimal": lambda c: method.minimal_status_move(con, c, STATUSES[next(cycle) % 5], now),
        "raw_same": lambda c: raw_scan(same, c, STATUSES[next(cycle) % 5]),
    }, pools, block, warm, reps)
    out["status_move"] = res

    # 2. Done with routing: the item's queue head is a patron request at a pickup desk
    pools = {"libdesk": routed[:need], "raw_minimal": routed[need:2 * need]}
    out["done_routed"] = method.latency_blocks({
        "libdesk": lambda c: scan.scan_in(db, c, at=DEPT, operator="cc", done=True),
        "raw_minimal": lambda c: method.minimal_done(con, c, DEPT, now),
    }, pools, block, warm, reps)

    # 3. arrival of those items, in transit, at their pickup desk: onto the hold shelf
    with db.read() as conn:
        transit = {b: t for b, t in conn.exec_driver_sql(
            "SELECT barcode, transit_to FROM item WHERE process_type = 'transit' AND current_request_id IS NOT NULL")}
    pools = {"libdesk": [c for c in pools["libdesk"] if c in transit],
             "raw_minimal": [c for c in pools["raw_minimal"] if c in transit]}
    n = min(len(p) for p in pools.values()) // reps - warm
    if n > 0:
        out["arrival_in_transit"] = method.latency_blocks({
            "libdesk": lambda c: scan.scan_in(db, c, at=transit[c], operator="circ"),
            "raw_minimal": lambda c: method.minimal_arrival(con, c, transit[c], now),
        }, pools, n, warm, reps)

    # 4. return at a desk of a loaned item with a queue
    with db.read() as conn:
        loaned = [b for (b,) in conn.exec_driver_sql(
            "SELECT barcode FROM item WHERE process_type = 'loan' AND id IN "
            "(SELECT item_id FROM request WHERE active) ORDER BY id")]
    half = len(loaned) // 2
    n = min(block, half // reps - warm)
    if n > 0:
        out["return_with_queue"] = method.latency_blocks({
            "libdesk": lambda c: circulation.return_item(db, c, at="WID-CIRC", operator="circ"),
            "raw_minimal": lambda c: method.minimal_return(con, c, "WID-CIRC", now),
        }, {"libdesk": loaned[:half], "raw_minimal": loaned[half:]}, n, warm, reps)
    con.close()
    same.close()
    for kind in out.values():
        kind["ratio_p99_minimal"] = _ratio(kind["libdesk"]["p99_ms"], kind["raw_minimal"]["p99_ms"])
        kind["ratio_p50_minimal"] = _ratio(kind["libdesk"]["p50_ms"], kind["raw_minimal"]["p50_ms"])
        kind["cpu_ratio_minimal"] = _ratio(kind["libdesk"]["cpu_ms_per_scan"], kind["raw_minimal"]["cpu_ms_per_scan"])
        if "raw_same" in kind:
            kind["ratio_p99_same"] = _ratio(kind["libdesk"]["p99_ms"], kind["raw_same"]["p99_ms"])
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    clock.freeze(NOW)
    rng = random.Random(args.seed)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="libdesk-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"machine": {"python": platform.python_version(), "platform": platform.platform(),
                                           "cpus": os.cpu_count()}, "params": vars(args).copy()}
    only = set(args.only.split(",")) if args.only else None
    want = (lambda name: only is None or name in only)
    db_path = work / "bench.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db_path) + suffix).unlink(missing_ok=True)
    seconds, facts = timed(generate, db_path, args.items, args.requests, args.events, args.seed)
    results["dataset"] = {**facts, "seconds": round(seconds, 1)}
    print(f"data set: {facts} in {seconds:.1f} s", file=sys.stderr)
    base = work / "base.db"
    _fresh(db_path, base)  # the untouched data set, for the measures that start from it every time
    n_dept = facts["in_department"]
    dept_codes = [demo.barcode(n) for n in range(1, n_dept + 1)]
    queued = {demo.barcode(n) for n in range(1, n_dept + 1) if n % 10 < 3}
    rng.shuffle(dept_codes)

    if want("bulk_done"):
        # Bulk Done of items of the department, a third of them with requests queued behind.
        results["bulk_done"] = measure_bulk_done(base, work, dept_codes[: args.bulk], args.repeats)
        print(f"bulk done: {results['bulk_done']['ratio']:.2f}x minimal raw", file=sys.stderr)
    if only is not None and only <= {"bulk_done"}:
        clock.freeze(None)
        return results

    db = open_database(db_path)
    scans = measure_scans(db, db_path, dept_codes, queued, args)
    results["scan_kinds"] = scans
    move = scans["status_move"]
    results["scan"] = {"libdesk_p50_ms": move["libdesk"]["p50_ms"]["median"],
                       "libdesk_p99_ms": move["libdesk"]["p99_ms"]["median"],
                       "raw_p50_ms": move["raw_minimal"]["p50_ms"]["median"],
                       "raw_p99_ms": move["raw_minimal"]["p99_ms"]["median"],
                       "raw_same_p99_ms": move["raw_same"]["p99_ms"]["median"],
                       "ratio_p99": move["ratio_p99_minimal"], "ratio_p99_same": move["ratio_p99_same"]}

    # Search, in-process first page, monitor facets (a warm-up query first).
    words = ["letters", "gardens", "maritime", "essays new", "collected poems", "harvard", "law", "botany maps"]
    queries.search(db, words[0])
    search_t = [timed(queries.search, db, rng.choice(words))[0] * 1000 for _ in range(args.searches)]
    results["search"] = {"p50_ms": statistics.median(search_t), "p99_ms": pct(search_t, 99)}
    flt = queries.InProcessFilter(DEPT)
    queries.inprocess_page(db, flt, limit=200)
    page_t = [timed(queries.inprocess_page, db, flt, limit=200)[0] * 1000 for _ in range(10)]
    total = queries.inprocess_page(db, flt, limit=1).total
    results["inprocess_first_page"] = {"rows_in_list": total, "p50_ms": statistics.median(page_t)}
    queries.monitor(db, {}, limit=200)
    mon_t = [timed(queries.monitor, db, {}, limit=200)[0] * 1000 for _ in range(5)]
    active = queries.monitor(db, {}, limit=1)["total"]
    results["monitor_facets"] = {"active_requests": active, "p50_ms": statistics.median(mon_t)}

    # XLSX export of the in-process list vs the same rows straight to XlsxWriter, with the
    # writer calls libdesk itself uses (typed write_string/write_number: the fastest).
    import xlsxwriter

    rows = list(queries.inprocess_all(db, flt))[: args.export]
    keys = [k for k, _ in queries.INPROCESS_COLUMNS]

    def straight() -> None:
        wb = xlsxwriter.Workbook(str(work / "raw.xlsx"), {"constant_memory": True, "strings_to_formulas": False,
                                                           "strings_to_numbers": False, "strings_to_urls": False})
        ws = wb.add_worksheet()
        ws_str, ws_num = ws.write_string, ws.write_number
        for col, (_, header) in enumerate(queries.INPROCESS_COLUMNS):
            ws_str(0, col, header)
        for i, r in enumerate(rows, start=1):
            for col, k in enumerate(keys):
                v = r[k]
                if v is None:
                    continue
                if isinstance(v, bool):
                    ws_str(i, col, "yes" if v else "no")
                elif isinstance(v, (int, float)):
                    ws_num(i, col, v)
                else:
                    ws_str(i, col, str(v))
        wb.close()

    lib_x, raw_x = [], []
    straight()
    exporting.export_rows(work / "lib.xlsx", queries.INPROCESS_COLUMNS, iter(rows))
    for _ in range(args.repeats):
        lib_x.append(timed(exporting.export_rows, work / "lib.xlsx", queries.INPROCESS_COLUMNS, iter(rows))[0])
        raw_x.append(timed(straight)[0])
    results["xlsx_export"] = {"rows": len(rows), "libdesk": method.summary(lib_x), "straight": method.summary(raw_x),
                              "libdesk_s": statistics.median(lib_x), "straight_s": statistics.median(raw_x),
                              "ratio": statistics.median(lib_x) / statistics.median(raw_x)}

    # Memory of a scan session.
    results["scan_session_rss_mb"] = rss_of_scan_session(db_path, dept_codes[-min(500, len(dept_codes)):])
    db.close()

    # Import N items: libdesk (parse, check, insert, words) vs raw executemany (rows, then their
    # words in one statement), each into a fresh file; neither side's timing includes its close.
    csv_path = work / "items.csv"
    with open(csv_path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(importing.ITEM_COLUMNS)
        for rec in demo.make_records(args.import_items, random.Random(args.seed + 1), NOW):
            writer.writerow([rec[k] for k in importing.ITEM_COLUMNS])
    inst = institution.load_file(institution.demo_path())
    empty = work / "imp-empty.db"
    _fresh_empty = empty.exists() or create_database(empty, inst).close()
    del _fresh_empty
    lib_i, raw_i = [], []
    for _ in range(args.import_repeats):
        imp_db = open_database(_fresh(empty, work / "imp-lib.db"))
        lib_i.append(timed(importing.import_items, imp_db, csv_path, operator="admin")[0])
        imp_db.close()
        con = method.raw_connect(_fresh(empty, work / "imp-raw.db"))
        raw_i.append(timed(raw_import, con, csv_path)[0])
        con.close()
    results["import"] = {"items": args.import_items, "libdesk": method.summary(lib_i), "raw": method.summary(raw_i),
                         "libdesk_s": statistics.median(lib_i), "raw_s": statistics.median(raw_i),
                         "ratio": statistics.median(lib_i) / statistics.median(raw_i)}
    clock.freeze(None)
    return results


def _kind_row(kind: str, label: str, target: float | None) -> tuple[Any, ...]:
    def text(r: dict[str, Any]) -> str:
        k = r["scan_kinds"].get(kind)
        if k is None:
            return "(not enough items at this size)"
        lib, raw = k["libdesk"]["p99_ms"], k["raw_minimal"]["p99_ms"]
        return (f"{lib['median']:.2f} [{lib['min']:.2f}-{lib['max']:.2f}] vs min {raw['median']:.2f}"
                + (f" / same {k['raw_same']['p99_ms']['median']:.2f}" if "raw_same" in k else "")
                + f"; p50 {k['ratio_p50_minimal']:.1f}x, cpu {k['cpu_ratio_minimal']:.1f}x")

    return (label, text, lambda r: r["scan_kinds"].get(kind, {}).get("ratio_p99_minimal", float("nan")), target,
            "x min")


def _bulk_text(r: dict[str, Any]) -> str:
    b = r["bulk_done"]
    lib, raw = b["libdesk"]["wall_s"], b["raw_minimal"]["wall_s"]
    return (f"{b['items']:,}: {lib['median']:.2f} [{lib['min']:.2f}-{lib['max']:.2f}] vs min {raw['median']:.2f} "
            f"/ same {b['raw_same']['wall_s']['median']:.2f}; cpu {b['cpu_ratio_minimal']:.2f}x")


TARGETS = [
    _kind_row("status_move", "Scan In p99 (ms)", 3.0),
    ("Scan In p50 (ms)", lambda r: f"{r['scan']['libdesk_p50_ms']:.2f} vs min {r['scan']['raw_p50_ms']:.2f}",
     lambda r: r["scan"]["libdesk_p50_ms"] / r["scan"]["raw_p50_ms"], None, "x min"),
    _kind_row("done_routed", "Done, routed, p99 (ms)", 3.0),
    _kind_row("return_with_queue", "return w/ queue p99", 3.0),
    _kind_row("arrival_in_transit", "arrival p99 (ms)", 3.0),
    ("bulk Done (s)", _bulk_text, lambda r: r["bulk_done"]["ratio"], 3.0, "x min"),
    ("import (s)", lambda r: f"{r['import']['items']:,} items: {r['import']['libdesk_s']:.1f} vs raw "
     f"{r['import']['raw_s']:.1f}", lambda r: r["import"]["ratio"], 2.0, "x raw"),
    ("XLSX export (s)", lambda r: f"{r['xlsx_export']['rows']:,} rows: {r['xlsx_export']['libdesk_s']:.2f} vs "
     f"straight {r['xlsx_export']['straight_s']:.2f}", lambda r: r["xlsx_export"]["ratio"], 1.3, "x straight"),
    ("title word search p50", lambda r: f"{r['search']['p50_ms']:.1f} ms", lambda r: r["search"]["p50_ms"], 20.0, "ms"),
    ("in-process first page", lambda r: f"{r['inprocess_first_page']['rows_in_list']:,} rows: "
     f"{r['inprocess_first_page']['p50_ms']:.1f} ms", lambda r: r["inprocess_first_page"]["p50_ms"], 50.0, "ms"),
    ("monitor facets", lambda r: f"{r['monitor_facets']['active_requests']:,} requests: "
     f"{r['monitor_facets']['p50_ms']:.0f} ms", lambda r: r["monitor_facets"]["p50_ms"], 300.0, "ms"),
    ("scan session memory", lambda r: f"{r['scan_session_rss_mb']:.0f} MB", lambda r: r["scan_session_rss_mb"],
     150.0, "MB"),
]


def report(results: dict[str, Any]) -> str:
    lines = [f"{'measure':<24} {'result (median [min-max])':<76} {'value':>8} {'target':>12}  ok", "-" * 128]
    for name, text, value, target, unit in TARGETS:
        try:
            v = value(results)
            shown = text(results)
        except KeyError:  # a measure left out with --only
            continue
        ok = "" if target is None or v != v else ("yes" if v <= target else "NO")
        tgt = "" if target is None else f"<= {target:g} {unit}"
        lines.append(f"{name:<24} {shown:<76} {v:>8.2f} {tgt:>12}  {ok}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="libdesk benchmarks (see the module docstring)")
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=None, help="active requests (default: items / 5)")
    parser.add_argument("--events", type=int, default=None, help="history events (default: items x 2)")
    parser.add_argument("--block", type=int, default=200, help="timed scans per block")
    parser.add_argument("--warmup", type=int, default=20, help="untimed scans before each block")
    parser.add_argument("--repeats", type=int, default=3, help="blocks / runs of every measure (>= 3)")
    parser.add_argument("--import-repeats", type=int, default=None, help="runs of the import (default: --repeats)")
    parser.add_argument("--bulk", type=int, default=10_000)
    parser.add_argument("--export", type=int, default=100_000)
    parser.add_argument("--import-items", type=int, default=None, help="items to import (default: --items)")
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", help="comma-separated measures to run (now: bulk_done)")
    parser.add_argument("--workdir", help="where the data set goes (default: a new temp dir)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "latest.json"))
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, for CI")
    args = parser.parse_args(argv)
    if args.smoke:
        args.items, args.block, args.warmup, args.bulk, args.export, args.searches = 3000, 10, 2, 100, 200, 10
    args.requests = args.requests if args.requests is not None else args.items // 5
    args.events = args.events if args.events is not None else args.items * 2
    args.import_items = args.import_items if args.import_items is not None else args.items
    args.import_repeats = args.import_repeats if args.import_repeats is not None else args.repeats
    args.bulk = min(args.bulk, max(args.items // 10, 1))
    args.export = min(args.export, args.items // 10)
    results = run(args)
    text = report(results)
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({**results, "table": text.splitlines()}, indent=2, default=str), encoding="utf-8")
    print(f"\nwritten: {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
