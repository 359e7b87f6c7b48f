"""Work-order slips (Manage In Process Items' row action Print slip)."""

from __future__ import annotations

import pytest

from libdesk import requests, scan, slips, workorders
from libdesk.errors import ConfigError, WrongState


def test_slip_names_work_order_and_where_it_goes_when_done(db):
    scan.scan_in(db, "W01", at="CCWID", operator="cc", status="Repair")
    assert "home: Widener Circulation Desk" in slips.work_order_slip(db, "W01")
    workorders.place_work_order(db, "W01", "TS", "ITS625", operator="cc", note="recatalog")
    requests.place_request(db, "W01", "P0002", "LAW-CIRC", operator="circ")
    slip = slips.work_order_slip(db, "W01")
    assert "PRESERVATION (COLLECTIONS CARE) WORK ORDER" in slip and "Repair" in slip
    assert "Technical Services at ITS@625" in slip and "2 request(s) waiting" in slip


def test_slip_of_an_item_not_in_process_is_refused(db):
    with pytest.raises(WrongState, match="not in a work order"):
        slips.work_order_slip(db, "W02")


def test_slip_without_printer_is_saved_and_bad_path_is_clear(db, tmp_path, monkeypatch):
    monkeypatch.setattr(slips.shutil, "which", lambda name: None)
    scan.scan_in(db, "W03", at="CCWID", operator="cc", status="Pocket")
    text = slips.work_order_slip(db, "W03")
    where = slips.print_slip(text, "W03")
    assert where.startswith("saved to ") and where.endswith(".txt")
    (tmp_path / "plain").write_text("x")
    with pytest.raises(ConfigError, match="cannot save the slip"):
        slips.print_slip(text, "W03", to_file=tmp_path / "plain" / "slip.txt")
