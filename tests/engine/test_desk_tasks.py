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


# -- renewals ------------------------------------------------------------------------------------

def test_renew_moves_the_due_date_and_is_limited_per_loan(db):
    from datetime import timedelta

    from libdesk import clock
    from tests.conftest import FROZEN

    circulation.loan(db, "W10", "P0001", at="WID-CIRC", operator="circ")
    limit = db.institution.policy.max_renewals
    assert limit == 2
    for n in range(1, limit + 1):
        clock.freeze(FROZEN + timedelta(days=10 * n))
        result = circulation.renew(db, "W10", at="WID-CIRC", operator="circ")
        due = (FROZEN.date() + timedelta(days=10 * n + db.institution.policy.loan_days)).isoformat()
        assert result.extra["renewals"] == n and queries.item_show(db, "W10")["loan"]["due"] == due
    before = db_fingerprint(db)
    with pytest.raises(WrongState, match="renewed 2 times already"):
        circulation.renew(db, "W10", at="WID-CIRC", operator="circ")
    assert db_fingerprint(db) == before
    renewed = [e for e in queries.item_history(db, "W10") if e["action"] == "renewed"]
    assert len(renewed) == 2 and all(e["operator"] == "circ" for e in renewed)
    circulation.return_item(db, "W10", at="WID-CIRC", operator="circ")  # a new loan counts afresh
    circulation.loan(db, "W10", "P0002", at="WID-CIRC", operator="circ")
    assert circulation.renew(db, "W10", at="WID-CIRC", operator="circ").extra["renewals"] == 1


def test_renew_is_refused_while_a_request_waits_and_when_not_on_loan(db):
    circulation.loan(db, "W11", "P0001", at="WID-CIRC", operator="circ")
    requests.place_request(db, "W11", "P0002", "WID-CIRC", operator="circ")
    before = db_fingerprint(db)
    with pytest.raises(WrongState, match="patron P0002 requested it"):
        circulation.renew(db, "W11", at="WID-CIRC", operator="circ")
    with pytest.raises(WrongState, match="not on loan"):
        circulation.renew(db, "W12", at="WID-CIRC", operator="circ")
    with pytest.raises(NotPermitted):
        circulation.renew(db, "W11", at="CCWID", operator="admin")
    assert db_fingerprint(db) == before


# -- lending a requested item: refused unless overridden, and the override is logged ---------------

def test_lending_an_item_someone_else_requested_needs_an_override(db):
    req = requests.place_request(db, "W14", "P0001", "WID-CIRC", operator="circ").extra["request"]["id"]
    before = db_fingerprint(db)
    with pytest.raises(WrongState, match="requested by patron P0001.*override"):
        circulation.loan(db, "W14", "P0002", at="WID-CIRC", operator="circ")
    assert db_fingerprint(db) == before
    result = circulation.loan(db, "W14", "P0002", at="WID-CIRC", operator="circ", override=True)
    assert "OVERRIDE" in result.message and result.extra["override"] == req
    item = queries.item_show(db, "W14")
    assert item["loan"]["patron"] == "P0002"
    recall_due = queries.item_show(db, "W14")["loan"]["due"]
    from tests.conftest import FROZEN
    from datetime import timedelta
    assert recall_due == (FROZEN.date() + timedelta(days=db.institution.policy.recall_days)).isoformat()
    (waiting,) = item["requests"]
    assert waiting["id"] == req and waiting["active"]
    overrides = [e for e in queries.item_history(db, "W14") if e["action"] == "loan_override"]
    assert len(overrides) == 1 and overrides[0]["operator"] == "circ" and f"request {req}" in overrides[0]["message"]
    assert any(e["action"] == "loan_override" for e in requests.audit_trail(db, req))
    # Returned, it goes to the request that was passed over.
    assert circulation.return_item(db, "W14", at="WID-CIRC", operator="circ").next_step == "hold_shelf"


def test_an_item_on_the_hold_shelf_for_someone_else_is_lent_only_with_an_override(db):
    req = requests.place_request(db, "W15", "P0001", "WID-CIRC", operator="circ").extra["request"]["id"]
    scan.scan_in(db, "W15", at="WID-CIRC", operator="circ")
    with pytest.raises(WrongState, match="hold shelf for P0001"):
        circulation.loan(db, "W15", "P0002", at="WID-CIRC", operator="circ")
    circulation.loan(db, "W15", "P0002", at="WID-CIRC", operator="circ", override=True)
    item = queries.item_show(db, "W15")
    assert item["process_type"] == "loan" and item["requests"][0]["id"] == req
    assert item["requests"][0]["step"] not in ("on_hold_shelf",)
    assert circulation.hold_shelf(db, "WID-CIRC") == []


def test_an_override_on_the_hold_shelf_fills_the_borrowers_own_request_further_down(db):
    """P0002 is second in the queue of an item waiting on the shelf for P0001: lent to P0002 by
    override, P0002's request is filled (not left waiting to send the item back to the shelf for
    them at their return), and P0001's keeps waiting."""
    first = requests.place_request(db, "W15", "P0001", "WID-CIRC", operator="circ").extra["request"]["id"]
    second = requests.place_request(db, "W15", "P0002", "WID-CIRC", operator="circ").extra["request"]["id"]
    scan.scan_in(db, "W15", at="WID-CIRC", operator="circ")
    circulation.loan(db, "W15", "P0002", at="WID-CIRC", operator="circ", override=True)
    waiting = [r["id"] for r in queries.item_show(db, "W15")["requests"]]
    assert waiting == [first] and second not in waiting


def test_the_requesting_patron_needs_no_override(db):
    requests.place_request(db, "W16", "P0001", "WID-CIRC", operator="circ")
    result = circulation.loan(db, "W16", "P0001", at="WID-CIRC", operator="circ")
    assert "OVERRIDE" not in result.message and result.extra["override"] is None
    assert not any(e["action"] == "loan_override" for e in queries.item_history(db, "W16"))
