"""The borrowing state machine is one table (issue 15 item 1): ``allowed_actions``, the engine's
refusals, the app's menu and the command line all read ``borrowing.TRANSITIONS``; results carry
a code and a severity, so no face tests the message's words; exports are shaped once."""

from __future__ import annotations

import csv
import inspect
import itertools

import pytest

from libdesk import borrowing as rs
from libdesk import queries, requests
from libdesk.core import OK, SEVERITIES, WARNING
from libdesk.errors import InvalidInput, NotFound, WrongState
from libdesk.exporting import export_rows
from tests.conftest import db_fingerprint
from tests.engine.test_borrowing import completed, loaned, new, ready, received, returned_to_patron, shipped


def _old_allowed(b: dict, active: int = 0) -> list[str]:
    """``allowed_actions`` as it was written by hand before the table (the reference), with the
    one fix the table brought: a partner's message needs a partner that has the request."""
    status = b["status"]
    shipped_, has_item = b["shipped_at"] is not None, b["item_id"] is not None
    out = {
        rs.LOCATE_IN_PROCESS: ["locate", "cancel", "complete"],
        rs.READY_TO_BE_SENT: ["send", "cancel"],
        rs.REQUEST_SENT: ["partner-ship", "partner-reject", "partner-expire", "cancel"],
        rs.WAITING_FOR_CANCEL: ["partner-ship", "partner-reject", "partner-expire"],
        rs.SHIPPED: ["receive", "cancel", "partner-checkin"],
        rs.RECEIVED: ["loan", "cancel", "partner-checkin"],
        rs.LOANED: ["return", "partner-checkin"],
        rs.RETURNED_TO_PATRON: ["scan in at the resource-sharing desk", "partner-checkin"],
        rs.RETURNED_TO_PARTNER: ["partner-checkin"],
        rs.LOCATE_FAILED: ["complete"],
    }.get(status, [])
    if status in rs.CANCELLED and shipped_:
        out = (["receive"] if not has_item else ["scan the item in"]) + ["partner-checkin"]
    with_partner = (rs.REQUEST_SENT, rs.WAITING_FOR_CANCEL, rs.SHIPPED, rs.RECEIVED, rs.LOANED,
                    rs.RETURNED_TO_PATRON, rs.RETURNED_TO_PARTNER, rs.REJECTED, rs.EXPIRED, *rs.CANCELLED)
    if status in with_partner and rs.current_partner(b) is not None:
        out.append("partner-message")
    if active:
        out.append("dismiss")
    if status != rs.COMPLETED:
        out.append("note")
    return out


@pytest.mark.parametrize("status", rs.STATUSES)
def test_the_table_allows_what_the_hand_written_list_did(status: str) -> None:
    for shipped_at, item_id, partner, active in itertools.product((None, "t"), (None, 7), (None, 0), (0, 2)):
        b = {"status": status, "shipped_at": shipped_at, "item_id": item_id, "item_removed_at": None,
             "current_partner": partner, "rota": '["YALE"]'}
        assert rs.allowed_actions(b, active) == _old_allowed(b, active), b


def test_every_row_names_an_engine_function_and_its_parameters_are_its_keywords() -> None:
    """What the command line registers from the table is callable as it says."""
    for t in rs.TRANSITIONS.values():
        assert t.help and t.label and t.doing
        if t.function == "scan_in":
            assert not t.cli and t.at == rs.DESK
            continue
        fn = getattr(rs, t.function)
        keywords = set(inspect.signature(fn).parameters)
        assert {p.engine_keyword for p in t.params} <= keywords, t.id
        if t.at != rs.NO_PLACE:
            assert {"operator", "at"} <= keywords, t.id
        for p in t.params:
            assert p.kind in ("text", "words", "int", "choice", "flag", "list"), (t.id, p.name)
            assert not p.choices or p.default in p.choices
    assert [t.id for t in rs.cli_transitions()][:3] == ["new", "locate", "send"]
    assert "scan-in" not in [t.id for t in rs.cli_transitions()]


def test_the_menu_labels_are_read_from_the_table() -> None:
    b = {"current_partner": "YALE", "patron": "P0001", "pickup": "WID-CIRC", "rota": ["YALE"], "active_messages": 2}
    assert rs.label("send", b) == "Send to YALE"
    assert rs.label("partner-ship", b) == "YALE shipped the item…"
    assert rs.label("loan", b) == "Loan to patron P0001 at WID-CIRC"
    assert rs.label("dismiss", b) == "Dismiss all 2 general messages"


def test_perform_dispatches_through_the_table(db) -> None:
    i = ready(db)
    r = rs.perform(db, "send", i, operator="rs")
    assert rs.show(db, i)["status"] == rs.REQUEST_SENT
    assert r.code == "borrowing.request_sent_to_partner" and r.severity == OK
    rs.perform(db, "partner-reject", i, operator="rs", reason="not on shelf")
    assert "not on shelf" in rs.borrowing_history(db, i)[-1]["message"]
    rs.perform(db, "note", i, operator="rs", text=["call", "the", "patron"])
    assert rs.show(db, i)["messages"][-1]["text"] == "call the patron"


def test_perform_refuses_what_the_table_does_not_allow_and_changes_nothing(db) -> None:
    i = ready(db)
    before = db_fingerprint(db)
    with pytest.raises(WrongState, match="cannot receive an item; allowed from here: send, cancel, note"):
        rs.perform(db, "receive", i, operator="circ", at="WID-CIRC")
    with pytest.raises(InvalidInput, match="no such answer"):
        rs.perform(db, "send", i, operator="rs", barcode="X1")
    with pytest.raises(InvalidInput, match="Which desk"):
        rs.perform(db, "receive", i, operator="circ")
    with pytest.raises(NotFound, match="not a borrowing action"):
        rs.perform(db, "teleport", i, operator="rs")
    assert db_fingerprint(db) == before


def test_a_desk_scan_row_scans_the_requests_item(db) -> None:
    i = returned_to_patron(db)
    assert "scan-in" in rs.show(db, i)["actions"]
    rs.perform(db, "scan-in", i, operator="admin", at=rs.show(db, i)["rs_desk"])
    assert rs.show(db, i)["status"] == rs.RETURNED_TO_PARTNER


def test_a_note_on_a_completed_request_is_refused_as_the_table_says(db) -> None:
    i = completed(db)
    assert "note" not in rs.show(db, i)["allowed"]
    with pytest.raises(WrongState, match="cannot add a note"):
        rs.add_note(db, i, "too late", operator="rs")


def test_a_check_in_of_an_item_not_returned_properly_is_a_warning_by_code(db) -> None:
    i = loaned(db)
    r = rs.partner_checkin(db, i, operator="rs")
    assert (r.code, r.severity) == (rs.NOT_RETURNED_PROPERLY, WARNING)
    assert r.to_dict()["severity"] == WARNING and r.severity in SEVERITIES
    j = shipped(db)
    r = rs.partner_checkin(db, j, operator="rs")
    assert (r.code, r.severity) == (rs.NEVER_RECEIVED, WARNING)
    k = received(db)
    assert rs.cancel(db, k, by="patron", operator="rs").severity == OK


def test_the_report_export_is_shaped_once_a_date_as_shown(db, tmp_path) -> None:
    """The app's ctrl+s and ``borrowing report -o`` write the same rows: a date, not a timestamp."""
    loaned(db)
    i = loaned(db)
    rs.partner_checkin(db, i, operator="rs")
    data = rs.stuck_report(db)
    columns, rows = rs.export_table("report", data)
    assert "T" in data["rows"][0]["completed"]  # the engine's view keeps the time
    assert {r["kind"] for r in data["rows"]} == {rs.STUCK_ROW}
    assert rows[0]["completed"] == data["rows"][0]["completed"][:10]
    out = tmp_path / "r.csv"
    export_rows(str(out), columns, rows)
    with out.open(newline="", encoding="utf-8-sig") as fh:
        read = list(csv.DictReader(fh))
    assert read[0]["Completed"] == rows[0]["completed"]
    with pytest.raises(InvalidInput):
        rs.export_table("yearly", data)


def test_check_sections_name_the_row_that_does_their_action(db) -> None:
    ready(db)
    new(db, locate_now=False)
    sections = {s["key"]: s for s in rs.checks(db, "daily")["sections"]}
    assert sections[rs.READY_TO_BE_SENT]["transition"] == "send"
    assert sections[rs.READY_TO_BE_SENT]["action_label"] == "Send"
    assert sections[rs.WAITING_FOR_CANCEL]["transition"] is None  # contact the lender
    assert [r["kind"] for r in sections[rs.READY_TO_BE_SENT]["rows"]] == [rs.REQUEST_ROW]
    assert {r["kind"] for r in rs.list_requests(db)} == {rs.REQUEST_ROW}


def test_monitor_rows_carry_the_step_code_beside_its_name(db) -> None:
    requests.place_request(db, "W02", "P0001", "WID-CIRC", operator="circ")
    rows = queries.monitor(db)["rows"]
    assert rows and all(r["step_code"] in queries.STEP_NAMES for r in rows)
    assert all(r["step"] == queries.STEP_NAMES[r["step_code"]] and r["overdue"] is False for r in rows)
