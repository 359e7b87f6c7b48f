"""The workstation's sticky settings from the shell (S1): remembered per department, and
never left pointing at a place the operator may not use."""

from __future__ import annotations

import json

from libdesk import cli
from libdesk.config import load_settings
from tests.conftest import make_db


def run(capsys, *args):
    code = cli.main(["--json", *args])
    out = capsys.readouterr().out
    return code, (json.loads(out) if out.strip() else None)


def test_status_is_remembered_per_department(tmp_path, inst, capsys):
    db = str(tmp_path / "desk.db")
    make_db(tmp_path / "desk.db", inst).close()
    assert run(capsys, "--db", db, "settings", "--at", "CCWID", "--status", "Pocket")[1]["status"] == "Pocket"
    assert run(capsys, "--db", db, "settings", "--at", "WID-CIRC")[1]["status"] is None
    assert run(capsys, "--db", db, "settings", "--at", "ITS625")[1]["status"] is None
    assert run(capsys, "--db", db, "settings", "--at", "CCWID")[1]["status"] == "Pocket"
    code, data = run(capsys, "--db", db, "scan", "W01")
    assert code == 0 and data["item"]["status"] == "Pocket"


def test_switching_operator_clears_a_place_they_may_not_use(tmp_path, inst, capsys):
    db = str(tmp_path / "desk.db")
    make_db(tmp_path / "desk.db", inst).close()
    run(capsys, "--db", db, "settings", "--at", "CCWID", "--status", "Repair")
    code, data = run(capsys, "--db", db, "settings", "--set-operator", "circ")
    assert code == 0 and data["currently_at"] is None and data["notes"]
    assert load_settings().operator == "circ"
    # --operator for one command checks that operator's places, not the saved one's.
    code, data = run(capsys, "--db", db, "--operator", "cc", "settings", "--at", "CCWID")
    assert code == 0 and data["currently_at"] == "CCWID"


def test_json_errors_are_data_too(tmp_path, inst, capsys):
    db = str(tmp_path / "desk.db")
    make_db(tmp_path / "desk.db", inst).close()
    code = cli.main(["--db", db, "--json", "scan", "NOPE", "--at", "CCWID"])
    captured = capsys.readouterr()
    assert code == 1 and json.loads(captured.out) == {"error": "No item with barcode 'NOPE'", "kind": "not_found"}
    assert captured.err.strip() == "libdesk: No item with barcode 'NOPE'"
