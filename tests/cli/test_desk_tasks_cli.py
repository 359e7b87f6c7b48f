"""The desk tasks of issue 12 item 6 through the ``libdesk`` command line, as a subprocess:
the hold shelf with since/until and ``holdshelf clear``; each command with ``--json``, a
refusal is one line on stderr, exit 1, nothing changed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_borrowing_cli import fingerprint

LIBDESK = [sys.executable, "-m", "libdesk.cli"]
DAY = "2026-03-02T09:00:00"
ITEMS_CSV = """\
barcode,title,author,call_number,material_type,library,location,process_type
WID-0001,A Widener Book,Author B,QA 200 .B2,BOOK,WID,WID-STACKS,
WID-0002,Another Widener Book,Author C,QA 300 .C3,BOOK,WID,WID-STACKS,
LAW-0001,A Law Book,Author D,KF 100 .D4,BOOK,LAW,LAW-STACKS,
"""


def run(db: Path, when: str, *args: str, operator: str = "circ") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIBDESK_")}
    env["LIBDESK_HOME"] = str(db.parent / "home")
    env["LIBDESK_FROZEN_TIME"] = when
    return subprocess.run([*LIBDESK, "--db", str(db), "--operator", operator, *args], env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def ok(db: Path, when: str, *args: str, operator: str = "circ") -> dict[str, Any]:
    proc = run(db, when, *args, "--json", operator=operator)
    assert proc.returncode == 0, (args, proc.stderr)
    return json.loads(proc.stdout)


def refused(db: Path, when: str, *args: str, match: str, operator: str = "circ") -> None:
    before = fingerprint(db)
    proc = run(db, when, *args, operator=operator)
    assert proc.returncode == 1, (args, proc.stdout, proc.stderr)
    assert proc.stderr.count("\n") == 1 and match in proc.stderr and "Traceback" not in proc.stderr
    assert fingerprint(db) == before


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("desk-tasks")
    db = folder / "desk.db"
    (folder / "items.csv").write_text(ITEMS_CSV, encoding="utf-8")
    for args in (["init"], ["import", "items", str(folder / "items.csv")]):
        proc = run(db, DAY, *args, operator="admin")
        assert proc.returncode == 0, proc.stderr
    return db


@pytest.fixture
def db(template: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "desk.db"
    copy.write_bytes(template.read_bytes())
    return copy


def test_holdshelf_lists_since_and_until_and_clear_takes_an_expired_item_off(db: Path) -> None:
    ok(db, DAY, "request", "place", "WID-0001", "--patron", "P0001", "--pickup", "WID-CIRC")
    assert ok(db, DAY, "scan", "WID-0001", "--at", "WID-CIRC")["next_step"] == "hold_shelf"
    (row,) = ok(db, DAY, "holdshelf", "--at", "WID-CIRC")["items"]
    assert (row["barcode"], row["patron"], row["since"], row["until"], row["expired"]) == (
        "WID-0001", "P0001", DAY, "2026-03-09", False)
    human = run(db, DAY, "holdshelf", "--at", "WID-CIRC")
    assert "P0001" in human.stdout and "2026-03-02 → 2026-03-09" in human.stdout
    refused(db, "2026-03-09T17:00:00", "holdshelf", "clear", "WID-0001", "--at", "WID-CIRC",
            match="waits for patron P0001 until 2026-03-09")
    later = "2026-03-10T09:00:00"
    (row,) = ok(db, later, "holdshelf", "--at", "WID-CIRC")["items"]
    assert (row["expired"], row["clear"]) == (True, "reshelve")
    assert "EXPIRED: Reshelve" in run(db, later, "holdshelf", "--at", "WID-CIRC").stdout
    cleared = ok(db, later, "holdshelf", "clear", "WID-0001", "--at", "WID-CIRC")
    assert cleared["next_step"] == "reshelve" and "not picked up by 2026-03-09" in cleared["message"]
    assert ok(db, later, "holdshelf", "--at", "WID-CIRC")["items"] == []
    history = ok(db, later, "item", "history", "WID-0001")
    events = history["events"] if isinstance(history, dict) else history
    assert any(e["action"] == "hold_shelf_expired" and e["operator"] == "circ" for e in events)


def test_holdshelf_at_before_clear_is_kept(db: Path) -> None:
    """`holdshelf --at DESK clear B`: the desk given before the subcommand counts (the
    subcommand's own --at must not overwrite it with nothing)."""
    refused(db, DAY, "holdshelf", "--at", "WID-CIRC", "clear", "WID-0002", match="not on the hold shelf")


def test_holdshelf_clear_of_an_item_not_on_the_shelf_is_refused(db: Path) -> None:
    refused(db, DAY, "holdshelf", "clear", "WID-0002", "--at", "WID-CIRC", match="not on the hold shelf")
    refused(db, DAY, "holdshelf", "clear", "NOPE", "--at", "WID-CIRC", match="No item with barcode")


def test_inhouse_counts_a_use_with_json_and_refuses_a_loan(db: Path) -> None:
    first = ok(db, DAY, "inhouse", "WID-0002", "--at", "WID-CIRC")
    assert (first["next_step"], first["in_house_uses"]) == ("in_house_use", 1)
    human = run(db, DAY, "inhouse", "WID-0002", "--at", "WID-CIRC")
    assert human.returncode == 0 and "2 in-house uses so far" in human.stdout
    assert ok(db, DAY, "item", "show", "WID-0002")["process_type"] is None
    ok(db, DAY, "loan", "WID-0001", "--patron", "P0001", "--at", "WID-CIRC")
    refused(db, DAY, "inhouse", "WID-0001", "--at", "WID-CIRC", match="on loan to P0001")
    refused(db, DAY, "inhouse", "WID-0002", "--at", "CCWID", match="", operator="admin")


def test_renew_with_json_and_its_refusals(db: Path) -> None:
    ok(db, DAY, "loan", "WID-0001", "--patron", "P0001", "--at", "WID-CIRC")
    renewed = ok(db, "2026-03-20T10:00:00", "renew", "WID-0001", "--at", "WID-CIRC")
    assert (renewed["renewals"], renewed["item"]["loan"]["due"]) == (1, "2026-04-17")
    refused(db, DAY, "renew", "WID-0002", "--at", "WID-CIRC", match="not on loan")
    ok(db, DAY, "request", "place", "WID-0001", "--patron", "P0002", "--pickup", "WID-CIRC")
    refused(db, DAY, "renew", "WID-0001", "--at", "WID-CIRC", match="patron P0002 requested it")


def test_lending_a_requested_item_needs_override_which_is_logged(db: Path) -> None:
    req = ok(db, DAY, "request", "place", "WID-0002", "--patron", "P0001", "--pickup", "WID-CIRC")["request"]["id"]
    refused(db, DAY, "loan", "WID-0002", "--patron", "P0002", "--at", "WID-CIRC", match="override")
    lent = ok(db, DAY, "loan", "WID-0002", "--patron", "P0002", "--at", "WID-CIRC", "--override")
    assert lent["override"] == req and "OVERRIDE" in lent["message"]
    history = ok(db, DAY, "item", "history", "WID-0002")
    events = history["events"] if isinstance(history, dict) else history
    assert [e["operator"] for e in events if e["action"] == "loan_override"] == ["circ"]


def test_slip_of_an_item_in_transit_or_on_the_hold_shelf_is_shown_or_saved(db: Path) -> None:
    ok(db, DAY, "request", "place", "WID-0001", "--patron", "P0001", "--pickup", "LAW-CIRC")
    ok(db, DAY, "scan", "WID-0001", "--at", "WID-CIRC")
    shown = ok(db, DAY, "slip", "WID-0001")
    assert shown["slip"].startswith("IN TRANSIT TO") and "For patron  P0001" in shown["slip"]
    saved = db.parent / "slip.txt"
    done = ok(db, DAY, "slip", "WID-0001", "-o", str(saved))
    assert done["printed"] == f"saved to {saved}" and saved.read_text(encoding="utf-8") == shown["slip"]
    refused(db, DAY, "slip", "WID-0002", match="no transit or hold slip")
