"""One test (at least) per SPEC rule id, named after it; each fails if its rule breaks."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from libdesk import circulation, queries, receiving, requests, scan, workorders
from libdesk.errors import InvalidInput, NotPermitted, WrongState
from libdesk.models import Notice
from tests.conftest import FROZEN, db_fingerprint


def show(db, barcode):
    return queries.item_show(db, barcode)


def history(db, barcode):
    return queries.item_history(db, barcode)


def actions(db, barcode):
    return [e["action"] for e in history(db, barcode)]


# -- W: work orders -----------------------------------------------------------------------------

def test_W1_scan_in_at_department_starts_work_order_and_moves_status(db):
    r = scan.scan_in(db, "W01", at="CCWID", operator="cc", status="Pocket")
    item = show(db, "W01")
    assert (item["process_type"], item["work_order_type"], item["department"], item["status"]) == \
        ("work_order", "PRES", "CCWID", "Pocket")
    assert r.destination == "CCWID" and r.next_step == "in_process"
    scan.scan_in(db, "W01", at="CCWID", operator="cc", status="Unknown Substance")
    assert show(db, "W01")["status"] == "Unknown Substance"
    moves = [e for e in history(db, "W01") if e["action"] == "status_changed"]
    assert moves[-1]["operator"] == "cc" and moves[-1]["after"] == {"status": "Unknown Substance"}
    assert moves[-1]["before"] == {"status": "Pocket"}


def test_W1_same_status_scan_is_still_a_history_event(db):
    scan.scan_in(db, "W01", at="CCWID", operator="cc", status="Pocket")
    before = len(history(db, "W01"))
    scan.scan_in(db, "W01", at="CCWID", operator="cc", status="Pocket")
    events = history(db, "W01")
    assert len(events) == before + 1
    assert events[-1]["action"] == "status_changed" and events[-1]["operator"] == "cc"
    assert events[-1]["before"] == {"status": "Pocket"} and events[-1]["after"] == {"status": "Pocket"}


def test_W2_scan_in_discharges_loan_in_the_same_transaction(db):
    circulation.loan(db, "W02", "P0001", at="WID-CIRC", operator="circ")
    r = scan.scan_in(db, "W02", at="CCWID", operator="cc", status="Repair")
    item = show(db, "W02")
    assert item["loan"] is None and item["process_type"] == "work_order" and item["status"] == "Repair"
    assert "P0001" in r.message
    acts = actions(db, "W02")
    assert acts.index("loan_returned") < acts.index("work_order_started")
    discharged = [e for e in history(db, "W02") if e["action"] == "loan_returned"][0]
    assert discharged["operator"] == "cc" and discharged["place"] == "CCWID"


def test_W2_scan_in_discharges_pseudopatron_loan(db):
    from libdesk.core import action
    from libdesk.routing import NO_PROCESS

    with action(db, "admin") as ctx:
        item = ctx.item("W03")
        ctx.update_item(item, "migrated_loan", **{**NO_PROCESS, "process_type": "loan", "loan_patron": "PSEUDO-TS"})
    scan.scan_in(db, "W03", at="ITS625", operator="its", status="Cataloging")
    item = show(db, "W03")
    assert item["loan"] is None and item["department"] == "ITS625"


def test_W3_scan_in_only_at_permitted_places(db):
    before = db_fingerprint(db)
    with pytest.raises(NotPermitted, match="may not act at"):
        scan.scan_in(db, "W01", at="CCWID", operator="its", status="Pocket")
    with pytest.raises(NotPermitted):
        scan.scan_in(db, "W01", at="WID-CIRC", operator="cc")
    assert db_fingerprint(db) == before
    scan.scan_in(db, "W01", at="CCWID", operator="admin", status="Pocket")  # admin is everywhere


def test_W4_done_at_department_completes_and_names_destination(db):
    scan.scan_in(db, "W04", at="CCWID", operator="cc", status="Repair")
    r = scan.scan_in(db, "W04", at="CCWID", operator="cc", done=True)
    item = show(db, "W04")
    assert item["process_type"] == "transit" and item["transit_to"] == "WID-CIRC"
    assert r.destination == "WID-CIRC" and "Widener Circulation Desk" in r.message
    assert item["requests"] == []  # the work order's request is completed


def test_W5_done_goes_to_first_patron_request_pickup(db):
    scan.scan_in(db, "W05", at="CCWID", operator="cc", status="Repair")
    requests.place_request(db, "W05", "P0002", "LAW-CIRC", operator="circ")
    r = scan.scan_in(db, "W05", at="CCWID", operator="cc", done=True)
    assert r.destination == "LAW-CIRC"
    item = show(db, "W05")
    assert item["transit_to"] == "LAW-CIRC" and item["requests"][0]["step"] == "transit_item"


def test_W5_done_goes_to_next_work_order_department(db):
    scan.scan_in(db, "W06", at="CCWID", operator="cc", status="Repair")
    workorders.place_work_order(db, "W06", "TS", "ITS625", operator="cc", note="recatalog")
    r = scan.scan_in(db, "W06", at="CCWID", operator="cc", done=True)
    assert r.destination == "ITS625" and show(db, "W06")["transit_to"] == "ITS625"


def test_W5_done_with_no_request_goes_home_remote_storage(db):
    scan.scan_in(db, "R01", at="IMG", operator="admin", status="Imaging")
    r = scan.scan_in(db, "R01", at="IMG", operator="admin", done=True)
    assert r.destination == "HD" and show(db, "R01")["transit_to"] == "HD"


def test_W5_done_forced_request_goes_first(db):
    scan.scan_in(db, "W07", at="CCWID", operator="cc", status="Repair")
    requests.place_request(db, "W07", "P0002", "LAW-CIRC", operator="circ")
    wo = workorders.place_work_order(db, "W07", "IMG", "IMG", operator="admin")
    requests.activate(db, wo.extra["request"]["id"], operator="admin")
    r = scan.scan_in(db, "W07", at="CCWID", operator="cc", done=True)
    assert r.destination == "IMG"


def test_W6_desk_scan_has_no_done(db):
    with pytest.raises(InvalidInput, match="no Done"):
        scan.scan_in(db, "W08", at="WID-CIRC", operator="circ", done=True)


def test_W6_transit_home_arrival_makes_item_in_place(db):
    scan.scan_in(db, "W08", at="CCWID", operator="cc", status="Repair")
    scan.scan_in(db, "W08", at="CCWID", operator="cc", done=True)
    r = scan.scan_in(db, "W08", at="WID-CIRC", operator="circ")
    item = show(db, "W08")
    assert item["base_status"] == "in_place" and item["process_type"] is None
    assert r.next_step == "reshelve" and r.destination is None


def test_W6_arrival_with_request_here_goes_to_hold_shelf(db):
    circulation.loan(db, "W09", "P0001", at="WID-CIRC", operator="circ")
    circulation.return_item(db, "W09", at="LAW-CIRC", operator="circ")  # in transit home
    requests.place_request(db, "W09", "P0004", "WID-CIRC", operator="circ")
    r = scan.scan_in(db, "W09", at="WID-CIRC", operator="circ")
    item = show(db, "W09")
    assert item["process_type"] == "hold_shelf" and item["hold_shelf"] == "WID-CIRC"
    assert r.next_step == "hold_shelf" and item["requests"][0]["step"] == "on_hold_shelf"


def test_W6_arrival_with_request_elsewhere_goes_on_in_transit(db):
    circulation.loan(db, "W10", "P0001", at="WID-CIRC", operator="circ")
    circulation.return_item(db, "W10", at="LAW-CIRC", operator="circ")
    workorders.place_work_order(db, "W10", "PRES", "CCWID", operator="admin")
    r = scan.scan_in(db, "W10", at="WID-CIRC", operator="circ")
    assert r.destination == "CCWID" and show(db, "W10")["transit_to"] == "CCWID"


def test_W7_work_order_item_scanned_at_desk_stays_and_names_department(db):
    receiving.receive(db, "A01", at="ITS625", operator="its", keep_in_department=True, status="Processing")
    before = db_fingerprint(db)
    r = scan.scan_in(db, "A01", at="WID-CIRC", operator="circ")
    assert r.next_step == "stays" and "ITS@625" in r.message and "Done" in r.message
    assert show(db, "A01")["department"] == "ITS625"
    assert db_fingerprint(db) == before


def test_W8_same_type_transfer_and_back(db):
    scan.scan_in(db, "W11", at="JUD", operator="jud", status="Cataloging")
    r = scan.scan_in(db, "W11", at="ITS625", operator="its", status="Processing")
    item = show(db, "W11")
    assert item["department"] == "ITS625" and item["status"] == "Processing" and "transferred" in r.message
    assert item["requests"][0]["department"] == "ITS625"
    scan.scan_in(db, "W11", at="JUD", operator="jud")
    assert show(db, "W11")["department"] == "JUD"


def test_W8_other_type_scan_is_refused_until_done(db):
    scan.scan_in(db, "W12", at="CCWID", operator="cc", status="Repair")
    before = db_fingerprint(db)
    with pytest.raises(WrongState, match="Done there first"):
        scan.scan_in(db, "W12", at="ITS625", operator="its", status="Cataloging")
    assert db_fingerprint(db) == before


def test_W9_sequenced_work_order_waits_then_follows_done(db):
    scan.scan_in(db, "W13", at="CCWID", operator="cc", status="Repair")
    r = workorders.place_work_order(db, "W13", "TS", "ITS625", operator="cc", note="then catalog")
    assert r.next_step == "waits"
    item = show(db, "W13")
    assert item["department"] == "CCWID"
    assert [q["step"] for q in item["requests"]] == ["in_process", "waiting"]
    scan.scan_in(db, "W13", at="CCWID", operator="cc", done=True)
    assert show(db, "W13")["transit_to"] == "ITS625"
    scan.scan_in(db, "W13", at="ITS625", operator="its", status="Cataloging")
    item = show(db, "W13")
    assert item["department"] == "ITS625" and item["requests"][0]["creator"] == "cc"


def test_W10_return_shows_next_step(db):
    circulation.loan(db, "W14", "P0001", at="WID-CIRC", operator="circ")
    r = circulation.return_item(db, "W14", at="WID-CIRC", operator="circ")
    assert r.next_step == "reshelve"
    circulation.loan(db, "W14", "P0001", at="WID-CIRC", operator="circ")
    requests.place_request(db, "W14", "P0005", "LAW-CIRC", operator="circ")
    r = circulation.return_item(db, "W14", at="WID-CIRC", operator="circ")
    assert r.next_step == "transit" and r.destination == "LAW-CIRC"


def test_W10_return_then_work_order_row_action(db):
    circulation.loan(db, "W15", "P0001", at="WID-CIRC", operator="circ")
    circulation.return_item(db, "W15", at="WID-CIRC", operator="circ")
    r = workorders.place_work_order(db, "W15", "PRES", "CCWID", operator="circ", note="Spine torn", in_hand=True)
    assert r.destination == "CCWID" and show(db, "W15")["transit_to"] == "CCWID"


def test_W11_department_must_run_the_type(db):
    before = db_fingerprint(db)
    with pytest.raises(InvalidInput, match="does not run"):
        workorders.place_work_order(db, "W16", "TS", "CCWID", operator="admin")
    assert db_fingerprint(db) == before


def test_W11_in_hand_goes_in_transit_at_once(db):
    r = workorders.place_work_order(db, "W16", "PRES", "CCWID", operator="circ", in_hand=True, note="mould")
    item = show(db, "W16")
    assert item["process_type"] == "transit" and item["transit_to"] == "CCWID"
    assert item["requests"][0]["step"] == "transit_item" and item["requests"][0]["note"] == "mould"
    assert r.destination == "CCWID"


def test_W11_not_in_hand_goes_on_pick_list_then_circ_scan_sends_it(db):
    workorders.place_work_order(db, "W17", "TS", "ITS625", operator="its", note="check edition")
    assert show(db, "W17")["requests"][0]["step"] == "pickup_from_shelf"
    picks = circulation.picklist(db, "WID")
    assert [p["barcode"] for p in picks["pick_from_shelf"]] == ["W17"]
    r = scan.scan_in(db, "W17", at="WID-CIRC", operator="circ")
    assert r.destination == "ITS625" and show(db, "W17")["transit_to"] == "ITS625"
    assert circulation.picklist(db, "WID")["pick_from_shelf"] == []


def test_W11_remote_item_waits_for_remote_storage(db):
    workorders.place_work_order(db, "R02", "IMG", "IMG", operator="admin")
    assert show(db, "R02")["requests"][0]["step"] == "waiting_for_remote_storage"
    picks = circulation.picklist(db, "WID")
    assert [p["barcode"] for p in picks["waiting_for_remote_storage"]] == ["R02"]
    assert picks["pick_from_shelf"] == []


def test_W11_loaned_item_request_waits_without_recall(db):
    circulation.loan(db, "W18", "P0001", at="WID-CIRC", operator="circ")
    due = show(db, "W18")["loan"]["due"]
    r = workorders.place_work_order(db, "W18", "PRES", "CCWID", operator="circ")
    item = show(db, "W18")
    assert item["loan"]["due"] == due and item["requests"][0]["step"] == "waiting"
    assert "no recall" in r.message
    with db.read() as conn:
        assert conn.execute(select(Notice.__table__)).all() == []


def test_W12_physical_item_editor_sets_type_department_no_status_no_transit(db):
    r = workorders.edit_item(db, "W19", "IMG", "IMG", operator="admin")
    item = show(db, "W19")
    assert (item["process_type"], item["work_order_type"], item["department"], item["status"], item["transit_to"]) == \
        ("work_order", "IMG", "IMG", None, None)
    assert "skipped" in r.message
    assert history(db, "W19")[-1]["action"] == "physical_item_editor"


def test_W13_receive_keep_in_department_with_status(db):
    r = receiving.receive(db, "A02", at="ITS625", operator="its", keep_in_department=True, status="Cataloging")
    item = show(db, "A02")
    assert (item["process_type"], item["work_order_type"], item["department"], item["status"]) == \
        ("work_order", "TS", "ITS625", "Cataloging")
    assert r.next_step == "in_process"


def test_W13_receive_without_keep_goes_in_transit_to_owning_library(db):
    r = receiving.receive(db, "A03", at="ITS625", operator="its")
    item = show(db, "A03")
    assert item["process_type"] == "transit" and item["transit_to"] == "WID-CIRC" and r.destination == "WID-CIRC"


def test_W13_received_in_place_when_institution_says_so(tmp_path):
    from libdesk import institution
    from tests.conftest import make_db

    source = institution.demo_path().read_text().replace("received_items_in_place = false",
                                                          "received_items_in_place = true")
    local = make_db(tmp_path / "inplace.db", institution.parse(source, "inplace"))
    receiving.receive(local, "A04", at="ITS625", operator="its")
    assert show(local, "A04")["base_status"] == "in_place"


def test_W13_receiving_is_for_the_departments_library(db):
    with pytest.raises(NotPermitted, match="receives for"):
        receiving.receive(db, "B01", at="ITS625", operator="its")
    with pytest.raises(NotPermitted, match="not a receiving department"):
        receiving.receive(db, "A05", at="CCWID", operator="cc")


def test_W14_accidental_done_rescan_starts_new_work_order(db):
    scan.scan_in(db, "W20", at="ITS625", operator="its", status="Processing")
    scan.scan_in(db, "W20", at="ITS625", operator="its", done=True)
    scan.scan_in(db, "W20", at="ITS625", operator="its", status="Shelf Prep")
    item = show(db, "W20")
    assert item["department"] == "ITS625" and item["status"] == "Shelf Prep"
    assert actions(db, "W20").count("work_order_started") == 2


def test_W15_creator_never_changes(db):
    wo = workorders.place_work_order(db, "W21", "PRES", "CCWID", operator="circ", in_hand=True)
    scan.scan_in(db, "W21", at="CCWID", operator="cc", status="Assessment")
    scan.scan_in(db, "W21", at="CCWID", operator="admin", status="Repair")
    assert show(db, "W21")["requests"][0]["creator"] == "circ"
    ops = {e["operator"] for e in history(db, "W21") if e["request_id"] == wo.extra["request"]["id"] or e["action"] == "status_changed"}
    assert {"circ", "cc", "admin"} <= ops


def test_W16_expiry_is_arrival_plus_days_and_can_change(db):
    workorders.place_work_order(db, "W22", "PRES", "CCWID", operator="circ", in_hand=True)
    assert show(db, "W22")["requests"][0]["expiry"] is None  # not arrived yet
    scan.scan_in(db, "W22", at="CCWID", operator="cc", status="Assessment")
    req = show(db, "W22")["requests"][0]
    assert req["expiry"] == (FROZEN.date() + timedelta(days=30)).isoformat()
    requests.set_expiry(db, req["id"], "2026-12-31", operator="cc")
    assert show(db, "W22")["requests"][0]["expiry"] == "2026-12-31"
    assert history(db, "W22")[-1]["action"] == "request_expiry"


def test_W17_public_view_shows_type_not_status_or_department(db):
    scan.scan_in(db, "W23", at="CCWID", operator="cc", status="Unknown Substance")
    view = queries.public_view(db, "W23")
    text = repr(view)
    assert "Preservation (Collections Care)" in text
    assert "Unknown Substance" not in text and "CCWID" not in text and "Collections Care (Widener)" not in text


# -- Q: request queues ----------------------------------------------------------------------------

def _queue(db, barcode):
    return requests.list_requests(db, barcode)


def test_Q1_equal_policy_orders_by_placement_time(db):
    circulation.loan(db, "W24", "P0001", at="WID-CIRC", operator="circ")
    requests.place_request(db, "W24", "P0002", "WID-CIRC", operator="circ")
    workorders.place_work_order(db, "W24", "PRES", "CCWID", operator="admin")
    requests.place_request(db, "W24", "P0003", "LAW-CIRC", operator="circ")
    assert [(q["kind"], q["patron"]) for q in _queue(db, "W24")] == \
        [("patron", "P0002"), ("work_order", None), ("patron", "P0003")]


def test_Q1_work_orders_first_policy(db_wo_first):
    db = db_wo_first
    circulation.loan(db, "W24", "P0001", at="WID-CIRC", operator="circ")
    requests.place_request(db, "W24", "P0002", "WID-CIRC", operator="circ")
    workorders.place_work_order(db, "W24", "PRES", "CCWID", operator="admin")
    requests.place_request(db, "W24", "P0003", "LAW-CIRC", operator="circ")
    assert [q["kind"] for q in _queue(db, "W24")] == ["work_order", "patron", "patron"]


def test_Q1_forced_first_in_order_forced(db):
    circulation.loan(db, "W25", "P0001", at="WID-CIRC", operator="circ")
    a = requests.place_request(db, "W25", "P0002", "WID-CIRC", operator="circ").extra["request"]["id"]
    b = requests.place_request(db, "W25", "P0003", "WID-CIRC", operator="circ").extra["request"]["id"]
    c = requests.place_request(db, "W25", "P0004", "WID-CIRC", operator="circ").extra["request"]["id"]
    requests.activate(db, c, operator="admin")
    requests.activate(db, b, operator="admin")
    assert [q["id"] for q in _queue(db, "W25")] == [c, b, a]


def test_Q2_activate_forces_first_and_never_recalls(db):
    circulation.loan(db, "W26", "P0001", at="WID-CIRC", operator="circ")
    requests.place_request(db, "W26", "P0002", "WID-CIRC", operator="circ")
    due = show(db, "W26")["loan"]["due"]
    wo = workorders.place_work_order(db, "W26", "PRES", "CCWID", operator="admin").extra["request"]["id"]
    r = requests.activate(db, wo, operator="admin")
    queue = _queue(db, "W26")
    assert queue[0]["id"] == wo and queue[0]["forced"] is True
    assert show(db, "W26")["loan"]["due"] == due and "no recall" in r.message


def test_Q3_patron_request_on_loan_recalls_work_order_does_not(db):
    circulation.loan(db, "W27", "P0001", at="WID-CIRC", operator="circ")
    first_due = date.fromisoformat(show(db, "W27")["loan"]["due"])
    workorders.place_work_order(db, "W27", "PRES", "CCWID", operator="admin")
    assert date.fromisoformat(show(db, "W27")["loan"]["due"]) == first_due
    requests.place_request(db, "W27", "P0002", "WID-CIRC", operator="circ")
    assert date.fromisoformat(show(db, "W27")["loan"]["due"]) == FROZEN.date() + timedelta(days=7)
    with db.read() as conn:
        notices = conn.execute(select(Notice.__table__)).all()
    assert [(n.patron, n.kind) for n in notices] == [("P0001", "recall")]
    assert "recall" in actions(db, "W27")


def test_Q4_patron_request_on_work_order_item_filled_on_done(db):
    scan.scan_in(db, "W28", at="IMG", operator="admin", status="Imaging")
    requests.place_request(db, "W28", "P0009", "WID-CIRC", operator="circ")
    r = scan.scan_in(db, "W28", at="IMG", operator="admin", done=True)
    assert r.destination == "WID-CIRC"
    r = scan.scan_in(db, "W28", at="WID-CIRC", operator="circ")
    assert r.next_step == "hold_shelf"
    circulation.loan(db, "W28", "P0009", at="WID-CIRC", operator="circ")
    assert show(db, "W28")["loan"]["patron"] == "P0009"


def test_Q5_cancel_pickup_from_shelf_cancels_request_item_stays(db):
    wo = workorders.place_work_order(db, "W29", "TS", "ITS625", operator="its").extra["request"]["id"]
    requests.cancel(db, wo, operator="its")
    item = show(db, "W29")
    assert item["requests"] == [] and item["base_status"] == "in_place"
    assert circulation.picklist(db, "WID")["pick_from_shelf"] == []


def test_Q5_cancel_waiting_for_remote_storage(db):
    wo = workorders.place_work_order(db, "R03", "SCP", "SCP", operator="admin").extra["request"]["id"]
    requests.cancel(db, wo, operator="admin")
    assert show(db, "R03")["requests"] == []


def test_Q5_cancel_transit_item_refused_without_confirm(db):
    wo = workorders.place_work_order(db, "W30", "PRES", "CCWID", operator="circ", in_hand=True).extra["request"]["id"]
    before = db_fingerprint(db)
    with pytest.raises(WrongState, match="marked Done|mark it Done"):
        requests.cancel(db, wo, operator="admin")
    assert db_fingerprint(db) == before
    r = requests.cancel(db, wo, operator="admin", confirm=True)
    assert "Done" in r.message
    item = show(db, "W30")
    assert item["requests"] == [] and item["transit_to"] == "CCWID"
    # It must still arrive and be marked Done; Done then sends it home.
    r = scan.scan_in(db, "W30", at="CCWID", operator="cc", done=True)
    assert r.destination == "WID-CIRC"


def test_Q5_cancel_in_process_cancels_only_request(db):
    scan.scan_in(db, "L01", at="CCLAW", operator="admin", status="Repair")
    req = show(db, "L01")["requests"][0]["id"]
    r = requests.cancel(db, req, operator="admin")
    item = show(db, "L01")
    assert item["process_type"] == "work_order" and item["department"] == "CCLAW" and item["requests"] == []
    assert "until it is marked Done" in r.message
    assert scan.scan_in(db, "L01", at="CCLAW", operator="admin", done=True).destination == "LAW-CIRC"


def test_Q6_every_queue_change_is_audited(db):
    circulation.loan(db, "L02", "P0001", at="LAW-CIRC", operator="circ")
    a = requests.place_request(db, "L02", "P0002", "LAW-CIRC", operator="circ").extra["request"]["id"]
    wo = workorders.place_work_order(db, "L02", "PRES", "CCLAW", operator="admin").extra["request"]["id"]
    requests.activate(db, wo, operator="admin")
    requests.edit(db, wo, operator="admin", note="Needs box")
    requests.set_expiry(db, a, "2026-06-01", operator="circ")
    requests.cancel(db, a, operator="circ")
    by_request = {}
    for e in history(db, "L02"):
        if e["request_id"]:
            by_request.setdefault(e["request_id"], []).append((e["action"], e["operator"]))
    assert ("request_placed", "circ") in by_request[a]
    assert ("request_expiry", "circ") in by_request[a] and ("request_cancelled", "circ") in by_request[a]
    assert ("request_activated", "admin") in by_request[wo] and ("request_edited", "admin") in by_request[wo]


def test_counts_in_messages_take_the_right_number() -> None:
    """Issue 12 item 5: messages say "1 request" and "2 requests", never "request(s)"."""
    from libdesk.core import count_of

    assert count_of(1, "request") == "1 request"
    assert count_of(2, "more request") == "2 more requests"
    assert count_of(0, "active request") == "0 active requests"
    assert count_of(12000, "request") == "12,000 requests"
