"""Desk tasks of issue 12 item 6: in-house use, renewals and the requested-item override.
Each is one engine call with its history event naming the operator."""

from __future__ import annotations

import pytest

from libdesk import circulation, queries, requests, scan
from libdesk.errors import NotPermitted, WrongState
from tests.conftest import db_fingerprint


def state(db, barcode):
    item = queries.item_show(db, barcode)
    return {k: item[k] for k in ("process_type", "transit_to", "hold_shelf", "department", "status", "loan")}


def test_in_house_use_counts_a_use_and_changes_nothing_else(db):
    before = state(db, "W05")
    first = circulation.register_in_house_use(db, "W05", at="WID-CIRC", operator="circ")
    second = circulation.register_in_house_use(db, "W05", at="WID-CIRC", operator="circ")
    assert (first.next_step, first.extra["in_house_uses"], second.extra["in_house_uses"]) == ("in_house_use", 1, 2)
    assert "Nothing else changed" in second.message
    assert state(db, "W05") == before
    uses = [e for e in queries.item_history(db, "W05") if e["action"] == "in_house_use"]
    assert [(e["operator"], e["place"]) for e in uses] == [("circ", "WID-CIRC")] * 2


def test_in_house_use_leaves_requests_and_processes_alone(db):
    requests.place_request(db, "W06", "P0001", "WID-CIRC", operator="circ")
    queue = queries.item_show(db, "W06")["requests"]
    result = circulation.register_in_house_use(db, "W06", at="WID-CIRC", operator="circ")
    assert "A request waits for it" in result.message
    assert queries.item_show(db, "W06")["requests"] == queue
    scan.scan_in(db, "W07", at="CCWID", operator="cc", status="Repair")
    before = state(db, "W07")
    circulation.register_in_house_use(db, "W07", at="WID-CIRC", operator="admin")
    assert state(db, "W07") == before


def test_in_house_use_is_refused_for_a_loan_an_acquisition_and_away_from_a_desk(db):
    circulation.loan(db, "W08", "P0001", at="WID-CIRC", operator="circ")
    before = db_fingerprint(db)
    with pytest.raises(WrongState, match="on loan to P0001"):
        circulation.register_in_house_use(db, "W08", at="WID-CIRC", operator="circ")
    with pytest.raises(WrongState, match="not been received"):
        circulation.register_in_house_use(db, "A01", at="WID-CIRC", operator="circ")
    with pytest.raises(NotPermitted):
        circulation.register_in_house_use(db, "W09", at="CCWID", operator="cc")
    assert db_fingerprint(db) == before
