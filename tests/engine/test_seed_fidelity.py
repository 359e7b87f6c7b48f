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
