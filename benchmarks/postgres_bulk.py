"""Bulk Done on PostgreSQL: set-based batches (issue 16, item 3) against the same items done
one by one, each in its own savepoint (``workorders.SET_BASED = False``, the way before).

    python benchmarks/postgres_bulk.py --url "$LIBDESK_TEST_POSTGRES_URL"            # 10,000 items
    python benchmarks/postgres_bulk.py --url ... --items 2000 --repeats 3

The items go into the department (3 in 10 with a patron request queued behind the work order)
through the engine once, in a template database; every run is on a fresh clone of it
(CREATE DATABASE ... TEMPLATE), a warm-up run first, then ``--repeats`` runs of each way,
in blocks. Reports the median and [min-max] of wall clock and CPU time (benchmarks/method.py).
Benchmarks are not tests: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import method  # benchmarks/method.py

from libdesk import clock, institution, requests, scan, workorders
from libdesk.db import create_database, open_database
from libdesk.importing import insert_items

NOW = datetime(2026, 3, 2, 9, 0, 0)


def _admin(url: str, sql: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def _named(url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)


def run(url: str, items: int, repeats: int) -> dict[str, Any]:
    clock.freeze(NOW)
    template = f"libdesk_bulk_{uuid.uuid4().hex[:10]}"
    _admin(url, f"CREATE DATABASE {template}")
    try:
        db = create_database(_named(url, template), institution.load_file(institution.demo_path()))
        records = [{"barcode": f"X{n:07d}", "title": f"Bulk title {n}", "author": "Bulk", "call_number": f"ZZ{n:07d}",
                    "material_type": "BOOK", "library": "WID", "location": "WID-STACKS", "version": 1,
                    "created_at": NOW, "updated_at": NOW} for n in range(items)]
        insert_items(db, records, operator="admin", source="bench")
        codes = [r["barcode"] for r in records]
        for n, code in enumerate(codes):
            scan.scan_in(db, code, at="CCWID", operator="cc", status="Repair")
            if n % 10 < 3:
                requests.place_request(db, code, "P0001", "LAW-CIRC", operator="circ")
        db.close()

        def once(set_based: bool) -> tuple[float, float]:
            name = f"libdesk_bulk_run_{uuid.uuid4().hex[:10]}"
            _admin(url, f"CREATE DATABASE {name} TEMPLATE {template}")
            try:
                run_db = open_database(_named(url, name))
                workorders.SET_BASED = set_based
                try:
                    sample, res = method.timed_run(lambda: workorders.bulk_done(run_db, "CCWID", codes, operator="cc"))
                finally:
                    workorders.SET_BASED = True
                    run_db.close()
                assert res.done == len(codes), res.message
                return sample
            finally:
                _admin(url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

        out: dict[str, Any] = {"items": items}
        for label, set_based in (("set_based", True), ("one_by_one", False)):
            once(set_based)  # warm-up
            samples = [once(set_based) for _ in range(repeats)]
            out[label] = {"wall_s": method.summary([w for w, _ in samples]),
                          "cpu_s": method.summary([c for _, c in samples])}
        out["speedup_wall"] = out["one_by_one"]["wall_s"]["median"] / out["set_based"]["wall_s"]["median"]
        out["speedup_cpu"] = out["one_by_one"]["cpu_s"]["median"] / out["set_based"]["cpu_s"]["median"]
        return out
    finally:
        _admin(url, f"DROP DATABASE IF EXISTS {template} WITH (FORCE)")
        clock.freeze(None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="bulk Done on PostgreSQL (see the module docstring)")
    parser.add_argument("--url", required=True, help="a PostgreSQL superuser URL (databases are created and dropped)")
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "postgres_bulk.json"))
    args = parser.parse_args(argv)
    results = run(args.url, args.items, args.repeats)
    for label in ("set_based", "one_by_one"):
        w, c = results[label]["wall_s"], results[label]["cpu_s"]
        print(f"{label:<11} {results['items']:,} items: wall {w['median']:.2f} s [{w['min']:.2f}-{w['max']:.2f}], "
              f"cpu {c['median']:.2f} s [{c['min']:.2f}-{c['max']:.2f}]")
    print(f"set-based is {results['speedup_wall']:.1f}x faster (wall), {results['speedup_cpu']:.1f}x (cpu)")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
