"""How the suite measures (issue 16, item 1), and the minimal raw baselines.

- In blocks: all of one side's samples, then all of the other's, never one scan each in turn
  (each libdesk commit would evict raw's caches and make raw look slower).
- A warm-up before every block, untimed (the first scan of a process, 13-75 ms, is not a sample).
- Every measure repeated (at least three times); the median of the repeats is reported with
  its spread (min-max), and each ratio is a ratio of medians measured in the same run.
- CPU time (the process's, ``time.process_time``) beside wall-clock time.

Two raw baselines: *minimal* (only the statements the outcome needs: the rows it reads, the
rows it changes, its history events, with the same indexes, triggers and full-text index
libdesk keeps) and *same transaction* (libdesk's statements done by hand, as before).
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

Sample = tuple[float, float]
"""(wall seconds, CPU seconds) of one timed run."""


def timed_run(fn: Callable[[], Any]) -> tuple[Sample, Any]:
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return (time.perf_counter() - w0, time.process_time() - c0), out


def pct(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary(values: Sequence[float], scale: float = 1.0) -> dict[str, float]:
    """Median and spread of repeated measures."""
    return {"median": statistics.median(values) * scale, "min": min(values) * scale, "max": max(values) * scale,
            "n": len(values)}


def repeat_runs(prepare: Callable[[int], Callable[[], Any]], repeats: int, warmup: bool = True) -> dict[str, Any]:
    """``prepare(i)`` sets up run ``i`` untimed and returns the thing to time; run -1 is the
    warm-up (timed by nobody). Returns wall and CPU summaries in seconds."""
    if warmup:
        prepare(-1)()
    walls, cpus = [], []
    for i in range(repeats):
        fn = prepare(i)
        (wall, cpu), _ = timed_run(fn)
        walls.append(wall)
        cpus.append(cpu)
    return {"wall_s": summary(walls), "cpu_s": summary(cpus)}


def latency_blocks(sides: dict[str, Callable[[str], Any]], pools: dict[str, list[str]], block: int,
                   warmup: int, repeats: int) -> dict[str, Any]:
    """Per-scan latency in blocks: for each repeat, each side runs ``warmup`` untimed scans and
    then ``block`` timed ones on its own items (``pools[side]``, consumed in order). Returns,
    per side, the median over repeats of each block's p50 and p99 (ms), their spread, and CPU
    ms per scan."""
    out: dict[str, Any] = {}
    taken = {side: 0 for side in sides}
    per: dict[str, dict[str, list[float]]] = {side: {"p50": [], "p99": [], "cpu": []} for side in sides}
    for _ in range(repeats):
        for side, fn in sides.items():
            pool = pools[side]
            start = taken[side]
            codes = pool[start:start + warmup + block]
            taken[side] = start + len(codes)
            if len(codes) < warmup + block:
                raise RuntimeError(f"{side}: not enough items for {repeats} blocks of {warmup}+{block}")
            for code in codes[:warmup]:
                fn(code)
            lat = []
            c0 = time.process_time()
            for code in codes[warmup:]:
                t0 = time.perf_counter()
                fn(code)
                lat.append((time.perf_counter() - t0) * 1000)
            per[side]["cpu"].append((time.process_time() - c0) * 1000 / block)
            per[side]["p50"].append(statistics.median(lat))
            per[side]["p99"].append(pct(lat, 99))
    for side, m in per.items():
        out[side] = {"p50_ms": summary(m["p50"]), "p99_ms": summary(m["p99"]), "cpu_ms_per_scan": summary(m["cpu"])}
    return out


# -- minimal raw transactions ----------------------------------------------------------------------

def raw_connect(path: Any) -> sqlite3.Connection:
    """A plain sqlite3 connection set as libdesk's are (WAL, synchronous NORMAL, foreign keys, no
    checkpoint inside a commit: libdesk's background checkpointer folds the WAL)."""
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute("PRAGMA foreign_keys=ON")
    con.execute("PRAGMA busy_timeout=10000")
    con.execute("PRAGMA wal_autocheckpoint=0")
    return con


def ts(now: datetime) -> str:
    return now.strftime("%Y-%m-%d %H:%M:%S.%f")


_EVENT = ("INSERT INTO event (at, operator, place, action, item_id, request_id, barcode, before, after, message) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
_HEAD = ("SELECT id, kind, pickup, department FROM request WHERE item_id = ? AND active = 1 AND id IS NOT ? "
         "ORDER BY forced DESC, forced_rank, placed_at, id LIMIT 1")


def minimal_status_move(con: sqlite3.Connection, barcode: str, status: str, now: str) -> None:
    """A status move at a department: read the item, change it, its event."""
    con.execute("BEGIN IMMEDIATE")
    item_id, version, old = con.execute("SELECT id, version, status FROM item WHERE barcode = ?", (barcode,)).fetchone()
    con.execute("UPDATE item SET status = ?, version = ?, updated_at = ? WHERE id = ? AND version = ?",
                (status, version + 1, now, item_id, version))
    con.execute(_EVENT, (now, "cc", "CCWID", "status_changed", item_id, None, barcode, json.dumps({"status": old}),
                         json.dumps({"status": status}), "CCWID: " + status))
    con.execute("COMMIT")


def _done_one(con: sqlite3.Connection, barcode: str, dept: str, now: str, tag: str) -> bool:
    """Done at ``dept`` for one item, inside the caller's transaction: complete its request, send it
    to its queue's head (a transit to the pickup desk or department) or home; the events."""
    row = con.execute("SELECT id, version, current_request_id, process_type, department, library FROM item "
                      "WHERE barcode = ?", (barcode,)).fetchone()
    if row is None or row[3] != "work_order" or row[4] != dept:
        return False
    item_id, version, current, _, _, library = row
    head = con.execute(_HEAD, (item_id, current)).fetchone()
    events = []
    if current is not None:
        con.execute("UPDATE request SET step = 'completed', active = 0, closed_at = ? WHERE id = ?", (now, current))
        events.append((now, "cc", dept, "request_completed", item_id, current, barcode,
                       '{"active": true, "step": "in_process"}', '{"active": false, "step": "completed"}', tag))
    events.append((now, "cc", dept, "work_order_done", item_id, None, barcode, '{"process_type": "work_order"}',
                   '{"process_type": null}', tag))
    if head is None:
        dest, req = f"{library}-CIRC", None
    else:
        dest, req = head[2] or head[3], head[0]
        con.execute("UPDATE request SET step = 'transit_item' WHERE id = ?", (req,))
        events.append((now, "cc", dept, "request_in_transit", item_id, req, barcode, '{"step": "waiting"}',
                       '{"step": "transit_item"}', tag))
    con.execute("UPDATE item SET process_type = 'transit', work_order_type = NULL, department = NULL, status = NULL, "
                "transit_to = ?, current_request_id = ?, wo_since = NULL, version = ?, updated_at = ? "
                "WHERE id = ? AND version = ?", (dest, req, version + 2, now, item_id, version))
    events.append((now, "cc", dept, "transit", item_id, None, barcode, '{"process_type": null}',
                   json.dumps({"process_type": "transit", "transit_to": dest}), tag))
    con.executemany(_EVENT, events)
    return True


def minimal_done(con: sqlite3.Connection, barcode: str, dept: str, now: str) -> None:
    """One Done scan (with routing to the queue's head) in its own transaction."""
    con.execute("BEGIN IMMEDIATE")
    _done_one(con, barcode, dept, now, "")
    con.execute("COMMIT")


def minimal_bulk_done(con: sqlite3.Connection, barcodes: list[str], dept: str, now: str, batch: int = 200) -> int:
    """Bulk Done by hand, the least it needs: batches of ``batch`` items per transaction, per item
    its reads, its writes and its events (no savepoint: an item is checked before it is written)."""
    done = 0
    tag = f"[bulk Done of {len(barcodes)} items]"
    for start in range(0, len(barcodes), batch):
        con.execute("BEGIN IMMEDIATE")
        for code in barcodes[start:start + batch]:
            done += _done_one(con, code, dept, now, tag)
        con.execute("COMMIT")
    return done


def minimal_return(con: sqlite3.Connection, barcode: str, desk: str, now: str) -> None:
    """A return at a desk of an item with a queue: end the loan, send it to the head's pickup (hold
    shelf here, with the notice, or transit there), the events."""
    con.execute("BEGIN IMMEDIATE")
    item_id, version, patron = con.execute("SELECT id, version, loan_patron FROM item WHERE barcode = ?",
                                           (barcode,)).fetchone()
    head = con.execute(_HEAD, (item_id, None)).fetchone()
    events = [(now, "circ", desk, "loan_returned", item_id, None, barcode, json.dumps({"loan_patron": patron}),
               '{"loan_patron": null}', "")]
    if head is None:
        con.execute("UPDATE item SET process_type = NULL, loan_patron = NULL, loan_due = NULL, version = ?, "
                    "updated_at = ? WHERE id = ? AND version = ?", (version + 1, now, item_id, version))
    elif (head[2] or head[3]) == desk:
        con.execute("UPDATE request SET step = 'on_hold_shelf' WHERE id = ?", (head[0],))
        con.execute("UPDATE item SET process_type = 'hold_shelf', hold_shelf = ?, current_request_id = ?, "
                    "loan_patron = NULL, loan_due = NULL, version = ?, updated_at = ? WHERE id = ? AND version = ?",
                    (desk, head[0], version + 1, now, item_id, version))
        con.execute("INSERT INTO notice (at, patron, kind, item_id, request_id, text) VALUES (?, ?, ?, ?, ?, ?)",
                    (now, patron, "hold_available", item_id, head[0], "waiting for you"))
        events.append((now, "circ", desk, "hold_shelf", item_id, head[0], barcode, "{}", "{}", ""))
    else:
        con.execute("UPDATE request SET step = 'transit_item' WHERE id = ?", (head[0],))
        con.execute("UPDATE item SET process_type = 'transit', transit_to = ?, current_request_id = ?, "
                    "loan_patron = NULL, loan_due = NULL, version = ?, updated_at = ? WHERE id = ? AND version = ?",
                    (head[2] or head[3], head[0], version + 1, now, item_id, version))
        events.append((now, "circ", desk, "transit", item_id, head[0], barcode, "{}", "{}", ""))
    con.executemany(_EVENT, events)
    con.execute("COMMIT")


def minimal_arrival(con: sqlite3.Connection, barcode: str, desk: str, now: str) -> None:
    """An item in transit arrives at the pickup desk of its request: onto the hold shelf, the notice."""
    con.execute("BEGIN IMMEDIATE")
    item_id, version, req = con.execute("SELECT id, version, current_request_id FROM item WHERE barcode = ?",
                                        (barcode,)).fetchone()
    patron = con.execute("SELECT patron FROM request WHERE id = ?", (req,)).fetchone()[0]
    con.execute("UPDATE request SET step = 'on_hold_shelf' WHERE id = ?", (req,))
    con.execute("UPDATE item SET process_type = 'hold_shelf', transit_to = NULL, hold_shelf = ?, version = ?, "
                "updated_at = ? WHERE id = ? AND version = ?", (desk, version + 1, now, item_id, version))
    con.execute("INSERT INTO notice (at, patron, kind, item_id, request_id, text) VALUES (?, ?, ?, ?, ?, ?)",
                (now, patron, "hold_available", item_id, req, "waiting for you"))
    con.executemany(_EVENT, [(now, "circ", desk, "request_on_hold_shelf", item_id, req, barcode, "{}", "{}", ""),
                             (now, "circ", desk, "hold_shelf", item_id, req, barcode, "{}", "{}", "")])
    con.execute("COMMIT")
