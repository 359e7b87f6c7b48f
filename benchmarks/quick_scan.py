"""Quick measure of one Scan In through the engine on a generated database (issue 4).

    python benchmarks/quick_scan.py [--items 100000] [--scans 3000]

Builds a fresh SQLite database of N demo-like items in a temp dir, then times `scan_in`
(a status move at a department, and a desk scan of an item in place) for random items and
prints p50/p99 in milliseconds. The full benchmark suite is benchmarks/run.py.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from libdesk import clock, demo, institution, scan
from libdesk.db import create_database
from libdesk.importing import insert_items


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--scans", type=int, default=3_000)
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        db = create_database(Path(tmp) / "bench.db", institution.load_file(institution.demo_path()))
        t0 = time.perf_counter()
        insert_items(db, demo.make_records(args.items, rng, clock.now()), operator="admin", source="bench")
        print(f"loaded {args.items:,} items in {time.perf_counter() - t0:.1f} s")
        codes = [demo.barcode(rng.randint(1, args.items)) for _ in range(args.scans)]
        for label, kwargs in (("department status move", {"at": "CCWID", "status": "Pocket"}),
                              ("department status move", {"at": "CCWID", "status": "Repair"}),
                              ("Done at department", {"at": "CCWID", "done": True})):
            times = []
            for code in codes:
                start = time.perf_counter()
                try:
                    scan.scan_in(db, code, operator="admin", **kwargs)
                except Exception:
                    pass
                times.append((time.perf_counter() - start) * 1000)
            print(f"{label:<28} n={len(times)}  p50={statistics.median(times):.2f} ms  "
                  f"p99={percentile(times, 99):.2f} ms")
        db.close()


if __name__ == "__main__":
    main()
