"""``libdesk listen`` on PostgreSQL survives the server going away (issue 11, item 7): it does
not exit, says so on stderr in one line, refuses the scan, reconnects with backoff and applies
the next scan once the server is back. The outage is a cut in a test proxy in front of the
real server (tests/pg_proxy.py), never a stopped server."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from libdesk.db import open_database
from libdesk.queries import item_show
from tests.conftest import scratch_postgres
from tests.pg_proxy import CuttableProxy, proxy_for
from tests.scanners.test_listen import LIBDESK, WAIT


@pytest.fixture
def seeded_postgres(request: pytest.FixtureRequest) -> Iterator[str]:
    template = request.getfixturevalue("_postgres_seeded_template")
    with scratch_postgres(template) as url:
        yield url


class Station:
    """A running ``listen --stdin --json`` and its output lines, read as they come."""

    def __init__(self, url: str) -> None:
        self.proc = subprocess.Popen([*LIBDESK, "--db", url, "listen", "--stdin", "--at", "CCWID", "--status",
                                      "Pocket", "--json", "--double-scan-window", "0"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out: queue.Queue[str] = queue.Queue()
        self.err: queue.Queue[str] = queue.Queue()
        self.err_lines: list[str] = []
        for pipe, q in ((self.proc.stdout, self.out), (self.proc.stderr, self.err)):
            threading.Thread(target=lambda p=pipe, q=q: [q.put(line.decode()) for line in p], daemon=True).start()

    def scan(self, barcode: str) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{barcode}\n".encode())
        self.proc.stdin.flush()
        return json.loads(self.out.get(timeout=WAIT))

    def stderr_until(self, needle: str) -> str:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            line = self.err.get(timeout=max(deadline - time.monotonic(), 0.01))
            self.err_lines.append(line)
            if needle in line:
                return line
        raise AssertionError(f"no {needle!r} on stderr: {self.err_lines}")

    def finish(self) -> tuple[int, list[str]]:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        code = self.proc.wait(timeout=WAIT)
        time.sleep(0.05)
        while not self.err.empty():
            self.err_lines.append(self.err.get())
        return code, self.err_lines


def test_listen_survives_the_server_going_away_and_applies_the_next_scan(seeded_postgres: str) -> None:
    with proxy_for(seeded_postgres) as proxy:
        station = Station(proxy.url(seeded_postgres))
        try:
            _outage_story(station, proxy)
        finally:
            if station.proc.poll() is None:
                station.proc.kill()
                station.proc.wait()
    database = open_database(seeded_postgres)
    try:
        assert item_show(database, "W01")["status"] == "Pocket"
        assert item_show(database, "W02")["process_type"] is None  # refused: not applied
        assert item_show(database, "W03")["status"] == "Pocket"
        assert item_show(database, "W04")["status"] == "Pocket"
    finally:
        database.close()


def _outage_story(station: Station, proxy: CuttableProxy) -> None:
    station.stderr_until("listening on")
    assert station.scan("W01")["event"] == "scan"

    proxy.cut()  # the server goes away: the pooled connection dies, new ones are refused
    refused = station.scan("W02")
    assert refused["event"] == "error" and refused["kind"] == "unreachable" and refused["barcode"] == "W02"
    assert refused["error"].startswith("the library database is unreachable: scan again")
    said = station.stderr_until("unreachable")
    assert said.count("\n") == 1 and "Traceback" not in said
    assert station.proc.poll() is None  # still listening

    proxy.restore()
    station.stderr_until("is back")  # found by the station's own reconnect, before any scan
    assert station.scan("W03")["event"] == "scan"

    # A cut and restore between two scans: the dead pooled connection is found by the pre-ping
    # and replaced; the scan goes through, with no refusal.
    proxy.cut()
    proxy.restore()
    assert station.scan("W04")["event"] == "scan"

    code, err = station.finish()
    assert code == 1  # end of input after a refused scan, as `libdesk scan A B C`
    assert err[-1].startswith("libdesk: listen stopped (end of input): 3 scanned, 1 refused")
    assert sum("unreachable" in line for line in err) == 1  # one line per outage, not per retry


def test_listen_started_while_the_server_is_away_waits_for_it(seeded_postgres: str) -> None:
    with proxy_for(seeded_postgres) as proxy:
        proxy.cut()
        station = Station(proxy.url(seeded_postgres))
        try:
            said = station.stderr_until("unreachable")
            assert "waiting for it" in said
            assert station.proc.poll() is None  # waiting, not exited
            proxy.restore()
            station.stderr_until("listening on")
            assert station.scan("W05")["event"] == "scan"
            code, err = station.finish()
        finally:
            if station.proc.poll() is None:
                station.proc.kill()
                station.proc.wait()
    assert code == 0, err


def test_the_desk_app_started_while_the_server_is_away_waits_for_it(seeded_postgres: str) -> None:
    """Bare ``libdesk`` (the app) on a desk PC that came up before the server: it says so and
    waits, rather than exiting; the app opens once the server answers."""
    with proxy_for(seeded_postgres) as proxy:
        proxy.cut()
        proc = subprocess.Popen([*LIBDESK, "--db", proxy.url(seeded_postgres)], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            assert proc.stderr is not None
            line = proc.stderr.readline().decode()
            assert "unreachable" in line and "waiting for it" in line
            time.sleep(1.0)
            assert proc.poll() is None  # still waiting, not exited
        finally:
            proc.kill()
            proc.wait()
