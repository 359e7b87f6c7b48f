"""Desk stories from the seed procedures (issue 13), one test per story, named after its rule
(the seeds in ../shared/seeds/ are the authority where SPEC.md is silent)."""

from __future__ import annotations

from libdesk import circulation, queries, requests, scan, workorders


def show(db, barcode):
    return queries.item_show(db, barcode)


def test_W8_an_item_taken_over_by_another_department_names_where_it_was_sent(db):
    """Sent to ITS@625, it arrives at Judaica (the same type): Judaica takes it over, and the
    message names the department the request named, not Judaica itself."""
    scan.scan_in(db, "W13", at="CCWID", operator="cc", status="Repair")
    workorders.place_work_order(db, "W13", "TS", "ITS625", operator="cc", note="then catalog")
    scan.scan_in(db, "W13", at="CCWID", operator="cc", done=True)
    assert show(db, "W13")["transit_to"] == "ITS625"
    result = scan.scan_in(db, "W13", at="JUD", operator="jud", status="Cataloging")
    its = db.institution.place("ITS625").name
    assert f"arrived here instead of {its}" in result.message
    item = show(db, "W13")
    assert item["department"] == "JUD" and item["requests"][0]["department"] == "JUD"
    moved = [e for e in queries.item_history(db, "W13") if e["action"] == "request_transferred"]
    assert moved and "instead of ITS625" in moved[-1]["message"]


def _received_borrowed(db, patron="P0002"):
    from libdesk import borrowing as rs

    i = rs.new_request(db, patron, "Borrowed Book", pickup="WID-CIRC", operator="rs").extra["borrowing"]["id"]
    if rs.show(db, i)["status"] == rs.READY_TO_BE_SENT:
        rs.send(db, i, operator="rs")
    rs.partner_ship(db, i, operator="rs", barcode="LEND77")
    rs.receive(db, i, at="WID-CIRC", operator="circ")
    return i


def test_B4_the_hold_shelf_lists_borrowed_items_waiting_for_their_patron(db):
    """Seed 004: the borrowed item waits on the pickup desk's hold shelf like any request's."""
    from libdesk import borrowing as rs

    requests.place_request(db, "W02", "P0001", "WID-CIRC", operator="circ")
    scan.scan_in(db, "W02", at="WID-CIRC", operator="circ")  # picked, now on the hold shelf
    i = _received_borrowed(db)
    shelf = circulation.hold_shelf(db, "WID-CIRC")
    assert [(r["barcode"], r["patron"], r["cancelled"]) for r in shelf] == [
        ("W02", "P0001", False), ("LEND77", "P0002", False)]
    borrowed = shelf[1]
    assert borrowed["borrowing_id"] == i and "Yale" in borrowed["borrowed_from"]
    assert circulation.hold_shelf(db, "LAW-CIRC") == []
    rs.cancel(db, i, by="patron", operator="rs")  # the patron no longer wants it: take it off
    assert [(r["barcode"], r["cancelled"]) for r in circulation.hold_shelf(db, "WID-CIRC")] == [
        ("W02", False), ("LEND77", True)]
    circulation.loan(db, "W02", "P0001", at="WID-CIRC", operator="circ")
    assert [r["barcode"] for r in circulation.hold_shelf(db, "WID-CIRC")] == ["LEND77"]


def test_L3_the_audit_trail_shows_when_the_item_entered_and_left_each_status(db):
    """Seed 000: from the Monitor's Audit Trail "you can see when it entered or left a
    particular status" while the request was active; nothing from before or after it."""
    scan.scan_in(db, "W20", at="CCWID", operator="cc", status="Repair")  # before the request
    wo = workorders.place_work_order(db, "W20", "TS", "ITS625", operator="cc").extra["request"]["id"]
    scan.scan_in(db, "W20", at="CCWID", operator="cc", done=True)           # leaves Collections Care
    scan.scan_in(db, "W20", at="ITS625", operator="its", status="Cataloging")  # enters Cataloging
    scan.scan_in(db, "W20", at="ITS625", operator="its", status="Processing")  # Cataloging → Processing
    scan.scan_in(db, "W20", at="ITS625", operator="its", done=True)            # request completed
    scan.scan_in(db, "W20", at="WID-CIRC", operator="circ")                    # after it: not shown
    trail = requests.audit_trail(db, wo)
    item_moves = [(e["action"], e["operator"]) for e in trail if e["on"] == "item"]
    assert item_moves and all(op in ("cc", "its") for _, op in item_moves)
    moves = [((e["before"] or {}).get("status"), (e["after"] or {}).get("status")) for e in trail if e["on"] == "item"]
    assert ("Cataloging", "Processing") in moves, moves  # left Cataloging, entered Processing
    assert trail[0]["action"] == "request_placed" and trail[0]["on"] == "request"
    assert [e["id"] for e in trail] == sorted(e["id"] for e in trail)
    assert not any(e["place"] == "WID-CIRC" for e in trail)
    assert trail[-1]["on"] == "request"
