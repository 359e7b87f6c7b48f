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


def test_B6_the_borrowing_list_filters_to_requests_with_active_general_messages(db):
    from libdesk import borrowing as rs

    first = rs.new_request(db, "P0001", "One", pickup="WID-CIRC", operator="rs").extra["borrowing"]["id"]
    second = rs.new_request(db, "P0002", "Two", pickup="WID-CIRC", operator="rs").extra["borrowing"]["id"]
    for i in (first, second):
        if rs.show(db, i)["status"] == rs.READY_TO_BE_SENT:
            rs.send(db, i, operator="rs")
    rs.partner_message(db, first, "Can you accept a photocopy?", operator="rs")
    rs.add_note(db, second, "staff note: not a lender's message", operator="rs")
    assert [r["id"] for r in rs.list_requests(db, with_messages=True)] == [first]
    rs.dismiss(db, first, operator="rs")
    assert rs.list_requests(db, with_messages=True) == []
    assert {r["id"] for r in rs.list_requests(db)} >= {first, second}


def _shipped(db, barcode="LEND5"):
    from libdesk import borrowing as rs

    i = rs.new_request(db, "P0001", "Courier Book", pickup="WID-CIRC", operator="rs").extra["borrowing"]["id"]
    if rs.show(db, i)["status"] == rs.READY_TO_BE_SENT:
        rs.send(db, i, operator="rs")
    rs.partner_ship(db, i, operator="rs", barcode=barcode)
    return i


def test_B5_a_cancelled_requests_item_arriving_anyway_is_scanned_in_and_goes_back_to_the_lender(db):
    """Seed 004: the item comes by courier after the cancel; wanded in under Scan In Items at
    the desk, it is found by the barcode the lender shipped it under and sent back."""
    from libdesk import borrowing as rs

    i = _shipped(db)
    rs.cancel(db, i, by="patron", operator="rs")
    result = scan.scan_in(db, "LEND5", at="WID-CIRC", operator="circ")
    assert result.destination == "partner:YALE" and "back to the lender" in result.message
    assert f"borrowing request {i}" in result.message
    item = show(db, "LEND5")
    assert (item["process_type"], item["transit_to"]) == ("transit", "partner:YALE")
    trail = [(e["action"], e["operator"]) for e in rs.borrowing_history(db, i)]
    assert ("received", "circ") in trail
    assert rs.show(db, i)["status"] == rs.CANCELLED_BY_PATRON  # the request stays cancelled
    rs.partner_checkin(db, i, operator="rs")  # the lender has it back: the request completes
    assert rs.show(db, i)["status"] == rs.COMPLETED


def test_B4_a_shipped_item_scanned_in_before_receiving_says_which_request_and_changes_nothing(db):
    import pytest

    from libdesk.errors import NotFound, WrongState
    from tests.conftest import db_fingerprint

    i = _shipped(db, "LEND6")
    before = db_fingerprint(db)
    with pytest.raises(WrongState, match=f"borrowing request {i}.*borrowing receive {i}"):
        scan.scan_in(db, "LEND6", at="WID-CIRC", operator="circ")
    with pytest.raises(NotFound):
        scan.scan_in(db, "NOSUCH99", at="WID-CIRC", operator="circ")
    assert db_fingerprint(db) == before


def test_W11_work_orders_for_a_set_of_items_each_in_its_own_transaction(db):
    """Seed 000: "more efficient ways to do this using sets" (a list of barcodes)."""
    import pytest

    from libdesk.errors import InvalidInput
    from tests.conftest import db_fingerprint

    circulation.loan(db, "W05", "P0001", at="WID-CIRC", operator="circ")
    result = workorders.place_work_orders(db, ["W03", "W04", "NOSUCH", "W05"], "TS", "ITS625", operator="its",
                                          note="recatalog the set")
    assert result.done == 3 and [code for code, _ in result.failures] == ["NOSUCH"]
    assert result.groups == {"waiting for ITS625": 3}
    assert "3 → waiting for ITS625" in result.message and "1 failed" in result.message
    for code in ("W03", "W04", "W05"):
        req = show(db, code)["requests"][-1]
        assert (req["kind"], req["department"], req["note"]) == ("work_order", "ITS625", "recatalog the set")
    before = db_fingerprint(db)
    with pytest.raises(InvalidInput, match="does not run"):
        workorders.place_work_orders(db, ["W06", "W07"], "TS", "CCWID", operator="its")
    assert db_fingerprint(db) == before


def test_W11_all_matching_a_search_is_every_item_it_matches_not_only_the_first_page(db):
    """Physical Items' "all matching" (a set for a bulk work order): every barcode the search
    matches, by prefix or words, beyond the page the search shows; an exact barcode is itself."""
    assert queries.search_barcodes(db, "W0*") == [f"W0{n}" for n in range(1, 10)]
    assert queries.search_count(db, "W0*") == 9
    assert len(queries.search(db, "W*", limit=5)) == 5
    every_w = queries.search_barcodes(db, "W*")
    assert len(every_w) == queries.search_count(db, "W*") > 5 and every_w == sorted(every_w)
    assert queries.search_barcodes(db, "W01") == ["W01"] and queries.search_count(db, "W01") == 1
    words = queries.search_barcodes(db, "Title of")
    assert len(words) == queries.search_count(db, "Title of") >= len(every_w)
    assert queries.search_barcodes(db, "nosuchword") == [] and queries.search_count(db, "nosuchword") == 0


def test_a_barcode_list_is_lines_or_a_csv_with_a_barcode_column(tmp_path):
    import pytest

    from libdesk.errors import InvalidInput

    lines = tmp_path / "scanned.txt"
    lines.write_text("W01\n\n W02 \nW01\n", encoding="utf-8")
    assert scan.read_barcode_file(str(lines)) == ["W01", "W02"]
    table = tmp_path / "export.csv"
    table.write_text("title,barcode\nA,W03\nB,W04\n", encoding="utf-8")
    assert scan.read_barcode_file(str(table)) == ["W03", "W04"]
    bad = tmp_path / "bad.csv"
    bad.write_text("title,call\nA,B\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="needs a 'barcode' column"):
        scan.read_barcode_file(str(bad))
    control = tmp_path / "control.txt"
    control.write_text("W01\nW\x0702\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="line 2"):
        scan.read_barcode_file(str(control))
    with pytest.raises(InvalidInput, match="cannot read"):
        scan.read_barcode_file(str(tmp_path / "missing.txt"))
    with pytest.raises(InvalidInput, match="not a regular file"):
        scan.read_barcode_file(str(tmp_path))


def test_W11_workorder_from_a_file_through_the_cli(tmp_path):
    """``libdesk workorder --from-file``: grouped result, the failures one line each, exit 1."""
    import json
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("LIBDESK_")}
    env["LIBDESK_HOME"] = str(tmp_path / "home")
    env["LIBDESK_FROZEN_TIME"] = "2026-03-02T09:00:00"
    db = str(tmp_path / "desk.db")

    def run(*args):
        return subprocess.run([sys.executable, "-m", "libdesk.cli", "--db", db, *args], env=env,
                              capture_output=True, text=True, timeout=120)

    assert run("init", "--demo").returncode == 0
    listing = tmp_path / "set.csv"
    listing.write_text("barcode,title\n32044000000001,a\n32044000000004,b\nNOPE,c\n", encoding="utf-8")
    done = run("--operator", "its", "workorder", "--from-file", str(listing), "--type", "TS",
               "--department", "ITS625", "--json")
    assert done.returncode == 1
    data = json.loads(done.stdout)
    assert data["done"] == 2 and [f["barcode"] for f in data["failed"]] == ["NOPE"]
    assert done.stderr.strip().splitlines() == ["libdesk: NOPE: No item with barcode 'NOPE'"]
    one = run("--operator", "its", "workorder", "32044000000016", "--type", "TS", "--department", "ITS625", "--json")
    assert one.returncode == 0 and json.loads(one.stdout)["barcode"] == "32044000000016"
    none = run("--operator", "its", "workorder", "--type", "TS", "--department", "ITS625")
    assert none.returncode == 1 and "--from-file" in none.stderr


def test_the_pseudopatron_record_goes_once_its_last_loan_is_processed(db, tmp_path):
    """Seed 000, "Pseudopatron Loans Migrated from Aleph": once all the items on loan to a
    pseudopatron are processed (and its requests), the pseudopatron record is deleted."""
    from sqlalchemy import select

    from libdesk import importing
    from libdesk.models import Patron

    loans = tmp_path / "loans.csv"
    loans.write_text("barcode,patron\nW01,PSEUDO-TS\nW02,PSEUDO-TS\n", encoding="utf-8")
    importing.import_loans(db, str(loans), operator="admin")

    def exists() -> bool:
        with db.read() as conn:
            row = conn.execute(select(Patron.__table__.c.id).where(Patron.__table__.c.id == "PSEUDO-TS")).first()
        return row is not None

    circulation.return_item(db, "W01", at="WID-CIRC", operator="circ")
    assert exists(), "one item is still on loan to it"
    scan.scan_in(db, "W02", at="CCWID", operator="cc", status="Repair")  # Scan In discharges it (W2)
    assert not exists()
    removed = queries.item_history(db, "W02")
    with db.read() as conn:
        from libdesk.models import Event

        e = Event.__table__
        gone = conn.execute(select(e.c.operator, e.c.message).where(e.c.action == "pseudopatron_removed")).all()
    assert len(gone) == 1 and gone[0][0] == "cc" and "PSEUDO-TS" in gone[0][1]
    assert any(ev["action"] == "loan_returned" for ev in removed)  # the history still has the loan


def test_Q5_a_remote_storage_work_order_placed_in_hand_by_mistake_is_cancelled_and_corrected(db):
    """Seed 000, "Fixing an Accidental Work Order", remote storage, Workflow Step In Process (the
    "Do not pick from shelf" box WAS checked): Cancel cancels just the request, and the
    remote-storage status correction puts the item back In place."""
    import pytest

    from libdesk.errors import NotPermitted, WrongState
    from tests.conftest import db_fingerprint

    placed = workorders.place_work_order(db, "R01", "TS", "ITS625", operator="its", in_hand=True)
    wo = placed.extra["request"]["id"]
    assert placed.extra["request"]["step"] == "in_process"
    assert "Do not pick from shelf" in placed.message
    item = show(db, "R01")
    assert (item["process_type"], item["department"]) == ("work_order", "ITS625")
    before = db_fingerprint(db)
    with pytest.raises(WrongState, match=f"serving request {wo}.*cancel it first"):
        circulation.correct_status(db, "R01", at="HD", operator="hd")
    assert db_fingerprint(db) == before
    cancelled = requests.cancel(db, wo, operator="its")
    assert "request only" in cancelled.message and "libdesk correct R01 --at HD" in cancelled.message
    with pytest.raises(NotPermitted, match="Only"):
        circulation.correct_status(db, "R01", at="WID-CIRC", operator="circ")
    fixed = circulation.correct_status(db, "R01", at="HD", operator="hd")
    assert "In place" in fixed.message
    item = show(db, "R01")
    assert item["process_type"] is None and item["department"] is None
    corrected = [e for e in queries.item_history(db, "R01") if e["action"] == "status_corrected"]
    assert corrected[0]["operator"] == "hd" and corrected[0]["before"]["process_type"] == "work_order"
    with pytest.raises(WrongState, match="nothing to correct"):
        circulation.correct_status(db, "R01", at="HD", operator="hd")
    with pytest.raises(WrongState, match="not a remote-storage item"):
        circulation.correct_status(db, "W01", at="HD", operator="hd")


def test_Q5_a_remote_storage_item_requested_after_the_correction_goes_to_its_requester(db):
    """Corrected back In place, the item's other requests take their turn from remote storage."""
    wo = workorders.place_work_order(db, "R02", "TS", "ITS625", operator="its", in_hand=True).extra["request"]["id"]
    requests.place_request(db, "R02", "P0001", "WID-CIRC", operator="circ")
    requests.cancel(db, wo, operator="its")
    circulation.correct_status(db, "R02", at="HD", operator="hd")
    assert [r["step"] for r in show(db, "R02")["requests"]] == ["waiting_for_remote_storage"]


def test_Q5_a_work_order_further_down_the_queue_may_be_cancelled_and_the_item_is_untouched(db):
    """Seed 000's open question, settled (README): Cancel on a Waiting work order is fine."""
    requests.place_request(db, "W21", "P0001", "WID-CIRC", operator="circ")
    wo = workorders.place_work_order(db, "W21", "TS", "ITS625", operator="its").extra["request"]["id"]
    before = show(db, "W21")
    assert [r["step"] for r in before["requests"]] == ["pickup_from_shelf", "waiting"]
    result = requests.cancel(db, wo, operator="its")
    assert "stays where it is" in result.message
    after = show(db, "W21")
    assert [r["step"] for r in after["requests"]] == ["pickup_from_shelf"]
    assert after["process_type"] == before["process_type"]


def test_B3_a_partner_that_does_not_answer_in_time_is_passed_over_by_the_system(db):
    """Seed 004: the request goes to the next partner of the rota without staff action after
    the partner's timeout (the demo: 14 days, a partner may set its own), each automatic step
    in the history as the system's; the last partner's silence ends it Expired."""
    from datetime import timedelta

    from libdesk import borrowing as rs
    from libdesk import clock

    i = rs.new_request(db, "P0003", "Slow Book", pickup="WID-CIRC", operator="rs",
                       partners=["YALE", "COLUMBIA"]).extra["borrowing"]["id"]
    start = clock.now()
    clock.freeze(start + timedelta(days=13, hours=23))
    assert rs.tick(db)["steps"] == []
    clock.freeze(start + timedelta(days=14))
    done = rs.tick(db)
    assert [s["id"] for s in done["steps"]] == [i] and "no answer in 14 days" in done["steps"][0]["message"]
    b = rs.show(db, i)
    assert (b["status"], b["current_partner"]) == (rs.REQUEST_SENT, "COLUMBIA")
    last = rs.borrowing_history(db, i)[-1]
    assert (last["operator"], last["action"]) == ("system", "partner_expired")
    assert rs.tick(db)["steps"] == []  # nothing twice
    clock.freeze(start + timedelta(days=28))
    rs.tick(db)
    assert rs.show(db, i)["status"] == rs.EXPIRED


def test_B3_a_partner_may_set_its_own_timeout(tmp_path):
    from datetime import timedelta

    from libdesk import borrowing as rs
    from libdesk import clock, institution
    from tests.conftest import make_db

    source = institution.demo_path().read_text(encoding="utf-8").replace(
        'name = "Yale University Library"\n', 'name = "Yale University Library"\ntimeout_days = 3\n')
    db = make_db(tmp_path / "fast.db", institution.parse(source, "fast Yale"))
    try:
        made = rs.new_request(db, "P0003", "Quick", pickup="WID-CIRC", operator="rs")
        i = made.extra["borrowing"]["id"]
        assert "answer due in 3 days" in made.message
        clock.freeze(clock.now() + timedelta(days=3))
        assert [s["id"] for s in rs.tick(db)["steps"]] == [i]
        assert rs.show(db, i)["current_partner"] == "COLUMBIA"
    finally:
        db.close()


def test_B3_a_rota_passing_to_a_partner_taking_requests_by_hand_waits_in_ready_to_be_sent(db):
    """The rota moves on (a rejection, or the system's timeout) to Brown, who takes requests by
    e-mail (``sends_automatically = false``): the request is not marked sent, it waits in Ready
    to be Sent with the message a new request for Brown gets, and staff's Send sends it to
    Brown, not to the first partner again."""
    from datetime import timedelta

    from libdesk import borrowing as rs
    from libdesk import clock

    i = rs.new_request(db, "P0003", "Rare Book", pickup="WID-CIRC", operator="rs",
                       partners=["YALE", "BROWN", "COLUMBIA"]).extra["borrowing"]["id"]
    r = rs.partner_reject(db, i, operator="rs", reason="non-circulating")
    b = rs.show(db, i)
    assert b["status"] == rs.READY_TO_BE_SENT
    assert (b["current_partner"], b["next_partner"]) == (None, "BROWN")
    assert "takes requests by hand" in r.message and "e-mail" in r.message and "record Send" in r.message
    assert rs.tick(db)["steps"] == []  # the system does not send it either
    clock.freeze(clock.now() + timedelta(days=30))
    assert rs.tick(db)["steps"] == []  # nor time it out: no partner has it
    sent = rs.send(db, i, operator="rs")
    b = rs.show(db, i)
    assert (b["status"], b["current_partner"]) == (rs.REQUEST_SENT, "BROWN") and "Brown" in sent.message

    # The same after the system's timeout: Yale does not answer in 14 days.
    j = rs.new_request(db, "P0004", "Slow Rare Book", pickup="WID-CIRC", operator="rs",
                       partners=["YALE", "BROWN"]).extra["borrowing"]["id"]
    clock.freeze(clock.now() + timedelta(days=14))
    steps = [s for s in rs.tick(db)["steps"] if s["id"] == j]  # (Brown let request i expire meanwhile)
    assert len(steps) == 1 and "takes requests by hand" in steps[0]["message"]
    b = rs.show(db, j)
    assert (b["status"], b["next_partner"]) == (rs.READY_TO_BE_SENT, "BROWN")
    last = rs.borrowing_history(db, j)[-1]
    assert (last["operator"], last["after"]["status"]) == ("system", rs.READY_TO_BE_SENT)
    assert [row["partner"] for row in rs.list_requests(db, rs.READY_TO_BE_SENT) if row["id"] == j] == ["BROWN"]
