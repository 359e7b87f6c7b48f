"""``libdesk listen`` checks its sign-in again before every scan (issue 14, item 1): once the
session ends (signed out, expired, the secret changed) or the operator is disabled while the
station runs, the next scan is refused with one line and changes nothing; a new
``libdesk login`` lets the station go on. (Expiry itself is the engine's test:
tests/engine/test_operators.py; a subprocess's frozen clock cannot move.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from libdesk import institution, operators
from libdesk.db import Database
from libdesk.queries import item_show
from tests.conftest import FROZEN, db_fingerprint, make_db

WAIT = 30.0


@pytest.fixture
def signin_db(tmp_path: Path):  # type: ignore[no-untyped-def]
    text = institution.demo_path().read_text(encoding="utf-8").replace("sign_in = false", "sign_in = true", 1)
    db = make_db(tmp_path / "desk.db", institution.parse(text, "signin.toml"))
    operators.set_secret(db, "admin", "admin-pass", by=None)
    operators.set_secret(db, "circ", "1234", by="admin")
    yield db
    db.close()


def start(tmp_path: Path, *args: str, secret: str | None = None) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIBDESK_")}
    env |= {"LIBDESK_HOME": str(tmp_path / "home"), "LIBDESK_SETTINGS": str(tmp_path / "cfg" / "settings.toml"),
            "LIBDESK_FROZEN_TIME": FROZEN.isoformat()}
    if secret is not None:
        env["LIBDESK_SECRET"] = secret
    return subprocess.Popen([sys.executable, "-m", "libdesk.cli", "--db", str(tmp_path / "desk.db"), *args,
                             "listen", "--stdin", "--at", "WID-CIRC", "--json"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def scan(proc: subprocess.Popen[bytes], barcode: str) -> dict[str, Any]:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(barcode.encode() + b"\n")
    proc.stdin.flush()
    line = proc.stdout.readline()
    assert line, proc.stderr.read() if proc.stderr else b""  # type: ignore[union-attr]
    return json.loads(line)  # type: ignore[no-any-return]


def finish(proc: subprocess.Popen[bytes]) -> tuple[int, str]:
    try:
        _, err = proc.communicate(timeout=WAIT)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, err.decode()


def status_of(db: Database, barcode: str) -> tuple[Any, ...]:
    got = item_show(db, barcode)
    return got["process_type"], got["status"]


def test_an_operator_disabled_during_the_run_has_the_next_scan_refused(tmp_path: Path, signin_db: Database) -> None:
    proc = start(tmp_path, "--operator", "circ", secret="1234")
    try:
        assert scan(proc, "W01")["event"] == "scan"
        operators.set_disabled(signin_db, "circ", True, by="admin")
        before = db_fingerprint(signin_db)
        refused = scan(proc, "W02")
        assert refused["event"] == "error" and refused["kind"] == "not_signed_in", refused
        assert refused["barcode"] == "W02" and "circ is disabled" in refused["error"]
        assert db_fingerprint(signin_db) == before  # nothing changed
        assert scan(proc, "W03")["kind"] == "not_signed_in"  # and it stays so
    finally:
        code, err = finish(proc)
    assert code == 1
    assert err.count("circ is disabled; scans are refused") == 1, err  # said once on stderr


def test_a_secret_changed_during_the_run_refuses_the_next_scan(tmp_path: Path, signin_db: Database) -> None:
    proc = start(tmp_path, "--operator", "circ", secret="1234")
    try:
        assert scan(proc, "W01")["event"] == "scan"
        operators.set_secret(signin_db, "circ", "5678", by="admin")
        before = db_fingerprint(signin_db)
        refused = scan(proc, "W02")
        assert refused["kind"] == "not_signed_in" and "secret of circ was changed" in refused["error"]
        assert db_fingerprint(signin_db) == before
    finally:
        finish(proc)


def test_a_session_that_ends_during_the_run_refuses_scans_until_signed_in_again(
        tmp_path: Path, signin_db: Database) -> None:
    session = tmp_path / "cfg" / "session.json"
    operators.login(signin_db, "circ", "1234", session)
    proc = start(tmp_path)
    try:
        assert scan(proc, "W01")["event"] == "scan"
        assert operators.logout(signin_db, session)  # `libdesk logout` in another terminal
        before = db_fingerprint(signin_db)
        refused = scan(proc, "W02")
        assert refused["kind"] == "not_signed_in" and "Signed out: no session" in refused["error"]
        assert "libdesk login --operator circ" in refused["error"]
        assert db_fingerprint(signin_db) == before and status_of(signin_db, "W02") == (None, None)
        operators.login(signin_db, "circ", "1234", session)
        assert scan(proc, "W02")["event"] == "scan"
    finally:
        code, err = finish(proc)
    assert code == 1  # one scan was refused
    assert "signed in again as circ" in err
