"""Many desks on one database: how long one desk waits for the others (issue 11).

    python benchmarks/desks.py                                  # SQLite, 250,000 items
    python benchmarks/desks.py --url postgresql://u@host/db     # and PostgreSQL (a server URL
                                                                # allowed to CREATE DATABASE)
    python benchmarks/desks.py --quick                          # tiny, for CI: runs, not targets

LIBDESK_TEST_POSTGRES_URL (as the tests use it) stands in for --url. Every desk is a separate
process with its own engine, as desks at a library are. The data set is benchmarks/run.py's
(items, 10% of them in process at CCWID, queues, events), with some of the in-process items
moved to a second department (CCLAW) for the desks that scan while CCWID runs its bulk Done;
on PostgreSQL the same rows are copied into a fresh database. Measured, on each engine:

| scenario | measure | target (issue 11) |
|---|---|---|
| a. bulk Done of 10,000 items at CCWID, one desk scanning at CCLAW every --interval s | that desk's worst wait, refusals | < 1 s, 0 |
| b. N desks (1, 2, 4, 8) scanning flat out at CCLAW | throughput, p99 per desk | - |
| c. import of 200,000 rows, one desk scanning every 50 ms | import time, the desk's worst wait | a few seconds |
| d. one desk scanning flat out for --wal-seconds (SQLite) | largest -wal file seen, -wal after exit | < 64 MB, 0 |

Writes JSON (``--out``, default benchmarks/results/desks.json). Benchmarks are not tests:
nothing here asserts a time; CI runs ``--quick`` only.
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing as mp
import os
import platform
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import NOW, STATUSES, generate, pct  # noqa: E402 - the suite's own data set

from libdesk import clock, demo, importing, institution, scan, workorders  # noqa: E402
from libdesk.db import create_database, open_database  # noqa: E402
from libdesk.errors import LibdeskError  # noqa: E402

BULK_DEPT, BULK_OPERATOR = "CCWID", "cc"
DESK_DEPT, DESK_OPERATOR = "CCLAW", "admin"


# -- data set ------------------------------------------------------------------------------------

def build_sqlite(path: Path, items: int, desk_items: int, seed: int) -> dict[str, Any]:
    facts = generate(path, items, items // 5, items, seed)
    n_dept = facts["in_department"]
    con = sqlite3.connect(path)
    # The last desk_items of CCWID's items belong to Langdell's Collections Care instead.
    con.execute("UPDATE item SET department = ?, library = 'LAW', location = 'LAW-STACKS' WHERE id > ? AND id <= ?",
                (DESK_DEPT, n_dept - desk_items, n_dept))
    con.execute("UPDATE request SET department = ?, owner = 'LAW' WHERE item_id > ? AND item_id <= ? "
                "AND kind = 'work_order' AND step = 'in_process'", (DESK_DEPT, n_dept - desk_items, n_dept))
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    facts.update(bulk_items=list(range(1, n_dept - desk_items + 1)), desk_items=list(range(n_dept - desk_items + 1, n_dept + 1)))
    return facts


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _admin(url: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(_plain(url), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)  # type: ignore[arg-type]


def _with_db(url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    sa = "postgresql+psycopg://" + _plain(url)[len("postgresql://"):]
    return make_url(sa).set(database=name).render_as_string(hide_password=False)


def build_postgres(admin_url: str, sqlite_path: Path, name: str) -> str:
    """The same rows as the SQLite set, in a new database ``name`` (COPY, then the sequences)."""
    import psycopg

    _admin(admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", f"CREATE DATABASE {name}")
    url = _with_db(admin_url, name)
    create_database(url, institution.load_file(institution.demo_path())).close()
    src = sqlite3.connect(sqlite_path)
    with psycopg.connect(_plain(url)) as conn:
        for table in ("item", "request", "event"):
            cols = [r[1] for r in src.execute(f"PRAGMA table_info({table})")]
            with conn.cursor().copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                for row in src.execute(f"SELECT {', '.join(cols)} FROM {table}"):
                    copy.write_row(row)
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        conn.commit()
    src.close()
    _admin(url, "VACUUM ANALYZE")
    return url


# -- one desk, in its own process ---------------------------------------------------------------------

def desk_main(role: str, url: str, params: dict[str, Any], ready: Any, go: Any, stop: Any, out: Any) -> None:
    """A desk: opens its own Database, says it is ready, waits for the start, does its part."""
    clock.freeze(NOW)
    db = open_database(url)
    try:
        if role == "scanner":
            codes = params["codes"]
            # Warm up (connection, statement caches) on the desk's first item, not measured.
            scan.scan_in(db, codes[0], at=DESK_DEPT, operator=DESK_OPERATOR, status=STATUSES[0])
            ready.set()
            go.wait()
            out.put(scan_loop(db, codes, params["interval"], params.get("count"), stop))
        elif role == "bulk":
            ready.set()
            go.wait()
            t0 = time.perf_counter()
            res = workorders.bulk_done(db, BULK_DEPT, params["codes"], operator=BULK_OPERATOR)
            out.put({"role": "bulk", "seconds": time.perf_counter() - t0, "done": res.done,
                     "failed": len(res.failures)})
        elif role == "import":
            ready.set()
            go.wait()
            t0 = time.perf_counter()
            res = importing.import_items(db, params["csv"], operator="admin")
            out.put({"role": "import", "seconds": time.perf_counter() - t0, "rows": res.get("imported", res)})
    finally:
        db.close()


def scan_loop(db: Any, codes: list[str], interval: float, count: int | None, stop: Any) -> dict[str, Any]:
    """Scan (status moves at DESK_DEPT) every ``interval`` s on a steady rhythm (0: flat out)
    until ``stop`` is set or ``count`` scans are made; each scan's wait in ms, refusals."""
    waits: list[float] = []
    refusals: list[str] = []
    start = time.perf_counter()
    n = 0
    while not stop.is_set() and (count is None or n < count):
        if interval:
            due = start + n * interval
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        code = codes[n % len(codes)]
        t0 = time.perf_counter()
        try:
            scan.scan_in(db, code, at=DESK_DEPT, operator=DESK_OPERATOR, status=STATUSES[(n + 1) % len(STATUSES)])
        except LibdeskError as exc:
            refusals.append(exc.message)
        waits.append((time.perf_counter() - t0) * 1000)
        n += 1
    elapsed = time.perf_counter() - start
    return {"role": "scanner", "scans": n, "seconds": elapsed, "refusals": len(refusals),
            "refusal_examples": sorted(set(refusals))[:3], "max_ms": max(waits, default=0.0),
            "p50_ms": statistics.median(waits) if waits else 0.0, "p99_ms": pct(waits, 99) if waits else 0.0}


class Desks:
    """Start desks in processes, release them together, collect what they report."""

    def __init__(self, url: str) -> None:
        self.ctx = mp.get_context("spawn")
        self.url = url
        self.go, self.stop = self.ctx.Event(), self.ctx.Event()
        self.out = self.ctx.Queue()
        self.procs: list[Any] = []

    def add(self, role: str, **params: Any) -> None:
        ready = self.ctx.Event()
        proc = self.ctx.Process(target=desk_main, args=(role, self.url, params, ready, self.go, self.stop, self.out))
        proc.start()
        if not ready.wait(120):
            raise RuntimeError(f"a {role} desk did not start")
        self.procs.append(proc)

    def start(self) -> None:
        self.go.set()

    def collect(self, n: int, timeout: float = 900) -> list[dict[str, Any]]:
        got = [self.out.get(timeout=timeout) for _ in range(n)]
        return got

    def finish(self) -> None:
        self.stop.set()
        for proc in self.procs:
            proc.join(60)
            if proc.is_alive():
                proc.kill()


def codes_of(ids: list[int]) -> list[str]:
    return [demo.barcode(i) for i in ids]


# -- the scenarios --------------------------------------------------------------------------------------

def scenario_bulk(url: str, facts: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    bulk = codes_of(facts["bulk_items"][: args.bulk * len(args.intervals)])
    rng.shuffle(bulk)  # as a person selects them: not in id order
    out: dict[str, Any] = {}
    for k, interval in enumerate(args.intervals):
        desks = Desks(url)
        desks.add("scanner", codes=codes_of(facts["desk_items"][:50]), interval=interval)
        desks.add("bulk", codes=bulk[k * args.bulk:(k + 1) * args.bulk])  # a Done item cannot be Done again
        desks.start()
        (first,) = desks.collect(1)  # the bulk run ends first; then the scanner is stopped
        desks.stop.set()
        (second,) = desks.collect(1)
        desks.finish()
        bulk_r, desk_r = (first, second) if first["role"] == "bulk" else (second, first)
        out[f"every_{interval:g}s"] = {"bulk": bulk_r, "desk": desk_r}
        print(f"  a. bulk Done of {bulk_r['done']:,} in {bulk_r['seconds']:.1f} s; desk every {interval:g} s: "
              f"{desk_r['scans']} scans, worst {desk_r['max_ms']:.0f} ms, {desk_r['refusals']} refused", file=sys.stderr)
    return out


def scenario_desks(url: str, facts: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    items = codes_of(facts["desk_items"])
    for n in args.desks:
        desks = Desks(url)
        share = len(items) // n
        for k in range(n):
            desks.add("scanner", codes=items[k * share:(k + 1) * share], interval=0, count=args.scans)
        desks.start()
        got = desks.collect(n)
        desks.finish()
        total = sum(r["scans"] for r in got)
        seconds = max(r["seconds"] for r in got)
        out[str(n)] = {"desks": n, "scans_per_s": total / seconds, "p99_ms_per_desk": [round(r["p99_ms"], 2) for r in got],
                       "worst_p99_ms": max(r["p99_ms"] for r in got), "worst_ms": max(r["max_ms"] for r in got),
                       "refusals": sum(r["refusals"] for r in got)}
        print(f"  b. {n} desks: {out[str(n)]['scans_per_s']:.0f} scans/s, p99 per desk "
              f"{out[str(n)]['p99_ms_per_desk']} ms, {out[str(n)]['refusals']} refused", file=sys.stderr)
    return out


def scenario_import(url: str, facts: dict[str, Any], args: argparse.Namespace, work: Path) -> dict[str, Any]:
    csv_path = work / f"import-{args.import_rows}.csv"
    if not csv_path.exists():
        with open(csv_path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(importing.ITEM_COLUMNS)
            for n, rec in enumerate(demo.make_records(args.import_rows, random.Random(args.seed + 1), NOW), start=1):
                rec["barcode"] = demo.barcode(facts["items"] + n)  # new items, not the set's own
                writer.writerow([rec[k] for k in importing.ITEM_COLUMNS])
    desks = Desks(url)
    desks.add("scanner", codes=codes_of(facts["desk_items"][50:100]), interval=0.05)
    desks.add("import", csv=str(csv_path))
    desks.start()
    (first,) = desks.collect(1)
    desks.stop.set()
    (second,) = desks.collect(1)
    desks.finish()
    imp, desk = (first, second) if first["role"] == "import" else (second, first)
    print(f"  c. import of {args.import_rows:,} rows in {imp['seconds']:.1f} s; desk every 0.05 s: worst "
          f"{desk['max_ms']:.0f} ms, {desk['refusals']} refused", file=sys.stderr)
    return {"import": imp, "desk": desk}


def scenario_wal(url: str, facts: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    if not url.startswith("sqlite"):
        return {"note": "PostgreSQL's own WAL: recycled by the server (max_wal_size), not libdesk's concern"}
    wal = Path(url[len("sqlite:///"):] + "-wal")
    biggest = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            try:
                biggest[0] = max(biggest[0], wal.stat().st_size)
            except OSError:
                pass
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    desks = Desks(url)
    desks.add("scanner", codes=codes_of(facts["desk_items"][100:]), interval=0)
    sampler.start()
    desks.start()
    time.sleep(args.wal_seconds)
    desks.stop.set()
    (desk,) = desks.collect(1)
    desks.finish()
    done.set()
    sampler.join()
    after = wal.stat().st_size if wal.exists() else 0
    out = {"scans": desk["scans"], "seconds": desk["seconds"], "max_wal_mb": biggest[0] / 2**20,
           "wal_after_exit_mb": after / 2**20, "p99_ms": desk["p99_ms"], "worst_ms": desk["max_ms"]}
    print(f"  d. {desk['scans']:,} scans flat out in {desk['seconds']:.1f} s: largest WAL {out['max_wal_mb']:.1f} MB, "
          f"after exit {out['wal_after_exit_mb']:.1f} MB", file=sys.stderr)
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    clock.freeze(NOW)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="libdesk-desks-"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"machine": {"python": platform.python_version(), "platform": platform.platform(),
                                           "cpus": os.cpu_count()}, "params": {k: v for k, v in vars(args).items() if k != "url"}}
    base = work / f"base-{args.items}.db"
    facts_path = work / f"base-{args.items}.json"
    if not (base.exists() and facts_path.exists()):
        for suffix in ("", "-wal", "-shm"):
            Path(str(base) + suffix).unlink(missing_ok=True)
        t0 = time.perf_counter()
        facts = build_sqlite(base, args.items, args.desk_items, args.seed)
        facts_path.write_text(json.dumps(facts))
        print(f"data set: {args.items:,} items in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    facts = json.loads(facts_path.read_text())
    results["dataset"] = {k: v for k, v in facts.items() if not isinstance(v, list)}
    engines = ["sqlite"] + (["postgres"] if args.url else [])
    for engine in engines:
        print(f"{engine}:", file=sys.stderr)
        if engine == "sqlite":
            path = work / "desks.db"
            for suffix in ("", "-wal", "-shm", "-writers"):
                Path(str(path) + suffix).unlink(missing_ok=True)
            shutil.copy(base, path)
            url = f"sqlite:///{path}"
        else:
            name = f"libdesk_desks_{uuid.uuid4().hex[:8]}"
            t0 = time.perf_counter()
            url = build_postgres(args.url, base, name)
            print(f"  copied into PostgreSQL in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        scenarios = {"desks": lambda: scenario_desks(url, facts, args), "wal": lambda: scenario_wal(url, facts, args),
                     "bulk_while_scanning": lambda: scenario_bulk(url, facts, args),
                     "import_while_scanning": lambda: scenario_import(url, facts, args, work)}
        try:
            res = {key: fn() for key, fn in scenarios.items() if not args.only or key in args.only}
        finally:
            if engine == "postgres":
                _admin(args.url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        results[engine] = res
    clock.freeze(None)
    return results


def report(results: dict[str, Any]) -> str:
    lines = [f"{'engine':<9} {'measure':<52} {'result':<40}", "-" * 100]
    for engine in ("sqlite", "postgres"):
        r = results.get(engine)
        if r is None:
            continue
        r = {"bulk_while_scanning": {}, "desks": {}, "import_while_scanning": None, "wal": {}, **r}
        for key, v in r["bulk_while_scanning"].items():
            lines.append(f"{engine:<9} {'a. bulk Done ' + str(v['bulk']['done']) + ', desk scanning ' + key:<52} "
                         f"worst {v['desk']['max_ms']:.0f} ms, {v['desk']['refusals']} refused of "
                         f"{v['desk']['scans']} (bulk {v['bulk']['seconds']:.1f} s)")
        for n, v in r["desks"].items():
            lines.append(f"{engine:<9} {'b. ' + n + ' desks scanning flat out':<52} {v['scans_per_s']:.0f} scans/s, "
                         f"p99 per desk <= {v['worst_p99_ms']:.1f} ms, {v['refusals']} refused")
        imp = r["import_while_scanning"]
        if imp is not None:
            lines.append(f"{engine:<9} {'c. import ' + str(results['params']['import_rows']) + ' rows, desk every 50 ms':<52} "
                         f"import {imp['import']['seconds']:.1f} s, desk worst {imp['desk']['max_ms']:.0f} ms, "
                         f"{imp['desk']['refusals']} refused")
        wal = r["wal"]
        if "max_wal_mb" in wal:
            lines.append(f"{engine:<9} {'d. WAL, ' + str(wal['scans']) + ' scans flat out':<52} largest "
                         f"{wal['max_wal_mb']:.1f} MB, after exit {wal['wal_after_exit_mb']:.1f} MB")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="libdesk: many desks on one database (see the module docstring)")
    parser.add_argument("--items", type=int, default=250_000)
    parser.add_argument("--desk-items", type=int, default=4_000, help="in-process items moved to the scanning desks' department")
    parser.add_argument("--bulk", type=int, default=10_000, help="items in each bulk Done (scenario a)")
    parser.add_argument("--intervals", type=float, nargs="+", default=[1.0, 0.2], help="the desk's scan rhythm in scenario a")
    parser.add_argument("--desks", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--scans", type=int, default=1000, help="scans per desk in scenario b")
    parser.add_argument("--import-rows", type=int, default=200_000)
    parser.add_argument("--wal-seconds", type=float, default=20.0)
    parser.add_argument("--url", default=os.environ.get("LIBDESK_TEST_POSTGRES_URL") or None,
                        help="a PostgreSQL server URL allowed to CREATE DATABASE (default: $LIBDESK_TEST_POSTGRES_URL)")
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--only", nargs="+", choices=["desks", "wal", "bulk_while_scanning", "import_while_scanning"],
                        help="run these scenarios only")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", help="where the data sets go (default: a new temp dir); reused when given")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "desks.json"))
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for CI")
    args = parser.parse_args(argv)
    if args.sqlite_only:
        args.url = None
    if args.quick:
        args.items, args.desk_items, args.bulk, args.intervals = 3000, 200, 100, [0.05]
        args.desks, args.scans, args.import_rows, args.wal_seconds = [1, 2], 20, 300, 0.5
    args.bulk = min(args.bulk, (args.items // 10 - args.desk_items) // len(args.intervals))
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
