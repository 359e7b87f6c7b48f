"""The hold shelf of a desk (issue 12 item 6): what waits for whom, since when, until when
(the institution's pickup expiry, ``hold_shelf_days``), borrowed items included, and the
action that clears an item nobody collected: the next request, reshelve, send home, or back
to the lender. Each clearing is one engine call with its history events."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from libdesk import circulation, clock, queries, requests, scan
from libdesk.errors import WrongState
from libdesk.models import Notice
from tests.conftest import FROZEN, db_fingerprint

DAYS = 7  # data/demo.toml: hold_shelf_days


def on_shelf(db, barcode, *patrons, pickup="WID-CIRC"):
    for p in patrons:
        requests.place_request(db, barcode, p, pickup, operator="circ")
    return scan.scan_in(db, barcode, at=pickup, operator="circ")


def received_borrowed(db, patron="P0002"):
    from libdesk import borrowing as rs

    i = rs.new_request(db, patron, "Borrowed Book", pickup="WID-CIRC", operator="rs").extra["borrowing"]["id"]
    if rs.show(db, i)["status"] == rs.READY_TO_BE_SENT:
        rs.send(db, i, operator="rs")
    rs.partner_ship(db, i, operator="rs", barcode="LEND77")
    rs.receive(db, i, at="WID-CIRC", operator="circ")
    return i


def row(db, barcode, desk="WID-CIRC"):
    (found,) = [r for r in circulation.hold_shelf(db, desk) if r["barcode"] == barcode]
    return found


def later(days):
    clock.freeze(FROZEN + timedelta(days=days))


def test_the_shelf_says_since_when_and_until_when_each_item_waits(db):
    assert db.institution.policy.hold_shelf_days == DAYS
    on_shelf(db, "W02", "P0001")
    received_borrowed(db)
    w02, lend = row(db, "W02"), row(db, "LEND77")
    assert (w02["patron"], w02["since"], w02["until"]) == ("P0001", FROZEN.isoformat(),
                                                           (FROZEN.date() + timedelta(days=DAYS)).isoformat())
    assert (lend["patron"], lend["borrowed_from"] is not None, lend["until"]) == ("P0002", True, w02["until"])
    assert not w02["expired"] and w02["clear"] is None and not lend["expired"]
    later(DAYS)  # the last day to pick it up: not expired yet
    assert not row(db, "W02")["expired"]


def test_a_pickup_not_collected_in_time_is_expired_and_refused_before(db):
    on_shelf(db, "W02", "P0001")
    before = db_fingerprint(db)
    with pytest.raises(WrongState, match="waits for patron P0001 until"):
        circulation.clear_hold_shelf(db, "W02", at="WID-CIRC", operator="circ")
    assert db_fingerprint(db) == before
    later(DAYS + 1)
    shelf = circulation.hold_shelf(db, "WID-CIRC")
    assert [(r["barcode"], r["expired"], r["clear"]) for r in shelf] == [("W02", True, "reshelve")]


def test_clearing_an_expired_item_with_no_other_request_reshelves_it(db):
    on_shelf(db, "W02", "P0001")
    req = queries.item_show(db, "W02")["requests"][0]["id"]
    later(DAYS + 1)
    result = circulation.clear_hold_shelf(db, "W02", at="WID-CIRC", operator="circ")
    assert result.next_step == "reshelve" and "not picked up by" in result.message
    item = queries.item_show(db, "W02")
    assert item["process_type"] is None and item["requests"] == []
    assert circulation.hold_shelf(db, "WID-CIRC") == []
    actions = [e["action"] for e in queries.item_history(db, "W02")]
    assert "hold_shelf_expired" in actions and "off_hold_shelf" in actions
    assert all(e["operator"] == "circ" for e in queries.item_history(db, "W02")
               if e["action"] in ("hold_shelf_expired", "off_hold_shelf"))
    trail = requests.audit_trail(db, req)
    assert trail[-1]["action"] == "hold_shelf_expired"
    with db.read() as conn:
        kinds = [n.kind for n in conn.execute(select(Notice.__table__).where(Notice.__table__.c.patron == "P0001"))]
    assert "hold_expired" in kinds


def test_clearing_an_expired_item_serves_the_next_request(db):
    on_shelf(db, "W03", "P0001", "P0002")
    later(DAYS + 1)
    assert row(db, "W03")["clear"] == "next_request"
    result = circulation.clear_hold_shelf(db, "W03", at="WID-CIRC", operator="circ")
    assert result.next_step == "hold_shelf" and "P0002" in result.message
    fresh = row(db, "W03")
    assert fresh["patron"] == "P0002" and not fresh["expired"]
    assert fresh["until"] == (FROZEN.date() + timedelta(days=2 * DAYS + 1)).isoformat()


def test_an_item_of_another_library_is_sent_home(db):
    on_shelf(db, "L02", "P0001")
    later(DAYS + 1)
    assert row(db, "L02")["clear"] == "send_home"
    result = circulation.clear_hold_shelf(db, "L02", at="WID-CIRC", operator="circ")
    assert (result.next_step, result.destination) == ("transit", "LAW-CIRC")


def test_an_expired_borrowed_item_goes_back_to_the_lender(db):
    from libdesk import borrowing as rs

    i = received_borrowed(db)
    later(DAYS + 1)
    assert row(db, "LEND77")["clear"] == "return_to_lender"
    result = circulation.clear_hold_shelf(db, "LEND77", at="WID-CIRC", operator="circ")
    assert result.next_step == "transit" and result.destination.startswith("partner:")
    assert rs.show(db, i)["status"] == rs.RETURNED_TO_PARTNER
    assert circulation.hold_shelf(db, "WID-CIRC") == []


def test_a_cancelled_request_is_cleared_at_once(db):
    on_shelf(db, "W02", "P0001")
    requests.cancel(db, queries.item_show(db, "W02")["requests"][0]["id"], operator="circ")
    (r,) = circulation.hold_shelf(db, "WID-CIRC")
    assert r["cancelled"] and not r["expired"] and r["clear"] == "reshelve"
    assert circulation.clear_hold_shelf(db, "W02", at="WID-CIRC", operator="circ").next_step == "reshelve"


def test_an_item_not_on_this_shelf_is_refused(db):
    on_shelf(db, "W02", "P0001")
    before = db_fingerprint(db)
    with pytest.raises(WrongState, match="not on the hold shelf"):
        circulation.clear_hold_shelf(db, "W05", at="WID-CIRC", operator="circ")
    with pytest.raises(WrongState, match="not on the hold shelf"):
        circulation.clear_hold_shelf(db, "W02", at="LAW-CIRC", operator="circ")
    assert db_fingerprint(db) == before
