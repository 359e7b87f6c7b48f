"""Resource-sharing borrowing requests (SPEC section B, seed 004): one test (at least) per
rule B1-B8, every allowed transition, a sample of refused ones (nothing changed), and the
seed's stories end to end. The item side goes through the circulation engine (loan, return,
Scan In), never around it."""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

from libdesk import borrowing as rs
from libdesk import circulation, clock, queries, scan
from libdesk.errors import InvalidInput, NotFound, NotPermitted, WrongState
from libdesk.exporting import export_rows
from libdesk.models import Notice
from tests.conftest import FROZEN, db_fingerprint

# -- helpers ----------------------------------------------------------------------------------------

def new(db, patron="P0001", title="Moby Dick", *, operator="rs", **kw) -> int:
    kw.setdefault("pickup", "WID-CIRC")
    return rs.new_request(db, patron, title, operator=operator, **kw).extra["borrowing"]["id"]


def show(db, i):
    return rs.show(db, i)


def status(db, i) -> str:
    return show(db, i)["status"]


def history(db, i):
    return rs.borrowing_history(db, i)


def actions(db, i) -> list[str]:
    return [e["action"] for e in history(db, i)]


def notices(db, patron="P0001") -> list[Notice]:
    with db.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(Notice.__table__).where(Notice.__table__.c.patron == patron)
                                                       .order_by(Notice.__table__.c.id))]


def later(days: int = 0, hours: int = 0) -> None:
    clock.freeze(clock.now() + timedelta(days=days, hours=hours))


# Each reaches one status the way the desk would; all return the request id.
def locating(db, **kw) -> int:
    return new(db, locate_now=False, **kw)


def locate_failed(db) -> int:
    i = locating(db)
    rs.cancel(db, i, by="patron", operator="rs")
    return i


def ready(db, **kw) -> int:
    """Brown takes requests by hand (the demo institution): the request waits in Ready to be
    Sent for staff to send."""
    kw.setdefault("partners", ["BROWN", "YALE", "COLUMBIA"])
    return new(db, **kw)


def sent(db, **kw) -> int:
    """Sent to the first partner: by the locate itself (B2/B3), or by staff when the first
    partner takes requests by hand."""
    i = new(db, **kw)
    if status(db, i) == rs.READY_TO_BE_SENT:
        rs.send(db, i, operator="rs")
    return i


def sent_to_last(db) -> int:
    return sent(db, partners=["BROWN"])


def waiting_for_cancel(db, by="patron") -> int:
    i = sent(db)
    rs.cancel(db, i, by=by, operator="rs")
    return i


def shipped(db, barcode=None, **kw) -> int:
    i = sent(db, **kw)
    rs.partner_ship(db, i, operator="rs", barcode=barcode)
    return i


def received(db, **kw) -> int:
    i = shipped(db, **kw)
    rs.receive(db, i, at="WID-CIRC", operator="circ")
    return i


def loaned(db, **kw) -> int:
    i = received(db, **kw)
    rs.loan(db, i, operator="circ")
    return i


def returned_to_patron(db) -> int:
    i = loaned(db)
    rs.return_item(db, i, at="LAW-CIRC", operator="circ")
    return i


def returned_to_partner(db) -> int:
    i = loaned(db)
    rs.return_item(db, i, at="WID-CIRC", operator="circ")
    return i


def completed(db) -> int:
    i = returned_to_partner(db)
    rs.partner_checkin(db, i, operator="rs")
    return i


def rejected(db) -> int:
    i = sent_to_last(db)
    rs.partner_reject(db, i, operator="rs")
    return i


def expired(db) -> int:
    i = sent_to_last(db)
    rs.partner_expire(db, i, operator="rs")
    return i


def cancelled_before_sending(db) -> int:
    i = ready(db)
    rs.cancel(db, i, by="patron", operator="rs")
    return i


def cancelled_after_shipping(db) -> int:
    i = shipped(db)
    rs.cancel(db, i, by="patron", operator="rs")
    return i


def cancelled_on_hold_shelf(db) -> int:
    i = received(db)
    rs.cancel(db, i, by="staff", operator="rs")
    return i


def item_of(db, i):
    barcode = show(db, i)["item_barcode"]
    return queries.item_show(db, barcode)


# -- B1: the statuses --------------------------------------------------------------------------------

def test_B1_every_status_has_its_seed_name_and_the_demo_reaches_every_one(tmp_path, inst):
    from libdesk.db import create_database
    from libdesk.demo import load_demo

    assert len(rs.STATUSES) == 15
    assert set(rs.STATUS_NAMES.values()) == {
        "Locate in Process", "Ready to be Sent", "Request Sent to Partner", "Shipped Physically",
        "Physically Received by Library", "Loaned Item to Patron", "Returned Item to Patron",
        "Returned Item to Partner", "Request Completed", "Rejected by Partner", "Expired", "Locate Failed",
        "Cancelled by Patron", "Cancelled by Staff", "Waiting for Cancel Response"}
    assert rs.parse_status("Ready to be Sent") == rs.READY_TO_BE_SENT == rs.parse_status("READY_TO_BE_SENT")
    with pytest.raises(InvalidInput, match="not a borrowing status"):
        rs.parse_status("Lost in the post")
    db = create_database(tmp_path / "demo.db", inst)
    load_demo(db)
    assert clock.now() == FROZEN
    rows = rs.list_requests(db)
    assert {r["status"] for r in rows} == set(rs.STATUSES)
    assert rs.task_count(db) >= 1  # active general messages (B6)
    assert any(show(db, r["id"])["active_notes"] for r in rows)  # notes too
    assert set(rs.stuck_report(db)["counts"].values()) == {1}  # one stuck request of each kind (B8)
    db.close()


def test_B1_a_request_carries_notes_messages_dates_and_its_history_names_operators(db):
    i = new(db, note="Needed for a defence on Friday", author="Melville", identifier="ocm123")
    b = show(db, i)
    assert (b["title"], b["author"], b["identifier"], b["pickup"], b["creator"]) == \
        ("Moby Dick", "Melville", "ocm123", "WID-CIRC", "rs")
    assert b["messages"][0]["kind"] == "note" and b["active_notes"] == 1
    assert b["created_at"] == b["status_at"] == FROZEN.isoformat()
    assert [(e["action"], e["operator"]) for e in history(db, i)] == \
        [("borrowing_created", "rs"), ("note_added", "rs"), ("located", "rs"), ("sent", "rs")]


# -- B2: locate ----------------------------------------------------------------------------------------

def test_B2_new_request_starts_in_locate_in_process_and_the_locate_forms_the_given_rota(db):
    i = new(db, partners=["COLUMBIA", "BROWN"], locate_now=False)
    assert status(db, i) == rs.LOCATE_IN_PROCESS and show(db, i)["rota"] == []
    r = rs.locate(db, i, operator="rs")
    b = show(db, i)
    # Seed 004: "it is automatically supposed to go to the first library in the rota".
    assert b["status"] == rs.REQUEST_SENT and b["rota"] == ["COLUMBIA", "BROWN"]
    assert b["current_partner"] == "COLUMBIA"
    assert "Request Sent to Partner Columbia" in r.message and "answer due in 14 days" in r.message
    located, sent_event = history(db, i)[-2:]
    assert located["after"] == {"status": rs.READY_TO_BE_SENT, "rota": ["COLUMBIA", "BROWN"]}
    assert sent_event["action"] == "sent" and sent_event["after"]["status"] == rs.REQUEST_SENT


def test_B2_a_partner_taking_requests_by_hand_leaves_the_request_ready_to_be_sent(db):
    """Ready to be Sent is only where a request lands when the send cannot happen by itself."""
    i = new(db, partners=["BROWN", "YALE"])
    b = show(db, i)
    assert b["status"] == rs.READY_TO_BE_SENT and b["next_partner"] == "BROWN" and b["current_partner"] is None
    r = rs.send(db, i, operator="rs")
    assert status(db, i) == rs.REQUEST_SENT and "Brown" in r.message


def test_B2_without_given_partners_the_rota_is_the_institutions_partners(db):
    i = new(db)
    assert show(db, i)["rota"] == ["YALE", "COLUMBIA", "BROWN"]


def test_B2_a_locate_that_finds_no_partner_is_cancelled_by_staff_and_the_patron_is_told(db):
    i = new(db, partners=[])
    b = show(db, i)
    assert b["status"] == rs.CANCELLED_BY_STAFF and b["rota"] == [] and b["closed_at"]
    told = notices(db)
    assert [n["kind"] for n in told] == ["borrowing_cancelled"] and "InterLibrary Loan" in told[0]["text"]
    assert actions(db, i)[-1] == "locate_no_rota"


def test_B2_unknown_or_repeated_partners_and_bad_input_are_refused_with_nothing_changed(db):
    before = db_fingerprint(db)
    with pytest.raises(InvalidInput, match="Unknown partner 'HARVARD'.*YALE"):
        new(db, partners=["YALE", "HARVARD"])
    with pytest.raises(InvalidInput, match="listed twice"):
        new(db, partners=["YALE", "YALE"])
    with pytest.raises(InvalidInput, match="needs a title"):
        new(db, title="  ")
    with pytest.raises(NotFound, match="No patron"):
        new(db, patron="P9999")
    with pytest.raises(NotPermitted, match="pseudopatron"):
        new(db, patron="PSEUDO-TS")
    with pytest.raises(NotPermitted, match="not a circulation desk"):
        new(db, pickup="ILL")
    with pytest.raises(NotPermitted, match="borrowing"):
        new(db, operator="circ")
    assert db_fingerprint(db) == before


# -- B3: send, reject, expire, cancel before the locate ----------------------------------------------------

def test_B3_send_rejection_and_expiry_walk_the_rota_and_an_exhausted_rota_ends_the_request(db):
    i = new(db)  # sent to the first partner by the locate itself
    assert (status(db, i), show(db, i)["current_partner"]) == (rs.REQUEST_SENT, "YALE")
    rs.partner_reject(db, i, operator="rs", reason="non-circulating")
    assert (status(db, i), show(db, i)["current_partner"]) == (rs.REQUEST_SENT, "COLUMBIA")
    rs.partner_expire(db, i, operator="rs")
    # Brown takes requests by hand: the request waits for staff to send it (seed 004).
    assert (status(db, i), show(db, i)["next_partner"]) == (rs.READY_TO_BE_SENT, "BROWN")
    rs.send(db, i, operator="rs")
    assert (status(db, i), show(db, i)["current_partner"]) == (rs.REQUEST_SENT, "BROWN")
    r = rs.partner_reject(db, i, operator="rs")
    assert status(db, i) == rs.REJECTED and "exhausted" in r.message
    assert [n["kind"] for n in notices(db)] == ["borrowing_cancelled"]

    j = sent_to_last(db)
    rs.partner_expire(db, j, operator="rs")
    assert status(db, j) == rs.EXPIRED


def test_B3_cancel_before_the_locate_completes_gives_locate_failed(db):
    for by in ("patron", "staff"):
        i = locating(db)
        r = rs.cancel(db, i, by=by, operator="rs")
        assert status(db, i) == rs.LOCATE_FAILED and "Locate Failed" in r.message
        assert show(db, i)["cancel_by"] == by


# -- B4: the item ------------------------------------------------------------------------------------------

def test_B4_receive_loan_return_checkin_through_the_circulation_engine(db):
    i = shipped(db, barcode="YALE-0042")
    r = rs.receive(db, i, at="WID-CIRC", operator="circ")
    item = queries.item_show(db, "YALE-0042")
    assert status(db, i) == rs.RECEIVED
    assert (item["process_type"], item["hold_shelf"], item["library"], item["location"]) == \
        ("resource_sharing", "WID-CIRC", "WID", "RS")
    assert r.destination == "WID-CIRC" and r.next_step == "hold_shelf"
    assert [n["kind"] for n in notices(db)] == ["hold_available"]

    r = rs.loan(db, i, operator="circ")
    assert status(db, i) == rs.LOANED
    assert queries.item_show(db, "YALE-0042")["loan"] == {"patron": "P0001", "due": "2026-03-30"}
    later(days=10)
    r = rs.return_item(db, i, at="WID-CIRC", operator="circ")
    item = queries.item_show(db, "YALE-0042")
    assert status(db, i) == rs.RETURNED_TO_PARTNER
    assert (item["process_type"], item["transit_to"], item["loan"]) == ("transit", "partner:YALE", None)
    assert r.destination == "partner:YALE" and "Yale" in r.message

    r = rs.partner_checkin(db, i, operator="rs")
    b = show(db, i)
    assert b["status"] == rs.COMPLETED and b["item_removed"] and b["item"] is None
    assert "removed" in r.message
    with pytest.raises(NotFound):
        queries.item_show(db, "YALE-0042")
    # the history keeps every step, the item's included, with its barcode and operator
    trail = [(e["action"], e["operator"], e["barcode"]) for e in history(db, i)]
    for step in [("rs_item_created", "circ", "YALE-0042"), ("received", "circ", "YALE-0042"),
                 ("loan", "circ", "YALE-0042"), ("loaned", "circ", "YALE-0042"),
                 ("loan_returned", "circ", "YALE-0042"), ("returned_to_partner", "circ", "YALE-0042"),
                 ("rs_item_removed", "rs", "YALE-0042"), ("partner_checked_in", "rs", None)]:
        assert step in trail


def test_B4_a_return_at_another_library_travels_via_the_resource_sharing_desk(db):
    i = loaned(db)
    barcode = show(db, i)["item_barcode"]
    r = rs.return_item(db, i, at="LAW-CIRC", operator="circ")
    assert status(db, i) == rs.RETURNED_TO_PATRON
    assert r.destination == "WID-CIRC" and queries.item_show(db, barcode)["transit_to"] == "WID-CIRC"
    r = scan.scan_in(db, barcode, at="LAW-CIRC", operator="circ")  # passing through: nothing changes
    assert status(db, i) == rs.RETURNED_TO_PATRON and "send it on" in r.message
    r = scan.scan_in(db, barcode, at="WID-CIRC", operator="circ")
    assert status(db, i) == rs.RETURNED_TO_PARTNER and r.destination == "partner:YALE"


def test_B4_an_item_received_away_from_the_pickup_desk_travels_there_and_waits_on_its_hold_shelf(db):
    i = shipped(db, pickup="LAW-CIRC")
    r = rs.receive(db, i, at="WID-CIRC", operator="circ")
    barcode = show(db, i)["item_barcode"]
    assert barcode == f"RS{i:06d}" and r.destination == "LAW-CIRC"
    assert status(db, i) == rs.RECEIVED and queries.item_show(db, barcode)["library"] == "LAW"
    with pytest.raises(WrongState, match="hold shelf"):
        rs.loan(db, i, operator="circ", at="WID-CIRC")
    r = scan.scan_in(db, barcode, at="LAW-CIRC", operator="circ")
    assert r.next_step == "hold_shelf" and queries.item_show(db, barcode)["hold_shelf"] == "LAW-CIRC"
    rs.loan(db, i, operator="circ")
    assert status(db, i) == rs.LOANED


def test_B4_a_borrowed_item_is_lent_only_to_its_patron_and_never_enters_a_work_order(db):
    i = received(db)
    barcode = show(db, i)["item_barcode"]
    before = db_fingerprint(db)
    with pytest.raises(WrongState, match="borrowed for patron P0001, not for P0002"):
        circulation.loan(db, barcode, "P0002", at="WID-CIRC", operator="circ")
    with pytest.raises(WrongState, match="cannot enter a work order"):
        scan.scan_in(db, barcode, at="CCWID", operator="cc", status="Repair")
    assert db_fingerprint(db) == before
    circulation.loan(db, barcode, "P0001", at="WID-CIRC", operator="circ")  # the same code path, directly
    assert status(db, i) == rs.LOANED
    with pytest.raises(WrongState, match="cannot enter a work order"):  # not even on loan (no W2 discharge)
        scan.scan_in(db, barcode, at="CCWID", operator="cc", status="Repair")


def test_B4_the_lenders_barcode_can_come_again_after_the_temporary_item_left(db):
    first = completed(db)
    second = shipped(db, barcode=show(db, first)["item_barcode"])
    rs.receive(db, second, at="WID-CIRC", operator="circ")
    barcode = show(db, second)["item_barcode"]
    assert show(db, first)["item_barcode"] == barcode
    # the new item's history starts with its own arrival, not with the old item's
    assert [e["action"] for e in queries.item_history(db, barcode)] == ["rs_item_created", "received"]


# -- B5: cancelled request, item scanned in -----------------------------------------------------------------

def test_B5_scan_in_of_an_item_whose_request_was_cancelled_routes_it_back_to_the_lender(db):
    i = cancelled_on_hold_shelf(db)
    barcode = show(db, i)["item_barcode"]
    assert status(db, i) == rs.CANCELLED_BY_STAFF
    r = scan.scan_in(db, barcode, at="WID-CIRC", operator="circ")
    item = queries.item_show(db, barcode)
    assert (item["process_type"], item["transit_to"]) == ("transit", "partner:YALE")
    assert r.destination == "partner:YALE" and "Cancelled by Staff" in r.message
    r = scan.scan_in(db, barcode, at="LAW-CIRC", operator="circ")  # scanned again: it is already going back
    assert "send it on" in r.message and queries.item_show(db, barcode)["transit_to"] == "partner:YALE"
    assert status(db, i) == rs.CANCELLED_BY_STAFF


# -- B6: general messages --------------------------------------------------------------------------------

def test_B6_lender_messages_are_active_in_the_task_count_until_staff_dismiss_them(db):
    i = sent(db)
    assert rs.task_count(db) == 0
    rs.partner_message(db, i, "Only the e-book: would that do?", operator="rs")
    rs.partner_message(db, i, "Please answer soon", operator="rs")
    rs.add_note(db, i, "Asked the patron by phone", operator="rs")
    assert rs.task_count(db) == 2  # notes are not lender tasks
    b = show(db, i)
    assert b["active_messages"] == 2 and {m["partner"] for m in b["messages"] if m["kind"] == "message"} == {"YALE"}
    assert "dismiss" in b["allowed"]
    first = b["messages"][0]["id"]
    rs.dismiss(db, i, first, operator="rs")
    assert rs.task_count(db) == 1
    with pytest.raises(WrongState, match="already dismissed"):
        rs.dismiss(db, i, first, operator="rs")
    rs.dismiss(db, i, operator="rs")  # every active general message; the note stays
    b = show(db, i)
    assert rs.task_count(db) == 0 and b["active_notes"] == 1
    assert all(m["dismissed_by"] == "rs" for m in b["messages"] if m["kind"] == "message")
    with pytest.raises(WrongState, match="no active general message"):
        rs.dismiss(db, i, operator="rs")
    with pytest.raises(NotFound):
        rs.dismiss(db, i, 999, operator="rs")
    msg = next(e for e in history(db, i) if e["action"] == "partner_message")
    assert "Partner Yale University Library (YALE)" in msg["message"] and msg["operator"] == "rs"
    with pytest.raises(WrongState, match="no partner has it"):
        rs.partner_message(db, ready(db), "hello", operator="rs")
    with pytest.raises(InvalidInput, match="empty"):
        rs.partner_message(db, i, "  ", operator="rs")


# -- B7: check views ------------------------------------------------------------------------------------

def test_B7_check_views_list_the_seed_states_with_counts_oldest_first_and_the_action_each_needs(db):
    old = ready(db, title="Old")
    later(days=2)
    young = ready(db, title="Young")
    note = ready(db, note="call the patron")
    msg = sent(db)
    rs.partner_message(db, msg, "wrong edition?", operator="rs")
    returned_to_patron(db)
    locating(db)
    locate_failed(db)
    waiting_for_cancel(db)
    shipped(db)
    returned_to_partner(db)
    completed(db)
    later(days=1)

    daily = rs.checks(db, "daily")
    assert [s["label"] for s in daily["sections"]] == [
        "Active Notes", "Active General Messages", "Ready to be Sent", "Returned Item to Patron", "Locate Failed",
        "Locate in Process", "Waiting for Cancel Response"]
    by_key = {s["key"]: s for s in daily["sections"]}
    assert by_key["ready_to_be_sent"]["action"] == "send"
    assert [r["id"] for r in by_key["ready_to_be_sent"]["rows"]] == [old, young, note]  # oldest first
    assert by_key["ready_to_be_sent"]["rows"][0]["days"] == 3
    assert by_key["active_notes"]["count"] == 1 and by_key["active_notes"]["rows"][0]["id"] == note
    assert by_key["active_messages"]["rows"][0]["text"] == "wrong edition?"
    assert by_key["active_messages"]["action"] == "dismiss"
    assert by_key["locate_failed"]["action"] == by_key["locate_in_process"]["action"] == "complete"
    assert all(s["count"] == 1 for k, s in by_key.items() if k != "ready_to_be_sent")
    assert daily["task_count"] == 1

    weekly = {s["key"]: s for s in rs.checks(db, "weekly")["sections"]}
    assert list(weekly) == [rs.SHIPPED, rs.REQUEST_SENT, rs.RETURNED_TO_PARTNER]
    assert weekly[rs.SHIPPED]["action"] == "receive"
    assert weekly[rs.REQUEST_SENT]["count"] == 1 and weekly[rs.RETURNED_TO_PARTNER]["count"] == 1

    monthly = {s["key"]: s for s in rs.checks(db, "monthly")["sections"]}
    assert monthly[rs.COMPLETED]["count"] == 1 and monthly["not_returned_properly"]["count"] == 0
    with pytest.raises(InvalidInput, match="daily, weekly or monthly"):
        rs.checks(db, "hourly")


# -- B8: not returned properly ---------------------------------------------------------------------------

def test_B8_report_lists_completed_requests_not_returned_properly_by_process_type(db, tmp_path):
    in_transit = returned_to_patron(db)        # returned at a branch, never scanned at the RS desk
    rs.partner_checkin(db, in_transit, operator="rs")
    on_loan = loaned(db)                       # never checked in off the patron's account
    rs.partner_checkin(db, on_loan, operator="rs")
    never = shipped(db)                        # turned around in the courier
    rs.partner_checkin(db, never, operator="rs")
    completed(db)                              # returned properly: not in the report
    i = locating(db)                           # staff clean-up: never shipped, not in the report
    rs.complete(db, i, operator="rs")

    report = rs.stuck_report(db)
    assert report["counts"] == {"Transit": 1, "Loan": 1, "Resource Sharing Request": 1}
    assert [(r["process"], r["id"]) for r in report["rows"]] == \
        [("Transit", in_transit), ("Loan", on_loan), ("Resource Sharing Request", never)]
    assert report["rows"][2]["where"] == "never received"
    monthly = {s["key"]: s for s in rs.checks(db, "monthly")["sections"]}
    assert monthly["not_returned_properly"]["count"] == 3 and monthly[rs.COMPLETED]["count"] == 5

    out = export_rows(tmp_path / "stuck.csv", rs.REPORT_COLUMNS, report["rows"])
    assert out["rows"] == 3
    with open(tmp_path / "stuck.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == [h for _, h in rs.REPORT_COLUMNS] and [r[0] for r in rows[1:]] == \
        ["Transit", "Loan", "Resource Sharing Request"]

    # the clean-up the report asks for goes through the ordinary desk actions
    scan.scan_in(db, show(db, in_transit)["item_barcode"], at="WID-CIRC", operator="circ")
    circulation.return_item(db, show(db, on_loan)["item_barcode"], at="WID-CIRC", operator="circ")
    assert rs.stuck_report(db)["counts"] == {"Transit": 0, "Loan": 0, "Resource Sharing Request": 1}


# -- every allowed transition ------------------------------------------------------------------------------

def _cancel(by: str) -> Callable[..., object]:
    return lambda db, i: rs.cancel(db, i, by=by, operator="rs")


def _scan_at(desk: str) -> Callable[..., object]:
    return lambda db, i: scan.scan_in(db, show(db, i)["item_barcode"], at=desk, operator="circ")


ALLOWED = [
    ("locate finds partners", locating, lambda db, i: rs.locate(db, i, operator="rs"), rs.REQUEST_SENT),
    ("locate: first partner by hand", lambda db: locating(db, partners=["BROWN"]),
     lambda db, i: rs.locate(db, i, operator="rs"), rs.READY_TO_BE_SENT),
    ("locate finds none", lambda db: locating(db, partners=[]), lambda db, i: rs.locate(db, i, operator="rs"),
     rs.CANCELLED_BY_STAFF),
    ("cancel while locating (patron)", locating, _cancel("patron"), rs.LOCATE_FAILED),
    ("cancel while locating (staff)", locating, _cancel("staff"), rs.LOCATE_FAILED),
    ("complete a hung locate", locating, lambda db, i: rs.complete(db, i, operator="rs"), rs.COMPLETED),
    ("complete a failed locate", locate_failed, lambda db, i: rs.complete(db, i, operator="rs"), rs.COMPLETED),
    ("send", ready, lambda db, i: rs.send(db, i, operator="rs"), rs.REQUEST_SENT),
    ("cancel ready (patron)", ready, _cancel("patron"), rs.CANCELLED_BY_PATRON),
    ("cancel ready (staff)", ready, _cancel("staff"), rs.CANCELLED_BY_STAFF),
    ("reject: next partner", sent, lambda db, i: rs.partner_reject(db, i, operator="rs"), rs.REQUEST_SENT),
    ("reject: rota exhausted", sent_to_last, lambda db, i: rs.partner_reject(db, i, operator="rs"), rs.REJECTED),
    ("expire: next partner", sent, lambda db, i: rs.partner_expire(db, i, operator="rs"), rs.REQUEST_SENT),
    ("expire: rota exhausted", sent_to_last, lambda db, i: rs.partner_expire(db, i, operator="rs"), rs.EXPIRED),
    ("ship", sent, lambda db, i: rs.partner_ship(db, i, operator="rs"), rs.SHIPPED),
    ("cancel sent", sent, _cancel("patron"), rs.WAITING_FOR_CANCEL),
    ("cancel answered: reject", waiting_for_cancel, lambda db, i: rs.partner_reject(db, i, operator="rs"),
     rs.CANCELLED_BY_PATRON),
    ("cancel answered: expire", lambda db: waiting_for_cancel(db, by="staff"),
     lambda db, i: rs.partner_expire(db, i, operator="rs"), rs.CANCELLED_BY_STAFF),
    ("cancel answered: already shipped", waiting_for_cancel, lambda db, i: rs.partner_ship(db, i, operator="rs"),
     rs.CANCELLED_BY_PATRON),
    ("receive", shipped, lambda db, i: rs.receive(db, i, at="WID-CIRC", operator="circ"), rs.RECEIVED),
    ("cancel shipped", shipped, _cancel("staff"), rs.CANCELLED_BY_STAFF),
    ("check-in never received", shipped, lambda db, i: rs.partner_checkin(db, i, operator="rs"), rs.COMPLETED),
    ("loan", received, lambda db, i: rs.loan(db, i, operator="circ"), rs.LOANED),
    ("cancel received", received, _cancel("patron"), rs.CANCELLED_BY_PATRON),
    ("check-in from the hold shelf", received, lambda db, i: rs.partner_checkin(db, i, operator="rs"), rs.COMPLETED),
    ("return at the RS library", loaned, lambda db, i: rs.return_item(db, i, at="WID-CIRC", operator="circ"),
     rs.RETURNED_TO_PARTNER),
    ("return elsewhere", loaned, lambda db, i: rs.return_item(db, i, at="LAW-CIRC", operator="circ"),
     rs.RETURNED_TO_PATRON),
    ("check-in while on loan", loaned, lambda db, i: rs.partner_checkin(db, i, operator="rs"), rs.COMPLETED),
    ("scan in at the RS desk", returned_to_patron, _scan_at("WID-CIRC"), rs.RETURNED_TO_PARTNER),
    ("check-in in transit to the RS desk", returned_to_patron, lambda db, i: rs.partner_checkin(db, i, operator="rs"),
     rs.COMPLETED),
    ("check-in", returned_to_partner, lambda db, i: rs.partner_checkin(db, i, operator="rs"), rs.COMPLETED),
    ("receive after the cancel", cancelled_after_shipping,
     lambda db, i: rs.receive(db, i, at="WID-CIRC", operator="circ"), rs.CANCELLED_BY_PATRON),
    ("scan in after the cancel", cancelled_on_hold_shelf, _scan_at("WID-CIRC"), rs.CANCELLED_BY_STAFF),
    ("check-in after the cancel", cancelled_after_shipping, lambda db, i: rs.partner_checkin(db, i, operator="rs"),
     rs.COMPLETED),
]


@pytest.mark.parametrize(("reach", "do", "expected"), [a[1:] for a in ALLOWED], ids=[a[0] for a in ALLOWED])
def test_every_allowed_transition_changes_status_with_one_event_naming_the_operator(db, reach, do, expected):
    i = reach(db)
    seen = len(history(db, i))
    later(hours=1)
    do(db, i)
    b = show(db, i)
    assert b["status"] == expected
    new_events = history(db, i)[seen:]
    assert new_events and all(e["operator"] in ("rs", "circ") for e in new_events)
    assert all(e["at"] == clock.now().isoformat() for e in new_events)


REFUSED = [
    ("send while locating", locating, lambda db, i: rs.send(db, i, operator="rs")),
    ("ship before sending", ready, lambda db, i: rs.partner_ship(db, i, operator="rs")),
    ("receive before shipping", sent, lambda db, i: rs.receive(db, i, at="WID-CIRC", operator="circ")),
    ("send twice", sent, lambda db, i: rs.send(db, i, operator="rs")),
    ("loan before receiving", shipped, lambda db, i: rs.loan(db, i, operator="circ")),
    ("return when not on loan", received, lambda db, i: rs.return_item(db, i, at="WID-CIRC", operator="circ")),
    ("cancel on loan", loaned, _cancel("patron")),
    ("cancel twice", waiting_for_cancel, _cancel("staff")),
    ("cancel completed", completed, _cancel("staff")),
    ("receive twice", received, lambda db, i: rs.receive(db, i, at="WID-CIRC", operator="circ")),
    ("check-in before shipping", sent, lambda db, i: rs.partner_checkin(db, i, operator="rs")),
    ("check-in of a cancel never shipped", cancelled_before_sending,
     lambda db, i: rs.partner_checkin(db, i, operator="rs")),
    ("reject when rejected", rejected, lambda db, i: rs.partner_reject(db, i, operator="rs")),
    ("expire when expired", expired, lambda db, i: rs.partner_expire(db, i, operator="rs")),
    ("complete a sent request", sent, lambda db, i: rs.complete(db, i, operator="rs")),
    ("locate twice", ready, lambda db, i: rs.locate(db, i, operator="rs")),
    ("message after completion", completed, lambda db, i: rs.partner_message(db, i, "hi", operator="rs")),
]


@pytest.mark.parametrize(("reach", "do"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_refused_transitions_say_what_is_allowed_and_change_nothing(db, reach, do):
    i = reach(db)
    before = db_fingerprint(db)
    with pytest.raises(WrongState) as info:
        do(db, i)
    message = str(info.value)
    assert f"Borrowing request {i} is {rs.status_name(status(db, i))}: cannot" in message
    assert "allowed from here:" in message or "final status" in message
    assert "\n" not in message
    assert db_fingerprint(db) == before


def test_refusal_names_the_allowed_actions(db):
    i = ready(db)
    with pytest.raises(WrongState, match="allowed from here: send, cancel, note"):
        rs.partner_ship(db, i, operator="rs")
    j = rejected(db)
    with pytest.raises(WrongState, match="allowed from here: partner-message, note"):
        rs.send(db, j, operator="rs")


def test_partner_actions_need_the_borrowing_role_and_are_marked_as_the_partners(db):
    i = sent(db)
    before = db_fingerprint(db)
    for act in (rs.partner_ship, rs.partner_reject, rs.partner_expire, rs.send, rs.complete, rs.partner_checkin):
        with pytest.raises(NotPermitted, match="needs the role 'borrowing'"):
            act(db, i, operator="circ")
    with pytest.raises(NotPermitted):
        rs.cancel(db, i, by="staff", operator="cc")
    assert db_fingerprint(db) == before
    rs.partner_ship(db, i, operator="admin")  # admin may act everywhere
    event = history(db, i)[-1]
    assert event["action"] == "partner_shipped" and event["operator"] == "admin"
    assert event["message"].startswith("Partner Yale University Library (YALE) shipped the item")
    with pytest.raises(InvalidInput, match="patron or staff"):
        rs.cancel(db, i, by="lender", operator="rs")
    with pytest.raises(NotFound, match="No borrowing request 999"):
        rs.send(db, 999, operator="rs")


# -- the seed's stories ---------------------------------------------------------------------------------

def test_story_rejected_by_the_first_partner_and_supplied_by_the_second(db):
    i = new(db, "P0007", "Letters from the Levant", partners=["YALE", "COLUMBIA", "BROWN"])  # sent to Yale
    later(days=2)
    rs.partner_reject(db, i, operator="rs", reason="checked out")
    later(days=1)
    r = rs.partner_ship(db, i, operator="rs", barcode="CU-77881")
    assert "Columbia" in r.message
    later(days=3)
    rs.receive(db, i, at="WID-CIRC", operator="circ")
    rs.loan(db, i, operator="circ")
    later(days=20)
    r = rs.return_item(db, i, at="WID-CIRC", operator="circ")
    assert r.destination == "partner:COLUMBIA"  # back to the partner that lent it, not the first one
    later(days=4)
    rs.partner_checkin(db, i, operator="rs")
    b = show(db, i)
    assert (b["status"], b["current_partner"], b["item_removed"]) == (rs.COMPLETED, "COLUMBIA", True)
    partner_events = [e["message"] for e in history(db, i) if e["action"].startswith("partner_")]
    assert "YALE" in partner_events[0] and all("COLUMBIA" in m for m in partner_events[1:])
    assert rs.stuck_report(db)["total"] == 0


def test_story_cancelled_by_the_patron_whose_item_still_arrives_and_is_scanned_back_to_the_lender(db):
    i = sent(db)
    later(days=1)
    r = rs.cancel(db, i, by="patron", operator="rs")  # from their account
    assert status(db, i) == rs.WAITING_FOR_CANCEL and "Waiting for Cancel Response" in r.message
    later(days=1)
    r = rs.partner_ship(db, i, operator="rs", barcode="Y-5555")  # the lender had already shipped
    assert status(db, i) == rs.CANCELLED_BY_PATRON and "still arrives" in r.message
    later(days=2)
    r = rs.receive(db, i, at="WID-CIRC", operator="circ")  # the courier brings it anyway
    item = queries.item_show(db, "Y-5555")
    assert (item["process_type"], item["transit_to"], item["hold_shelf"]) == ("transit", "partner:YALE", None)
    assert r.destination == "partner:YALE" and status(db, i) == rs.CANCELLED_BY_PATRON
    assert notices(db) == []  # the patron cancelled: no hold notice, no cancellation notice
    r = scan.scan_in(db, "Y-5555", at="WID-CIRC", operator="circ")  # wanded in again by someone else
    assert r.destination == "partner:YALE" and "send it on" in r.message
    later(days=3)
    rs.partner_checkin(db, i, operator="rs")
    assert status(db, i) == rs.COMPLETED and show(db, i)["item_removed"]
    assert rs.stuck_report(db)["total"] == 0


def test_story_a_completed_request_stuck_in_transit_appears_in_the_monthly_report_until_scanned(db):
    i = loaned(db)
    later(days=14)
    rs.return_item(db, i, at="LAW-CIRC", operator="circ")  # returned at a branch…
    later(days=5)
    r = rs.partner_checkin(db, i, operator="rs")  # …and sent to the lender without the RS desk's scan
    assert "not returned properly" in r.message and status(db, i) == rs.COMPLETED
    barcode = show(db, i)["item_barcode"]
    assert queries.item_show(db, barcode)["process_type"] == "transit"
    monthly = {s["key"]: s for s in rs.checks(db, "monthly")["sections"]}
    stuck = monthly["not_returned_properly"]
    assert stuck["count"] == 1 and stuck["rows"][0]["process"] == "Transit" and stuck["rows"][0]["barcode"] == barcode
    assert stuck["rows"][0]["where"] == "in transit to Widener Circulation Desk"
    r = scan.scan_in(db, barcode, at="WID-CIRC", operator="circ")  # the clean-up
    assert "removed" in r.message
    assert rs.stuck_report(db)["total"] == 0 and show(db, i)["item_removed"]


# -- the rest of the desk leaves borrowed items alone ------------------------------------------

@pytest.mark.parametrize("action", [
    lambda db, code: __import__("libdesk.requests", fromlist=["x"]).place_request(db, code, "P0009", "WID-CIRC",
                                                                                operator="circ"),
    lambda db, code: __import__("libdesk.workorders", fromlist=["x"]).place_work_order(db, code, "PRES", "CCWID",
                                                                                     operator="admin"),
    lambda db, code: __import__("libdesk.workorders", fromlist=["x"]).edit_item(db, code, "PRES", "CCWID",
                                                                              operator="admin"),
    lambda db, code: circulation.mark_missing(db, code, operator="admin"),
])
def test_borrowed_item_is_refused_by_requests_work_orders_editor_and_missing(db, action):
    i = loaned(db)
    code = show(db, i)["item_barcode"]
    before = db_fingerprint(db)
    with pytest.raises(WrongState, match="borrowed from a partner"):
        action(db, code)
    assert db_fingerprint(db) == before


def test_item_going_back_to_the_lender_names_the_partner(db):
    i = returned_to_partner(db)
    item = item_of(db, i)
    assert item["transit_to"].startswith("partner:")
    assert item["process_name"].startswith("In transit to ") and "(lender)" in item["process_name"]
