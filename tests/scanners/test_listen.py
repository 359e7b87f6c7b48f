"""``libdesk listen`` and ``libdesk scanners`` as subprocesses, on a database made with the
CLI (``init`` then ``import items``) from the item set of tests/conftest.py."""

from __future__ import annotations

import csv
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from libdesk import cli, cli_scanners
from libdesk.db import open_database
from libdesk.queries import item_show
from tests.conftest import ITEM_SPECS

WAIT = 20.0
needs_posix = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and ptys")


def _has_listen() -> bool:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return "listen" in sub.choices  # type: ignore[attr-defined]


# Once libdesk.cli registers the scanner commands, test the real entry point.
LIBDESK = [sys.executable, "-m", "libdesk.cli" if _has_listen() else "libdesk.cli_scanners"]


@pytest.fixture(scope="module")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("listen-template")
    env = {**os.environ, "LIBDESK_HOME": str(base / "home")}
    env.pop("LIBDESK_DATABASE_URL", None)
    items = base / "items.csv"
    with open(items, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["barcode", "title", "author", "call_number", "material_type", "library", "location",
                    "process_type"])
        for n, (code, lib, loc, process) in enumerate(ITEM_SPECS):
            w.writerow([code, f"Title of {code}", "Author", f"QA{n:04d}", "BOOK", lib, loc, process or ""])
    db = base / "desk.db"
    for args in (["init"], ["import", "items", str(items)]):
        done = subprocess.run([sys.executable, "-m", "libdesk.cli", "--db", str(db), *args], env=env,
                              check=False, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    return db


@pytest.fixture
def desk_db(template_db: Path, tmp_path: Path) -> Path:
    db = tmp_path / "desk.db"
    shutil.copy(template_db, db)  # the CLI closed it: no WAL left to copy
    return db


def listen(db: Path, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*LIBDESK, "--db", str(db), "listen", *args], input=stdin, check=False, capture_output=True,
                          timeout=120)


def json_lines(out: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.decode().splitlines()]


def close_pipes(proc: subprocess.Popen[bytes]) -> None:
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


def item(db: Path, barcode: str) -> dict[str, Any]:
    database = open_database(str(db))
    try:
        return item_show(database, barcode)
    finally:
        database.close()


def test_listen_stdin_applies_each_scan_and_reports_every_bad_read(desk_db: Path) -> None:
    stream = (b"W01\n"
              b"W01\n"                       # a double scan: said, not applied twice
              b"\r\n\r\n\n\n\r\r"            # a terminator storm: nothing
              b"\xff\xfe\x80garbage\n"       # not UTF-8
              + b"9" * 10_000 + b"\n"        # 10,000 characters
              + b"NOPE\n"                    # no such item: an engine error, the station goes on
              b"W0\x001\n"                   # a control character
              b"W02\r\n"
              b"W03")                        # the last line needs no terminator
    done = listen(desk_db, "--stdin", "--at", "CCWID", "--status", "Pocket", "--json", stdin=stream)
    assert done.returncode == 1, done.stderr  # end of input after refused reads (as `scan A B`)
    lines = json_lines(done.stdout)
    assert [(r["event"], r["barcode"]) for r in lines] == [
        ("scan", "W01"), ("double_scan", "W01"), ("rejected", None), ("rejected", None), ("error", "NOPE"),
        ("rejected", None), ("scan", "W02"), ("scan", "W03")]
    assert "not acted on twice" in lines[1]["message"]
    assert "not utf-8 text" in lines[2]["error"]
    assert "line too long" in lines[3]["error"] and len(lines[3]["raw"]) < 40
    assert lines[4]["kind"] == "not_found"
    assert "control characters" in lines[5]["error"]
    assert lines[0]["destination"] == "CCWID" and lines[0]["item"]["status"] == "Pocket"
    for barcode in ("W01", "W02", "W03"):
        got = item(desk_db, barcode)
        assert (got["process_type"], got["department"], got["status"]) == ("work_order", "CCWID", "Pocket")
    assert item(desk_db, "W04")["process_type"] is None
    stderr = done.stderr.decode().splitlines()
    assert stderr[-1].startswith("libdesk: listen stopped (end of input): 3 scanned, 4 refused or rejected, 1 double")


def test_listen_stdin_human_lines_and_clean_end(desk_db: Path) -> None:
    done = listen(desk_db, "--stdin", "--at", "CCWID", "--status", "Pocket", stdin=b"W05\nW06\n")
    assert done.returncode == 0
    out = done.stdout.decode().splitlines()
    assert len(out) == 2 and out[0].startswith("W05: ") and out[1].startswith("W06: ")
    done = listen(desk_db, "--stdin", "--at", "CCWID", "--double-scan-window", "0", stdin=b"\xffbad\nW05\nW05\n")
    out = done.stdout.decode().splitlines()
    assert out[0].startswith("rejected: not utf-8 text")
    assert out[1].startswith("W05: ") and out[2].startswith("W05: ")  # window off: both applied


def test_listen_stdin_prefix_and_suffix(desk_db: Path) -> None:
    done = listen(desk_db, "--stdin", "--at", "WID-CIRC", "--prefix", "*", "--suffix", "#", "--json",
                  stdin=b"*W07#\nW08#\n")
    lines = json_lines(done.stdout)
    assert lines[0]["event"] == "scan" and lines[0]["barcode"] == "W07"
    assert lines[1]["event"] == "rejected" and "prefix" in lines[1]["error"]


@needs_posix
def test_sigterm_mid_stream_finishes_the_scan_in_progress_and_exits_0(desk_db: Path) -> None:
    proc = subprocess.Popen([*LIBDESK, "--db", str(desk_db), "listen", "--stdin", "--at", "CCWID", "--status",
                             "Pocket", "--json"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    results: queue.Queue[bytes] = queue.Queue()
    reader = threading.Thread(target=lambda: [results.put(line) for line in proc.stdout], daemon=True)  # type: ignore[union-attr]
    reader.start()
    barcodes = [f"W{n:02d}" for n in range(1, 31)] + [f"L{n:02d}" for n in range(1, 11)]
    try:
        assert proc.stdin is not None
        proc.stdin.write("".join(b + "\n" for b in barcodes).encode())
        proc.stdin.flush()
        first = json.loads(results.get(timeout=WAIT))  # scanning has started
        assert first["event"] == "scan"
        proc.send_signal(signal.SIGTERM)               # ... and is most likely in the middle
        rc = proc.wait(timeout=WAIT)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert rc == 0
    stderr = proc.stderr.read().decode()  # type: ignore[union-attr]
    assert "listen stopped (SIGTERM)" in stderr
    reader.join(WAIT)  # the process is gone: its stdout ends
    close_pipes(proc)
    printed = [first] + [json.loads(results.get_nowait()) for _ in range(results.qsize())]
    applied = {r["barcode"] for r in printed if r["event"] == "scan"}
    assert applied and all(r["event"] == "scan" for r in printed)
    # Consistent: exactly the items reported scanned are in the work order; nothing half-done.
    database = open_database(str(desk_db))
    try:
        with database.engine.connect() as conn:
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
            in_wo = {r[0] for r in conn.execute(text("SELECT barcode FROM item WHERE process_type = 'work_order'"))}
    finally:
        database.close()
    assert in_wo == applied
    for barcode in applied:
        got = item(desk_db, barcode)
        assert (got["department"], got["status"]) == ("CCWID", "Pocket")


@needs_posix
def test_ctrl_c_while_idle_exits_0(desk_db: Path) -> None:
    proc = subprocess.Popen([*LIBDESK, "--db", str(desk_db), "listen", "--stdin", "--at", "WID-CIRC"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(b"W09\n")
        proc.stdin.flush()
        assert proc.stdout.readline().startswith(b"W09: ")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=WAIT) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert b"listen stopped (SIGINT)" in proc.stderr.read()  # type: ignore[union-attr]
    close_pipes(proc)


def test_listen_serial_nonexistent_port_is_one_clear_line(desk_db: Path) -> None:
    done = listen(desk_db, "--serial", "/nonexistent", "--at", "CCWID")
    assert done.returncode == 1
    err = done.stderr.decode().splitlines()
    assert len(err) == 1
    assert err[0].startswith("libdesk: serial port /nonexistent not found")
    assert done.stdout == b""


@pytest.mark.parametrize(("args", "message"), [
    (["--stdin", "--at", "NOWHERE"], "Unknown place 'NOWHERE'"),
    (["--stdin", "--at", "CCWID", "--status", "Cataloging"], "'Cataloging' is not a status"),
    (["--stdin", "--at", "WID-CIRC", "--done"], "circulation desk"),
    (["--stdin", "--at", "CCWID", "--baudrate", "9600"], "--baudrate: only with --serial"),
    (["--stdin", "--at", "CCWID", "--operator", "its"], "may not act at"),
])
def test_listen_refuses_a_station_that_cannot_work(desk_db: Path, args: list[str], message: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    # In-process (these fail before reading anything): the same main() as the subprocess runs.
    assert cli_scanners.main(["--db", str(desk_db), "listen", *args]) == 1
    captured = capsys.readouterr()
    err = captured.err.splitlines()
    assert len(err) == 1 and message in err[0], err
    assert captured.out == ""
    assert item(desk_db, "W01")["process_type"] is None


@needs_posix
def test_listen_serial_through_a_pty(desk_db: Path) -> None:
    master, slave = os.openpty()
    port = os.ttyname(slave)
    os.close(slave)
    proc = subprocess.Popen([*LIBDESK, "--db", str(desk_db), "listen", "--serial", port, "--at", "CCWID",
                             "--status", "Repair", "--json", "--terminator", "cr"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines: queue.Queue[bytes] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stderr], daemon=True).start()  # type: ignore[union-attr]
    try:
        while b"connected" not in lines.get(timeout=WAIT):
            pass
        os.write(master, b"W10\rW1")
        os.write(master, b"1\r")
        assert proc.stdout is not None
        first, second = json.loads(proc.stdout.readline()), json.loads(proc.stdout.readline())
        assert (first["barcode"], first["item"]["status"]) == ("W10", "Repair")
        assert second["barcode"] == "W11"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=WAIT) == 0
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait(WAIT)
        close_pipes(proc)


def test_scanners_lists_ports_as_json(desk_db: Path) -> None:
    done = subprocess.run([*LIBDESK, "scanners", "--json"], check=False, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert isinstance(data["ports"], list)
    for port in data["ports"]:
        assert {"device", "description", "hwid", "configured"} <= port.keys()
    human = subprocess.run([*LIBDESK, "scanners"], check=False, capture_output=True, timeout=120)
    assert human.returncode == 0 and human.stdout.strip()
