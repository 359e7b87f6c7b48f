"""What an experienced desk worker expects where the SPEC is silent (README "Behaviour"):
no stale pick-list entries, no bouncing items, honest messages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from libdesk import circulation, clock, queries, requests, scan, workorders
from libdesk.errors import NotPermitted, WrongState
from libdesk.models import Notice
from tests.conftest import FROZEN


def steps(db, barcode):
    return [r["step"] for r in queries.item_show(db, barcode)["requests"]]


def picked(db, library="WID"):
    return [p["barcode"] for p in circulation.picklist(db, library)["pick_from_shelf"]]


@pytest.mark.parametrize("take_off_shelf", [
    lambda db: scan.scan_in(db, "W01", at="CCWID", operator="cc", status="Repair"),
    lambda db: workorders.edit_item(db, "W01", "PRES", "CCWID", operator="admin"),
    lambda db: circulation.mark_missing(db, "W01", operator="admin"),
    lambda db: circulation.loan(db, "W01", "P0001", at="WID-CIRC", operator="circ"),
])
def test_item_leaving_the_shelf_leaves_the_pick_list(db, take_off_shelf):
    requests.place_request(db, "W01", "P0001", "WID-CIRC", operator="circ")
    assert picked(db) == ["W01"]
    take_off_shelf(db)
    assert picked(db) == []
    assert "pickup_from_shelf" not in steps(db, "W01")


def test_cancel_puts_the_next_request_on_the_pick_list(db):
    first = requests.place_request(db, "W14", "P0001", "WID-CIRC", operator="circ").extra["request"]["id"]
    requests.place_request(db, "W14", "P0002", "LAW-CIRC", operator="circ")
    assert steps(db, "W14") == ["pickup_from_shelf", "waiting"]
    requests.cancel(db, first, operator="circ")
    assert steps(db, "W14") == ["pickup_from_shelf"] and picked(db) == ["W14"]


def test_return_goes_straight_to_the_first_request(db):
    circulation.loan(db, "W02", "P0001", at="WID-CIRC", operator="circ")
    workorders.place_work_order(db, "W02", "PRES", "CCWID", operator="admin")  # waits: loaned
    assert picked(db) == []
    requests.place_request(db, "W02", "P0003", "LAW-CIRC", operator="circ")
    result = circulation.return_item(db, "W02", at="WID-CIRC", operator="circ")
    assert result.destination == "CCWID"  # the work order came first: straight to it, not to the shelf


def test_patron_request_cancelled_in_transit_is_routed_from_where_it_is_scanned(db):
    req = requests.place_request(db, "W03", "P0001", "LAW-CIRC", operator="circ").extra["request"]["id"]
    scan.scan_in(db, "W03", at="WID-CIRC", operator="circ")  # picked, in transit to LAW-CIRC
    with pytest.raises(WrongState, match="confirm") as info:
        requests.cancel(db, req, operator="circ")
    assert "Done" not in str(info.value)  # a desk has no Done
    requests.cancel(db, req, operator="circ", confirm=True)
    result = scan.scan_in(db, "W03", at="WID-CIRC", operator="circ")
    assert result.next_step == "reshelve"  # not sent on to Langdell to come back again


def test_item_arriving_at_another_department_of_the_type_keeps_its_request(db):
    workorders.place_work_order(db, "W04", "TS", "ITS625", operator="its", in_hand=True)
    result = scan.scan_in(db, "W04", at="JUD", operator="jud", status="Cataloging")
    assert "instead of" in result.message
    item = queries.item_show(db, "W04")
    assert item["department"] == "JUD" and len(item["requests"]) == 1
    assert item["requests"][0]["department"] == "JUD"
    result = scan.scan_in(db, "W04", at="JUD", operator="jud", done=True)
    assert result.destination == "WID-CIRC"  # home, not on to ITS@625 for a second work order


def test_in_hand_work_order_behind_a_request_sends_the_item_to_that_request(db):
    requests.place_request(db, "W05", "P0001", "LAW-CIRC", operator="circ")
    result = workorders.place_work_order(db, "W05", "PRES", "CCWID", operator="circ", in_hand=True, at="WID-CIRC")
    assert result.destination == "LAW-CIRC" and "place 2" in result.message
    assert queries.item_show(db, "W05")["transit_to"] == "LAW-CIRC" and picked(db) == []


def test_physical_item_editor_needs_the_department_and_sets_expiry(db):
    with pytest.raises(NotPermitted):
        workorders.edit_item(db, "W06", "TS", "ITS625", operator="circ")
    workorders.edit_item(db, "W06", "TS", "ITS625", operator="its")
    req = queries.item_show(db, "W06")["requests"][0]
    assert req["expiry"] == (FROZEN.date() + timedelta(days=14)).isoformat()
    with pytest.raises(NotPermitted):  # JUD staff cannot take it from ITS625
        workorders.edit_item(db, "W06", "TS", "JUD", operator="jud")


def test_transfer_restarts_days_in_department(db):
    scan.scan_in(db, "W07", at="ITS625", operator="its", status="Cataloging")
    clock.freeze(FROZEN + timedelta(days=10))
    scan.scan_in(db, "W07", at="JUD", operator="jud")
    req = queries.item_show(db, "W07")["requests"][0]
    assert req["expiry"] == (FROZEN.date() + timedelta(days=24)).isoformat()


def test_hold_shelf_after_cancel_is_flagged_and_not_lent(db):
    req = requests.place_request(db, "W08", "P0001", "WID-CIRC", operator="circ").extra["request"]["id"]
    scan.scan_in(db, "W08", at="WID-CIRC", operator="circ")
    requests.cancel(db, req, operator="circ")
    (row,) = circulation.hold_shelf(db, "WID-CIRC")
    assert row["barcode"] == "W08" and row["cancelled"] is True
    with pytest.raises(WrongState, match="scan it in first"):
        circulation.loan(db, "W08", "P0002", at="WID-CIRC", operator="circ")
    assert scan.scan_in(db, "W08", at="WID-CIRC", operator="circ").next_step == "reshelve"


def test_second_activation_reports_its_real_place(db):
    circulation.loan(db, "W09", "P0001", at="WID-CIRC", operator="circ")
    a = requests.place_request(db, "W09", "P0002", "WID-CIRC", operator="circ").extra["request"]["id"]
    b = requests.place_request(db, "W09", "P0003", "WID-CIRC", operator="circ").extra["request"]["id"]
    assert "first in the queue" in requests.activate(db, a, operator="admin").message
    assert "place 2" in requests.activate(db, b, operator="admin").message


def test_hold_withdrawn_by_a_department_scan_is_said_and_noticed(db):
    requests.place_request(db, "W10", "P0004", "WID-CIRC", operator="circ")
    scan.scan_in(db, "W10", at="WID-CIRC", operator="circ")  # on the hold shelf
    result = scan.scan_in(db, "W10", at="CCWID", operator="cc", status="Repair")
    assert "P0004" in result.message and "withdrawn" in result.message
    assert steps(db, "W10") == ["waiting", "in_process"] or steps(db, "W10") == ["in_process", "waiting"]
    with db.read() as conn:
        kinds = [n.kind for n in conn.execute(select(Notice.__table__).where(Notice.__table__.c.patron == "P0004"))]
    assert "hold_withdrawn" in kinds


def test_pseudopatron_loan_is_not_recalled_and_recall_is_not_repeated(db):
    from libdesk.core import action
    from libdesk.routing import NO_PROCESS

    with action(db, "admin") as ctx:
        item = ctx.item("W11")
        ctx.update_item(item, "migrated_loan", **{**NO_PROCESS, "process_type": "loan", "loan_patron": "PSEUDO-TS"})
    requests.place_request(db, "W11", "P0001", "WID-CIRC", operator="circ")
    assert queries.item_show(db, "W11")["loan"]["due"] is None
    circulation.loan(db, "W12", "P0001", at="WID-CIRC", operator="circ")
    requests.place_request(db, "W12", "P0002", "WID-CIRC", operator="circ")
    requests.place_request(db, "W12", "P0003", "WID-CIRC", operator="circ")
    with db.read() as conn:
        recalls = conn.execute(select(Notice.__table__).where(Notice.__table__.c.kind == "recall")).all()
    assert [n.patron for n in recalls] == ["P0001"]


def test_return_of_work_order_item_names_the_department(db):
    scan.scan_in(db, "W13", at="ITS625", operator="its", status="Processing")
    with pytest.raises(WrongState, match="only ITS625 can mark it Done"):
        circulation.return_item(db, "W13", at="WID-CIRC", operator="circ")


def test_loan_of_item_arriving_at_this_desk_receives_it_first(db):
    req = requests.place_request(db, "L02", "P0005", "WID-CIRC", operator="circ")
    scan.scan_in(db, "L02", at="LAW-CIRC", operator="circ")  # in transit to WID-CIRC for P0005
    result = circulation.loan(db, "L02", "P0005", at="WID-CIRC", operator="circ")
    assert queries.item_show(db, "L02")["loan"]["patron"] == "P0005"
    assert req.extra["request"]["id"] not in [r["id"] for r in queries.item_show(db, "L02")["requests"]]
    assert result.next_step == "loan"


def test_pass_through_scan_leaves_a_trail(db):
    workorders.place_work_order(db, "L03", "PRES", "CCWID", operator="admin", in_hand=True)
    result = scan.scan_in(db, "L03", at="LAW-CIRC", operator="circ")
    assert "send it on" in result.message
    last = queries.item_history(db, "L03")[-1]
    assert last["action"] == "seen_in_transit" and last["place"] == "LAW-CIRC"
