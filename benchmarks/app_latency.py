"""The desk app's two felt speeds (issue 6): a scan's Enter to the banner painted, and start-up
to a scan field ready for the first barcode.

    python benchmarks/app_latency.py --db /tmp/bench1m/bench.db   # a database from benchmarks/run.py
    python benchmarks/app_latency.py --items 100000               # build one first (same generator)

Scan latency: the app runs headless (Textual's test driver) at Collections Care (CCWID) with
a sticky status; for each of N items in the department the barcode is typed, then the clock
starts as Enter is pressed and stops when the result banner renders with that barcode (a
wrapper on ``ResultBanner.render``): engine call, screen update and the paint of the banner.
Target: p99 under 50 ms on the 1M-item database.

Start-up (issue 12 item 4): the real ``libdesk`` command is spawned on a fresh pseudo-terminal,
at Collections Care with a sticky status, and the clock stops when its first screen is drawn
(the footer has reached the terminal): interpreter, imports, opening the database, the first
screen's queries and paint. An absolute time means little on a shared machine, so the same run
starts a minimal Textual app (a Header, an Input and a Footer) the same way, alternately, and
reports the ratio of the medians. Target: within 2x of the minimal app, also on the 1M-item
database.

    python benchmarks/app_latency.py --startup-only --db /tmp/bench1m/bench.db

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

MINIMAL_APP = r"""
from textual.app import App
from textual.widgets import Footer, Header, Input


class Minimal(App):
    BINDINGS = [("f1", "bell", "Help"), ("ctrl+q", "quit", "Quit")]

    def compose(self):
        yield Header()
        yield Input(id="barcode")
        yield Footer()


Minimal().run()
"""
"""The yardstick (issue 12 item 4): a Textual app with a Header, an Input and a Footer."""

WITH_DATABASE_APP = r"""
import sys
import sqlmodel  # the database layer libdesk opens its database with (SQLAlchemy, pydantic)
from sqlalchemy import create_engine

with create_engine("sqlite:///" + sys.argv[1]).connect() as conn:
    conn.exec_driver_sql("SELECT key, value FROM meta").all()
""" + MINIMAL_APP
"""The minimal app that first imports SQLModel and reads libdesk's meta table: what any app
pays that shows a database's state on its first screen with the libraries libdesk is built on.
libdesk's own cost is what it takes beyond this one."""

MARKER = b"Quit"
"""Both apps' footers end with ctrl+q Quit: its arrival on the terminal means the first screen
is drawn (Textual paints a screen whole, footer included)."""


def _time_to_drawn(argv: list[str], env: dict[str, str], timeout: float = 60.0) -> float:
    """Seconds from spawning ``argv`` on a fresh pseudo-terminal (160x48) to its first screen
    drawn, as a person at the terminal would see it: interpreter start, imports, opening the
    database, the first screen's queries and its paint. Then ctrl+q, and the process is reaped."""
    import fcntl
    import pty
    import select
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 48, 160, 0, 0))
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True,
                            start_new_session=True)
    os.close(slave)
    seen = b""
    try:
        while MARKER not in seen:
            if time.perf_counter() - start > timeout:
                raise RuntimeError(f"no screen after {timeout:.0f} s: {seen[-300:]!r}")
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the child exited: its pty is gone
                    raise RuntimeError(f"exited before drawing: {seen[-300:]!r}") from None
                seen = seen[-4096:] + chunk
        drawn = time.perf_counter() - start
        os.write(master, b"\x11")  # ctrl+q
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return drawn


def startup_seconds(db_path: Path, runs: int) -> dict[str, list[float]]:
    """The real ``libdesk`` command and the minimal app, alternately ``runs`` times each after
    one warm-up of each (the first start pays for a cold disk cache)."""
    # PYTHONDONTWRITEBYTECODE (set on some development machines) would compile libdesk's own
    # modules from source at every start; an installed libdesk has its bytecode, and so has an
    # editable install after its first start (the warm-up below).
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("LIBDESK_") and k != "PYTHONDONTWRITEBYTECODE"}
    home = tempfile.mkdtemp(prefix="libdesk-startup-")
    env.update(LIBDESK_HOME=home, TERM="xterm-256color", COLUMNS="160", LINES="48")
    settings = Path(home) / "settings.toml"
    desk = [sys.executable, "-c", "import sys; from libdesk.cli import main; sys.exit(main())",
            "--db", str(db_path), "--operator", "cc"]
    minimal = [sys.executable, "-c", MINIMAL_APP]
    with_database = [sys.executable, "-c", WITH_DATABASE_APP, str(db_path)]
    out: dict[str, list[float]] = {"libdesk": [], "minimal": [], "minimal + database layer": []}
    for i in range(runs + 1):
        # Each start at Collections Care with a sticky status, as a desk's workstation would be.
        settings.write_text('operator = "cc"\ncurrently_at = "CCWID"\nstatus = "Repair"\n', encoding="utf-8")
        d = _time_to_drawn(desk, env)
        m = _time_to_drawn(minimal, env)
        w = _time_to_drawn(with_database, env)
        if i:
            out["libdesk"].append(d)
            out["minimal"].append(m)
            out["minimal + database layer"].append(w)
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
    parser.add_argument("--startup-only", action="store_true", help="measure start-up only")
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
    latencies = asyncio.run(scan_latencies(db_path, codes)) if not args.startup_only else []
    clock.freeze(None)
    starts = startup_seconds(db_path, args.startups)
    ratio = statistics.median(starts["libdesk"]) / statistics.median(starts["minimal"])
    floor = statistics.median(starts["minimal + database layer"]) / statistics.median(starts["minimal"])
    results = {
        "items": items,
        "scan_to_banner_ms": {"n": len(latencies), "p50": statistics.median(latencies), "p99": pct(latencies, 99),
                              "max": max(latencies)} if latencies else None,
        "startup_s": {name: {"n": len(v), "median": statistics.median(v), "min": min(v), "max": max(v)}
                      for name, v in starts.items()},
        "startup_ratio": ratio,
        "startup_ratio_database_layer": floor,
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
    }
    print(f"database: {items:,} items ({db_path})")
    if not args.startup_only:
        print(f"scan Enter -> banner painted: p50 {results['scan_to_banner_ms']['p50']:.1f} ms, "
              f"p99 {results['scan_to_banner_ms']['p99']:.1f} ms (target p99 < 50 ms; n={len(latencies)})")
    for name, values in starts.items():
        print(f"start-up to the first screen drawn, {name}: median {statistics.median(values):.2f} s "
              f"(min {min(values):.2f}, max {max(values):.2f}; n={len(values)})")
    print(f"start-up ratio libdesk / minimal Textual app: {ratio:.2f}x (target <= 2x)")
    print(f"start-up ratio minimal + database layer / minimal Textual app: {floor:.2f}x "
          "(what importing SQLModel and reading the meta table costs by itself)")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
