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
    assert "Technical Services at ITS@625" in slip and "2 requests waiting" in slip


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


# -- transit and hold slips (issue 12 item 6) --------------------------------------------------------

def test_transit_slip_names_the_destination_big_and_the_request(db):
    from libdesk import circulation

    req = requests.place_request(db, "W04", "P0002", "LAW-CIRC", operator="circ").extra["request"]["id"]
    assert scan.scan_in(db, "W04", at="WID-CIRC", operator="circ").next_step == "transit"
    slip = slips.routing_slip(db, "W04")
    assert slip.startswith("IN TRANSIT TO\n")
    assert "L A N G D E L L" in slip and "(LAW-CIRC)" in slip
    assert f"For patron  P0002 (request {req})" in slip and "Barcode     W04" in slip and "Title of W04" in slip
    assert slips.slip_for(db, "W04") == slip
    circulation.loan(db, "W05", "P0001", at="WID-CIRC", operator="circ")
    circulation.return_item(db, "W05", at="LAW-CIRC", operator="circ")  # home, in transit
    assert "Going home" in slips.routing_slip(db, "W05")


def test_hold_slip_names_the_patron_big_and_the_pickup_expiry(db):
    requests.place_request(db, "W06", "P0003", "WID-CIRC", operator="circ")
    scan.scan_in(db, "W06", at="WID-CIRC", operator="circ")
    slip = slips.routing_slip(db, "W06")
    assert slip.startswith("HOLD SHELF\n") and "P A T R O N   P 0 0 0 3" in slip
    assert "at Widener Circulation Desk" in slip and "Pick up by  2026-03-09" in slip


def test_a_long_destination_is_wrapped_inside_the_frame(db):
    lines = slips._big("Preservation (Collections Care) at the Widener Library")
    assert all(len(line) == slips.WIDTH for line in lines)


def test_no_transit_or_hold_slip_for_an_item_in_place(db):
    with pytest.raises(WrongState, match="neither in transit nor on a hold shelf"):
        slips.routing_slip(db, "W07")
    with pytest.raises(WrongState):
        slips.slip_for(db, "W07")
