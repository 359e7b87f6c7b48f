"""``libdesk borrowing …`` driven as a subprocess (SPEC section 1 and B): a full borrowing story
with ``--json`` from a new request to the lender's check-in, the checks and the report, and
the command-line contract on refusals (exit 1, one line on stderr, nothing changed) and usage
errors (exit 2).

Story: patron P0003 asks for a book; Yale rejects, Columbia sends a general message (dismissed)
and ships; the item is received at Widener, lent, returned at Langdell (Returned Item to
Patron), scanned in at Widener (Returned Item to Partner) and checked in by Columbia.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

LIBDESK = [sys.executable, "-m", "libdesk.cli"]


def run(db: Path, home: Path, when: str, *args: str, operator: str = "rs") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIBDESK_")}
    env["LIBDESK_HOME"] = str(home)
    env["LIBDESK_FROZEN_TIME"] = when
    return subprocess.run([*LIBDESK, "--db", str(db), "--operator", operator, *args], env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def ok(db: Path, home: Path, when: str, *args: str, operator: str = "rs") -> dict[str, Any]:
    proc = run(db, home, when, *args, "--json", operator=operator)
    assert proc.returncode == 0, (args, proc.stderr)
    assert proc.stderr == ""
    return json.loads(proc.stdout)


def fingerprint(db: Path) -> str:
    digest = hashlib.sha256()
    con = sqlite3.connect(db)
    try:
        for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"):
            for row in con.execute(f'SELECT * FROM "{table}" ORDER BY 1'):
                digest.update(repr(row).encode())
    finally:
        con.close()
    return digest.hexdigest()


def test_borrowing_story_from_new_request_to_lender_checkin_with_json(tmp_path: Path) -> None:
    home, db = tmp_path / "home", tmp_path / "desk.db"
    init = run(db, home, "2026-03-02T09:00:00", "init", operator="admin")
    assert init.returncode == 0, init.stderr

    day = "2026-03-02T09:00:00"
    made = ok(db, home, day, "borrowing", "new", "--patron", "P0003", "--title", "Letters from the Levant",
              "--author", "Montagu", "--partners", "YALE,COLUMBIA", "--pickup", "WID-CIRC", "--note", "rush")
    b = made["borrowing"]
    i = str(b["id"])
    # Seed 004: the locate sends it to the first partner of the rota by itself.
    assert (b["status"], b["rota"], b["patron"]) == ("request_sent_to_partner", ["YALE", "COLUMBIA"], "P0003")
    assert b["current_partner"] == "YALE"
    assert ok(db, home, day, "borrowing", "tick")["steps"] == []
    rejected = ok(db, home, "2026-03-03T10:00:00", "borrowing", "partner-reject", i, "--reason", "missing")
    assert rejected["borrowing"]["status"] == "request_sent_to_partner"
    assert rejected["borrowing"]["current_partner"] == "COLUMBIA"
    ok(db, home, "2026-03-04T10:00:00", "borrowing", "partner-message", i, "Spine", "fragile:", "read", "in", "library?")

    shown = ok(db, home, "2026-03-04T11:00:00", "borrowing", "show", i)
    assert {"id", "status", "patron", "rota", "current_partner", "messages", "item_barcode"} <= set(shown)
    message = next(m for m in shown["messages"] if m["kind"] == "message")
    assert (message["partner"], message["text"], message["active"]) == \
        ("COLUMBIA", "Spine fragile: read in library?", True)

    listed = ok(db, home, "2026-03-04T11:00:00", "borrowing", "list", "--with-messages")
    assert [r["id"] for r in listed["requests"]] == [b["id"]] and listed["with_messages"] is True

    daily = ok(db, home, "2026-03-04T11:00:00", "borrowing", "check", "daily")
    sections = {s["key"]: s for s in daily["sections"]}
    assert daily["task_count"] == 1 and sections["active_messages"]["count"] == 1
    assert sections["active_notes"]["rows"][0]["text"] == "rush"

    ok(db, home, "2026-03-04T11:05:00", "borrowing", "dismiss", i, str(message["id"]))
    assert ok(db, home, "2026-03-04T11:05:00", "borrowing", "list", "--with-messages")["requests"] == []
    shipped = ok(db, home, "2026-03-05T09:00:00", "borrowing", "partner-ship", i, "--barcode", "CU-1001")
    assert shipped["borrowing"]["status"] == "shipped_physically"

    got = ok(db, home, "2026-03-07T09:00:00", "borrowing", "receive", i, "--at", "WID-CIRC", operator="circ")
    assert (got["barcode"], got["destination"], got["next_step"]) == ("CU-1001", "WID-CIRC", "hold_shelf")
    assert got["item"]["process_type"] == "resource_sharing" and got["item"]["hold_shelf"] == "WID-CIRC"

    lent = ok(db, home, "2026-03-08T09:00:00", "borrowing", "loan", i, operator="circ")
    assert lent["item"]["loan"] == {"patron": "P0003", "due": "2026-04-05"}
    assert lent["borrowing"]["status"] == "loaned_to_patron"

    back = ok(db, home, "2026-03-20T09:00:00", "borrowing", "return", i, "--at", "LAW-CIRC", operator="circ")
    assert (back["destination"], back["borrowing"]["status"]) == ("WID-CIRC", "returned_to_patron")

    scanned = ok(db, home, "2026-03-21T09:00:00", "scan", "CU-1001", "--at", "WID-CIRC", operator="circ")
    assert scanned["destination"] == "partner:COLUMBIA"
    assert (scanned["item"]["process_type"], scanned["item"]["transit_to"]) == ("transit", "partner:COLUMBIA")

    # a refused transition: exit 1, one line on stderr, the error as JSON on stdout, nothing changed
    before = fingerprint(db)
    refused = run(db, home, "2026-03-21T09:00:00", "borrowing", "send", i, "--json")
    assert refused.returncode == 1 and json.loads(refused.stdout)["kind"] == "wrong_state"
    assert refused.stderr.count("\n") == 1 and "Returned Item to Partner: cannot send" in refused.stderr
    assert "allowed from here: partner-checkin" in refused.stderr
    no_role = run(db, home, "2026-03-21T09:00:00", "borrowing", "partner-checkin", i, operator="circ")
    assert no_role.returncode == 1 and "role 'borrowing'" in no_role.stderr
    usage = run(db, home, "2026-03-21T09:00:00", "borrowing", "cancel", i, "--by", "lender")
    assert usage.returncode == 2
    assert fingerprint(db) == before

    done = ok(db, home, "2026-03-25T09:00:00", "borrowing", "partner-checkin", i)["borrowing"]
    assert (done["status_name"], done["current_partner"], done["item_barcode"], done["item"], done["item_removed"]) \
        == ("Request Completed", "COLUMBIA", "CU-1001", None, True)

    trail = ok(db, home, "2026-03-25T09:00:00", "borrowing", "history", i)["events"]
    steps = [(e["action"], e["operator"]) for e in trail]
    for step in [("borrowing_created", "rs"), ("sent", "rs"), ("partner_rejected", "rs"), ("partner_message", "rs"),
                 ("message_dismissed", "rs"), ("partner_shipped", "rs"), ("received", "circ"), ("loan", "circ"),
                 ("returned_to_patron", "circ"), ("returned_to_partner", "circ"), ("partner_checked_in", "rs")]:
        assert step in steps
    assert next(e for e in trail if e["action"] == "partner_shipped")["message"].startswith(
        "Partner Columbia University Libraries (COLUMBIA)")

    listed = ok(db, home, "2026-03-25T09:00:00", "borrowing", "list", "--status", "Request Completed")
    assert [r["id"] for r in listed["requests"]] == [b["id"]]

    out = tmp_path / "stuck.csv"
    report = ok(db, home, "2026-03-25T09:00:00", "borrowing", "report", "-o", str(out))
    assert report["total"] == 0 and report["export"]["rows"] == 0
    with open(out, encoding="utf-8", newline="") as fh:
        assert next(csv.reader(fh))[:3] == ["Process type", "Request", "Patron"]


def test_borrowing_human_output_and_help(tmp_path: Path) -> None:
    home, db = tmp_path / "home", tmp_path / "desk.db"
    assert run(db, home, "2026-03-02T09:00:00", "init", operator="admin").returncode == 0
    made = run(db, home, "2026-03-02T09:00:00", "borrowing", "new", "--patron", "P0001", "--title", "T",
               "--pickup", "WID-CIRC", "--partners", "")
    assert made.returncode == 0 and "Cancelled by Staff" in made.stdout and "notified" in made.stdout
    shown = run(db, home, "2026-03-02T09:00:00", "borrowing", "show", "1")
    assert shown.returncode == 0 and shown.stdout.startswith("Borrowing request 1 — Cancelled by Staff")
    helped = run(db, home, "2026-03-02T09:00:00", "borrowing", "--help")
    assert helped.returncode == 0
    for name in ("new", "partner-ship", "partner-checkin", "check", "report", "dismiss", "complete"):
        assert name in helped.stdout


def test_a_rota_passing_to_a_partner_taking_requests_by_hand_says_so_and_waits(tmp_path: Path) -> None:
    """Yale rejects; Brown, next, takes requests by e-mail: the rejection's line says so, the
    request waits in Ready to be Sent for Brown, and ``send`` sends it to Brown."""
    home, db = tmp_path / "home", tmp_path / "desk.db"
    day = "2026-03-02T09:00:00"
    assert run(db, home, day, "init", operator="admin").returncode == 0
    i = str(ok(db, home, day, "borrowing", "new", "--patron", "P0003", "--title", "Rare", "--pickup", "WID-CIRC",
               "--partners", "YALE,BROWN")["borrowing"]["id"])
    rejected = run(db, home, day, "borrowing", "partner-reject", i)
    assert rejected.returncode == 0 and "takes requests by hand" in rejected.stdout and "e-mail" in rejected.stdout
    shown = run(db, home, day, "borrowing", "show", i)
    assert "Ready to be Sent" in shown.stdout and "(to be sent to BROWN)" in shown.stdout
    sent = ok(db, home, day, "borrowing", "send", i)["borrowing"]
    assert (sent["status"], sent["current_partner"]) == ("request_sent_to_partner", "BROWN")
