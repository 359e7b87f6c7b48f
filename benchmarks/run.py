"""libdesk benchmark suite: libdesk against the physical limit of the same machine.

    python benchmarks/run.py                      # 1,000,000 items (a few minutes)
    python benchmarks/run.py --items 100000       # smaller, same proportions
    python benchmarks/run.py --smoke              # tiny, for CI: checks it runs, not the targets

It generates a reproducible data set (seeded): items with 10% in process at one department
(CCWID), loans, 200,000 active requests in queues up to 20 deep, 2,000,000 history events
(all scaled with --items unless given), then measures in the same run:

| measure | against | target (issue 5) |
|---|---|---|
| Scan In p99 | raw sqlite3 doing the same transaction | <= 3x raw p99 |
| bulk Done of 10,000 items | raw sqlite3, same statements and savepoints | <= 3x raw |
| import of N items from CSV | raw csv + executemany into the same schema | <= 2x raw |
| XLSX export of 100,000 rows | the same rows written straight to XlsxWriter | <= 1.3x |
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
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from libdesk import clock, demo, exporting, importing, institution, queries, scan, workorders
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


def raw_import(path: Path, csv_path: Path) -> int:
    con = raw_connect(path)
    with open(csv_path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        next(reader)
        now = NOW.strftime("%Y-%m-%d %H:%M:%S.%f")
        con.execute("BEGIN IMMEDIATE")
        # The best a hand-written load can do here: rows first, then their words in one go.
        con.execute("DROP TRIGGER item_fts_ai")
        cur = con.executemany(
            "INSERT INTO item (barcode, title, author, call_number, material_type, library, location, version, "
            "created_at, updated_at) VALUES (?,?,?,?,?,?,?,1,?,?)", (row + [now, now] for row in reader))
        count = cur.rowcount
        con.execute("INSERT INTO item_fts(rowid, title, author, call_number) "
                    "SELECT id, title, author, call_number FROM item")
        con.execute(FTS_INSERT_TRIGGER)
        con.execute("COMMIT")
    con.close()
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


def run(args: argparse.Namespace) -> dict[str, Any]:
    clock.freeze(NOW)
    rng = random.Random(args.seed)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="libdesk-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"machine": {"python": platform.python_version(), "platform": platform.platform(),
                                           "cpus": os.cpu_count()}, "params": vars(args).copy()}
    db_path = work / "bench.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db_path) + suffix).unlink(missing_ok=True)
    seconds, facts = timed(generate, db_path, args.items, args.requests, args.events, args.seed)
    results["dataset"] = {**facts, "seconds": round(seconds, 1)}
    print(f"data set: {facts} in {seconds:.1f} s", file=sys.stderr)
    db = open_database(db_path)
    n_dept = facts["in_department"]
    dept_codes = [demo.barcode(n) for n in range(1, n_dept + 1)]
    rng.shuffle(dept_codes)

    # Scan In: libdesk and raw, interleaved on the same items and the same file.
    sample = dept_codes[: args.scans]
    con = raw_connect(db_path)
    lib_t, raw_t = [], []
    for i, code in enumerate(sample):
        status = STATUSES[i % len(STATUSES)]
        t0 = time.perf_counter()
        scan.scan_in(db, code, at=DEPT, operator="cc", status=status)
        lib_t.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        raw_scan(con, code, status)
        raw_t.append((time.perf_counter() - t0) * 1000)
    con.close()
    results["scan"] = {"libdesk_p50_ms": statistics.median(lib_t), "libdesk_p99_ms": pct(lib_t, 99),
                       "raw_p50_ms": statistics.median(raw_t), "raw_p99_ms": pct(raw_t, 99)}
    results["scan"]["ratio_p99"] = results["scan"]["libdesk_p99_ms"] / results["scan"]["raw_p99_ms"]

    # Search, in-process first page, monitor facets.
    words = ["letters", "gardens", "maritime", "essays new", "collected poems", "harvard", "law", "botany maps"]
    search_t = [timed(queries.search, db, rng.choice(words))[0] * 1000 for _ in range(args.searches)]
    results["search"] = {"p50_ms": statistics.median(search_t), "p99_ms": pct(search_t, 99)}
    flt = queries.InProcessFilter(DEPT)
    page_t = [timed(queries.inprocess_page, db, flt, limit=200)[0] * 1000 for _ in range(10)]
    total = queries.inprocess_page(db, flt, limit=1).total
    results["inprocess_first_page"] = {"rows_in_list": total, "p50_ms": statistics.median(page_t)}
    mon_t = [timed(queries.monitor, db, {}, limit=200)[0] * 1000 for _ in range(5)]
    active = queries.monitor(db, {}, limit=1)["total"]
    results["monitor_facets"] = {"active_requests": active, "p50_ms": statistics.median(mon_t)}

    # XLSX export of the in-process list vs the same rows straight to XlsxWriter.
    import xlsxwriter

    rows = list(queries.inprocess_all(db, flt))[: args.export]
    export_s, _ = timed(exporting.export_rows, work / "lib.xlsx", queries.INPROCESS_COLUMNS,
                        (r for _, r in zip(range(args.export), queries.inprocess_all(db, flt))))

    def straight() -> None:
        wb = xlsxwriter.Workbook(str(work / "raw.xlsx"), {"constant_memory": True})
        ws = wb.add_worksheet()
        keys = [k for k, _ in queries.INPROCESS_COLUMNS]
        ws.write_row(0, 0, [h for _, h in queries.INPROCESS_COLUMNS])
        for i, r in enumerate(rows, start=1):
            ws.write_row(i, 0, [r[k] for k in keys])
        wb.close()

    raw_export_s, _ = timed(straight)
    results["xlsx_export"] = {"rows": len(rows), "libdesk_s": export_s, "straight_s": raw_export_s,
                              "ratio": export_s / raw_export_s}

    # Bulk Done: two disjoint sets of the department's items.
    rest = dept_codes[args.scans:]
    lib_set, raw_set = rest[: args.bulk], rest[args.bulk: 2 * args.bulk]
    lib_s, res = timed(workorders.bulk_done, db, DEPT, lib_set, operator="cc")
    assert res.done == len(lib_set), res.message
    con = raw_connect(db_path)
    raw_s, _ = timed(raw_done, con, raw_set)
    con.close()
    results["bulk_done"] = {"items": len(lib_set), "libdesk_s": lib_s, "raw_s": raw_s, "ratio": lib_s / raw_s}

    # Memory of a scan session.
    results["scan_session_rss_mb"] = rss_of_scan_session(db_path, dept_codes[-min(500, len(dept_codes)):])
    db.close()

    # Import N items: libdesk (parse, check, insert) vs raw executemany, each into a fresh file.
    csv_path = work / "items.csv"
    with open(csv_path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(importing.ITEM_COLUMNS)
        for rec in demo.make_records(args.import_items, random.Random(args.seed + 1), NOW):
            writer.writerow([rec[k] for k in importing.ITEM_COLUMNS])
    inst = institution.load_file(institution.demo_path())
    paths = []
    for name in ("imp-lib.db", "imp-raw.db"):
        p = work / name
        for suffix in ("", "-wal", "-shm"):
            Path(str(p) + suffix).unlink(missing_ok=True)
        create_database(p, inst).close()
        paths.append(p)
    imp_db = open_database(paths[0])
    lib_imp_s, _ = timed(importing.import_items, imp_db, csv_path, operator="admin")
    imp_db.close()
    raw_imp_s, _ = timed(raw_import, paths[1], csv_path)
    results["import"] = {"items": args.import_items, "libdesk_s": lib_imp_s, "raw_s": raw_imp_s,
                         "ratio": lib_imp_s / raw_imp_s}
    clock.freeze(None)
    return results


TARGETS = [
    ("Scan In p99 (ms)", lambda r: f"{r['scan']['libdesk_p99_ms']:.2f} vs raw {r['scan']['raw_p99_ms']:.2f}",
     lambda r: r["scan"]["ratio_p99"], 3.0, "x raw"),
    ("Scan In p50 (ms)", lambda r: f"{r['scan']['libdesk_p50_ms']:.2f} vs raw {r['scan']['raw_p50_ms']:.2f}",
     lambda r: r["scan"]["libdesk_p50_ms"] / r["scan"]["raw_p50_ms"], None, "x raw"),
    ("bulk Done (s)", lambda r: f"{r['bulk_done']['items']:,} items: {r['bulk_done']['libdesk_s']:.2f} vs raw "
     f"{r['bulk_done']['raw_s']:.2f}", lambda r: r["bulk_done"]["ratio"], 3.0, "x raw"),
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
    lines = [f"{'measure':<24} {'result':<44} {'value':>8} {'target':>12}  ok", "-" * 96]
    for name, text, value, target, unit in TARGETS:
        v = value(results)
        ok = "" if target is None else ("yes" if v <= target else "NO")
        tgt = "" if target is None else f"<= {target:g} {unit}"
        lines.append(f"{name:<24} {text(results):<44} {v:>8.2f} {tgt:>12}  {ok}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="libdesk benchmarks (see the module docstring)")
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=None, help="active requests (default: items / 5)")
    parser.add_argument("--events", type=int, default=None, help="history events (default: items x 2)")
    parser.add_argument("--scans", type=int, default=2000)
    parser.add_argument("--bulk", type=int, default=10_000)
    parser.add_argument("--export", type=int, default=100_000)
    parser.add_argument("--import-items", type=int, default=None, help="items to import (default: --items)")
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", help="where the data set goes (default: a new temp dir)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "latest.json"))
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, for CI")
    args = parser.parse_args(argv)
    if args.smoke:
        args.items, args.scans, args.bulk, args.export, args.searches = 3000, 50, 100, 200, 10
    args.requests = args.requests if args.requests is not None else args.items // 5
    args.events = args.events if args.events is not None else args.items * 2
    args.import_items = args.import_items if args.import_items is not None else args.items
    args.bulk = min(args.bulk, max((args.items // 10 - args.scans) // 2, 1))
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
