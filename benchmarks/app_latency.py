"""The desk app's two felt speeds (issue 6): a scan's Enter to the banner painted, and start-up
to a scan field ready for the first barcode.

    python benchmarks/app_latency.py --db /tmp/bench1m/bench.db   # a database from benchmarks/run.py
    python benchmarks/app_latency.py --items 100000               # build one first (same generator)

Scan latency: the app runs headless (Textual's test driver) at Collections Care (CCWID) with
a sticky status; for each of N items in the department the barcode is typed, then the clock
starts as Enter is pressed and stops when the result banner renders with that barcode (a
wrapper on ``ResultBanner.render``): engine call, screen update and the paint of the banner.
Target: p99 under 50 ms on the 1M-item database.

Start-up: a fresh interpreter is spawned; the clock stops when the app's scan field has focus
(imports, opening the database, the first screen). Target: under 1.5 s.

Benchmarks are not tests: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

STARTUP_CHILD = r"""
import sys, time, asyncio
from libdesk.cli import Runtime, build_parser
from libdesk.db import open_database
from screens.app import make_app
from libdesk.config import Settings

async def main():
    db = open_database(sys.argv[1])
    app = make_app(db, Settings(operator="cc", currently_at="CCWID", status="Repair"))
    async with app.run_test(size=(100, 30)) as pilot:
        while getattr(app.focused, "id", None) != "barcode":
            await pilot.pause(0.005)
        print(time.time(), flush=True)

asyncio.run(main())
"""


def startup_seconds(db_path: Path, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.time()
        proc = subprocess.run([sys.executable, "-c", STARTUP_CHILD, str(db_path)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr.strip().splitlines()[-1])
        out.append(float(proc.stdout.strip().splitlines()[-1]) - start)
    return out


async def scan_latencies(db_path: Path, barcodes: list[str]) -> list[float]:
    from libdesk.config import Settings
    from libdesk.db import open_database
    from screens.app import make_app
    from screens.widgets.result_banner import ResultBanner

    painted: dict[str, float] = {}
    original_render = ResultBanner.render

    def render(self: ResultBanner) -> Any:
        for code in self.item_line.split(" · ")[:1]:
            if code and code not in painted:
                painted[code] = time.perf_counter()
        return original_render(self)

    ResultBanner.render = render  # type: ignore[method-assign]
    db = open_database(db_path)
    app = make_app(db, Settings(operator="cc", currently_at="CCWID", status="Repair"))
    out = []
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            for i, code in enumerate(barcodes):
                # Alternate statuses so every scan is a real move, and no double-scan window
                # applies (each barcode is scanned once).
                app.status = "Repair" if i % 2 else "Pocket"
                await pilot.press(*code)
                start = time.perf_counter()
                await pilot.press("enter")
                while code not in painted:
                    await asyncio.sleep(0.0005)
                out.append((painted[code] - start) * 1000)
    finally:
        ResultBanner.render = original_render  # type: ignore[method-assign]
        db.close()
    return out


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="libdesk app latency (see the module docstring)")
    parser.add_argument("--db", help="a database made by benchmarks/run.py (else one is generated)")
    parser.add_argument("--items", type=int, default=100_000, help="items to generate when no --db")
    parser.add_argument("--scans", type=int, default=200)
    parser.add_argument("--startups", type=int, default=5)
    parser.add_argument("--out", default=str(HERE / "results" / "app_latency.json"))
    args = parser.parse_args(argv)
    import run as suite  # benchmarks/run.py: the same data set

    from libdesk import clock
    from libdesk.db import open_database
    from libdesk.queries import InProcessFilter, inprocess_barcodes

    if args.db:
        db_path = Path(args.db)
    else:
        db_path = Path(tempfile.mkdtemp(prefix="libdesk-app-bench-")) / "bench.db"
        suite.generate(db_path, args.items, args.items // 5, args.items * 2, seed=1)
    clock.freeze(suite.NOW)
    db = open_database(db_path)
    items = db.engine.connect().exec_driver_sql("SELECT count(*) FROM item").scalar_one()
    codes = inprocess_barcodes(db, InProcessFilter("CCWID"))[-args.scans:]
    db.close()
    latencies = asyncio.run(scan_latencies(db_path, codes))
    clock.freeze(None)
    starts = startup_seconds(db_path, args.startups)
    results = {
        "items": items,
        "scan_to_banner_ms": {"n": len(latencies), "p50": statistics.median(latencies), "p99": pct(latencies, 99),
                              "max": max(latencies)},
        "startup_s": {"n": len(starts), "median": statistics.median(starts), "max": max(starts)},
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
    }
    print(f"database: {items:,} items ({db_path})")
    print(f"scan Enter -> banner painted: p50 {results['scan_to_banner_ms']['p50']:.1f} ms, "
          f"p99 {results['scan_to_banner_ms']['p99']:.1f} ms (target p99 < 50 ms; n={len(latencies)})")
    print(f"start-up to a ready scan field: median {results['startup_s']['median']:.2f} s, "
          f"max {results['startup_s']['max']:.2f} s (target < 1.5 s; n={len(starts)})")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
