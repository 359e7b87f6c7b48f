"""Issue 14 item 1: operators sign in when the institution file requires it (sign_in = true).

End to end as a subprocess: secrets set by an administrator from stdin, a signed 0600
session from `libdesk login`, LIBDESK_SECRET for scripts, refusals that change nothing, and
a lockout after repeated wrong secrets, recorded in the database."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from libdesk import institution
from libdesk.db import open_database
from tests.conftest import db_fingerprint, make_db


@pytest.fixture
def station(tmp_path: Path):
    text = institution.demo_path().read_text(encoding="utf-8").replace("sign_in = false", "sign_in = true", 1)
    inst = institution.parse(text, "signin.toml")
    assert inst.sign_in.required
    make_db(tmp_path / "desk.db", inst).close()
    env = {**os.environ, "LIBDESK_SETTINGS": str(tmp_path / "cfg" / "settings.toml")}
    env.pop("LIBDESK_SECRET", None)

    def run(*args: str, stdin: str = "", secret: str | None = None) -> subprocess.CompletedProcess[str]:
        e = dict(env)
        if secret is not None:
            e["LIBDESK_SECRET"] = secret
        return subprocess.run([sys.executable, "-m", "libdesk.cli", "--db", str(tmp_path / "desk.db"), *args],
                              input=stdin, capture_output=True, text=True, env=e, timeout=120)

    run.path = tmp_path  # type: ignore[attr-defined]
    return run


def fingerprint(path: Path) -> str:
    db = open_database(path / "desk.db")
    try:
        return db_fingerprint(db)
    finally:
        db.close()


def test_sign_in_end_to_end(station):
    # Nobody has a secret: actions are refused, with one clear line.
    r = station("scan", "W01", "--at", "WID-CIRC")
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "Sign in first" in r.stderr
    # The first secret may be set without a session (setting the database up) ...
    assert station("operator", "add", "admin", "--secret-stdin", stdin="admin-pass\n").returncode == 0
    # ... and then only by a signed-in administrator.
    r = station("operator", "add", "circ", "--secret-stdin", stdin="1234\n")
    assert r.returncode == 1 and "Sign in" in r.stderr
    r = station("--operator", "admin", "login", "--secret-stdin", stdin="admin-pass\n")
    assert r.returncode == 0, r.stderr
    session = station.path / "cfg" / "session.json"
    assert stat.S_IMODE(session.stat().st_mode) == 0o600
    assert "admin-pass" not in session.read_text() and "admin-pass" not in r.stdout + r.stderr
    assert station("operator", "add", "circ", "--secret-stdin", stdin="1234\n").returncode == 0
    # The secret is stored only as a salted scrypt hash.
    db = open_database(station.path / "desk.db")
    with db.read() as conn:
        stored = dict(conn.exec_driver_sql("SELECT operator, secret_hash FROM operatoraccount").all())
    db.close()
    assert stored["circ"].startswith("scrypt$") and "1234" not in stored["circ"]
    # The session acts as admin; claiming another operator is refused.
    r = station("--json", "scan", "W01", "--at", "WID-CIRC")
    assert r.returncode == 0, r.stderr
    before = fingerprint(station.path)
    r = station("--operator", "circ", "scan", "W02", "--at", "WID-CIRC")
    assert r.returncode == 1 and "Signed in as admin" in r.stderr
    r = station("settings", "--set-operator", "circ")
    assert r.returncode == 1 and "login" in r.stderr
    assert fingerprint(station.path) == before
    # Scripts: the secret from the environment.
    r = station("--operator", "circ", "--json", "scan", "W02", "--at", "WID-CIRC", secret="1234")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["barcode"] == "W02"
    # A forged session is worth nothing.
    data = json.loads(session.read_text())
    for entry in data.values():
        entry["operator"] = "circ"
    session.write_text(json.dumps(data))
    r = station("scan", "W03", "--at", "WID-CIRC")
    assert r.returncode == 1 and "Sign in first" in r.stderr


def test_wrong_secrets_lock_the_operator_out(station):
    station("operator", "add", "admin", "--secret-stdin", stdin="admin-pass\n")
    station("--operator", "admin", "login", "--secret-stdin", stdin="admin-pass\n")
    station("operator", "add", "circ", "--secret-stdin", stdin="1234\n")
    for n in range(4):
        r = station("--operator", "circ", "scan", "W01", "--at", "WID-CIRC", secret="9999")
        assert r.returncode == 1 and "Wrong secret" in r.stderr and r.stderr.count("\n") == 1
    r = station("--operator", "circ", "scan", "W01", "--at", "WID-CIRC", secret="9999")
    assert r.returncode == 1 and "locked" in r.stderr
    # Locked: even the right secret is refused now.
    r = station("--operator", "circ", "scan", "W01", "--at", "WID-CIRC", secret="1234")
    assert r.returncode == 1 and "locked" in r.stderr
    # An administrator's new secret unlocks; disable ends it.
    assert station("operator", "set-secret", "circ", "--secret-stdin", stdin="5678\n").returncode == 0
    assert station("--operator", "circ", "scan", "W01", "--at", "WID-CIRC", secret="5678").returncode == 0
    assert station("operator", "disable", "circ").returncode == 0
    r = station("--operator", "circ", "scan", "W02", "--at", "WID-CIRC", secret="5678")
    assert r.returncode == 1 and "disabled" in r.stderr


def test_the_demo_needs_no_sign_in(inst):
    assert inst.sign_in.required is False


def test_sign_in_settings_are_validated():
    base = institution.demo_path().read_text(encoding="utf-8")
    with pytest.raises(Exception, match="sign_in.idle_minutes"):
        institution.parse(base.replace("sign_in = false", "[sign_in]\nidle_minutes = 99999999\n", 1)
                          .replace("\n[institution]", "\n[institution]", 1), "x.toml")


def test_reads_need_a_signed_in_operator_too(station):
    """A queue names patrons and the history names operators: with sign-in required, reading
    needs a signed-in operator as acting does. What the patron catalogue shows anyone
    (`libdesk public`) and signing in itself do not."""
    for args in (["item", "show", "W01"], ["item", "history", "W01"], ["search", "title"], ["overview"],
                 ["request", "list", "W01"], ["monitor"]):
        r = station(*args)
        assert r.returncode == 1 and r.stderr.count("\n") == 1 and "Sign in first" in r.stderr, (args, r.stderr)
        assert r.stdout == ""
    assert station("public", "W01").returncode == 0
    assert station("operator", "add", "admin", "--secret-stdin", stdin="admin-pass\n").returncode == 0
    r = station("--operator", "admin", "item", "show", "W01", secret="admin-pass")
    assert r.returncode == 0, r.stderr
    r = station("--operator", "admin", "item", "show", "W01", secret="wrong")
    assert r.returncode == 1 and r.stdout == ""
