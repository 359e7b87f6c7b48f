"""Borrowing Requests (SPEC section B, seed 004): the checks with the action each state needs on
the row, the row actions (each one engine call, a refusal in red with nothing changed), the
header's task count (B6), the request's detail (rota, messages, audit trail with the partner's
actions marked) and the report of requests not returned properly (B8) with its export.

The database is the tests' item set plus the demo's borrowing requests in every status
(:func:`libdesk.demo.load_borrowing_demo`, made by the engine's own calls with the clock set
back), so each status, message and stuck item is the one the demo ships.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest
from textual.widgets import Input, OptionList, Select

from libdesk import borrowing, clock
from libdesk.db import Database
from libdesk.demo import load_borrowing_demo
from screens.app import LibdeskApp, ScreenSpec
from screens.borrowing import BorrowingDetailScreen, BorrowingScreen
from screens.borrowing_action_dialog import ActionDialog
from screens.borrowing_new_request import NewRequestDialog
from screens.choosers import Chooser
from screens.help import HelpScreen
from screens.item_dialogs import ConfirmDialog, PromptDialog
from screens.widgets import DeskHeader
from tests.conftest import FROZEN, db_fingerprint, make_db
from tests.screens.lists_fixtures import SIZE, demo_institution, list_app, settle

MODE = "borrowing"
SPEC = ScreenSpec("Borrowing Requests", "screens.borrowing:BorrowingScreen",
                  "Resource-sharing borrowing requests: checks, actions, report", key="f12")
"""Until the screen is in ``screens.app.SCREENS``, each test registers it on its app."""

PATRONS = [f"P{n:04d}" for n in range(1, 41)]

# The demo's requests (load_borrowing_demo, in the order it makes them).
READY = 4            # Ready to be Sent, rota YALE first, with an Active Note (1)
READY_OWN_ROTA = 5   # Ready to be Sent, rota BROWN, YALE
MESSAGE_ON = 6       # Request Sent to Partner (YALE), an active general message (2)
SHIPPED_MSG = 13     # Shipped Physically by YALE, an active general message (3)
LOANED = 15          # Loaned Item to Patron
STUCK_TRANSIT = 19   # Request Completed, its item stuck In Transit (B8)


@pytest.fixture
def borrowing_db(tmp_path: Path) -> Iterator[Database]:
    """The tests' items and the demo's borrowing requests in every status."""
    db = make_db(tmp_path / "desk.db", demo_institution())
    try:
        load_borrowing_demo(db, lambda days: clock.freeze(FROZEN - timedelta(days=days)), PATRONS)
    finally:
        clock.freeze(FROZEN)
    yield db
    db.close()


def borrowing_app(db: Database, *, operator: str = "admin", at: str | None = "WID-CIRC") -> LibdeskApp:
    app = list_app(db, operator=operator, at=at)
    if MODE not in app.screen_specs:
        app.register_screen(MODE, SPEC)
    return app


async def _open(pilot, view: str = "requests") -> BorrowingScreen:  # type: ignore[no-untyped-def]
    pilot.app.action_open(MODE)
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, BorrowingScreen)
    if view != "requests":
        screen.show_view(view)
        await settle(pilot)
    return screen


async def _on_row(pilot, screen: BorrowingScreen, key: str) -> None:  # type: ignore[no-untyped-def]
    table = screen.table(screen.view)
    table.focus()
    screen.move_to_key(table, key)
    await pilot.pause()
    assert screen.highlighted_key(table) == key


def _cells(screen: BorrowingScreen, view: str, key: str) -> dict[str, str]:
    table = screen.table(view)
    return {str(column.key.value): str(cell) for column, cell in zip(table.columns.values(), table.get_row(key))}


def _status(db: Database, i: int) -> str:
    return str(borrowing.show(db, i)["status"])


def _header_text(app: LibdeskApp) -> str:
    return app.screen.query_one(DeskHeader).render().plain


async def _choose(pilot, option: str) -> None:  # type: ignore[no-untyped-def]
    """In the open chooser, Enter on ``option``."""
    chooser = pilot.app.screen
    assert isinstance(chooser, Chooser)
    options = chooser.query_one(OptionList)
    options.highlighted = options.get_option_index(option)
    await pilot.press("enter")
    await settle(pilot)


async def test_daily_check_offers_send_on_ready_rows_and_send_reaches_the_first_partner(borrowing_db) -> None:
    """B7/B3: the daily check lists Ready to be Sent with its count and Send on each row,
    oldest first; Enter, Enter sends it: Request Sent to Partner, with the rota's first."""
    app = borrowing_app(borrowing_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, "daily")
        checks = borrowing.checks(borrowing_db, "daily")
        labels = [s["label"] for s in checks["sections"]]
        table = screen.table("daily")
        headings = [str(table.get_row(f"sec:{s['key']}")[1]) for s in checks["sections"]]
        assert headings == [f"{s['label']} ({s['count']})" for s in checks["sections"]]
        assert labels[2] == "Ready to be Sent" and checks["sections"][2]["count"] == 2
        ready = [k.value for k in table.rows if str(k.value).startswith("ready_to_be_sent:")]
        assert ready == [f"ready_to_be_sent:{READY}", f"ready_to_be_sent:{READY_OWN_ROTA}"]  # oldest first
        assert _cells(screen, "daily", f"ready_to_be_sent:{READY}")["action"] == "▸ Send"

        await _on_row(pilot, screen, f"ready_to_be_sent:{READY}")
        await pilot.press("enter")
        await pilot.pause()
        chooser = app.screen
        assert isinstance(chooser, Chooser)
        options = chooser.query_one(OptionList)
        assert options.highlighted == 0 and options.get_option_at_index(0).id == "send"
        await pilot.press("enter")
        await settle(pilot)

        shown = borrowing.show(borrowing_db, READY)
        # The demo's Ready to be Sent requests wait for Brown, who takes requests by hand.
        assert shown["status"] == borrowing.REQUEST_SENT and shown["current_partner"] == "BROWN"
        assert screen.result_line.kind == "ok"
        assert screen.result_line.text == f"Borrowing request {READY} sent to Brown University Library (BROWN)"
        assert f"ready_to_be_sent:{READY}" not in screen.rows["daily"]
        assert str(table.get_row("sec:ready_to_be_sent")[1]) == "Ready to be Sent (1)"


async def test_the_app_does_the_timed_borrowing_work_at_start_and_says_so(borrowing_db) -> None:
    """Seed 004: a partner that has not answered in time is passed over without staff action;
    the app runs the timed work when it starts (and hourly), in a worker, and tells the desk."""
    clock.freeze(FROZEN + timedelta(days=5))  # request 6 went to Yale 15 days ago (14 allowed)
    app = borrowing_app(borrowing_db)
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        shown = borrowing.show(borrowing_db, MESSAGE_ON)
        assert shown["current_partner"] == "COLUMBIA"
        assert borrowing.borrowing_history(borrowing_db, MESSAGE_ON)[-1]["operator"] == "system"
        titles = [n.title for n in app._notifications]
        assert any("moved on by themselves" in (t or "") for t in titles), titles


async def test_dismissing_a_general_message_lowers_the_header_task_count(borrowing_db) -> None:
    """B6: the header counts active general messages; Dismiss on the daily check's message row
    clears it and the count goes down at once."""
    app = borrowing_app(borrowing_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, "daily")
        assert app.task_count == borrowing.task_count(borrowing_db) == 2
        assert "Tasks 2" in _header_text(app)
        message_id = borrowing.show(borrowing_db, MESSAGE_ON)["messages"][0]["id"]
        assert _cells(screen, "daily", f"msg:{message_id}")["action"] == "▸ Dismiss"

        await _on_row(pilot, screen, f"msg:{message_id}")
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.query_one(OptionList).get_option_at_index(0).id == f"dismiss:{message_id}"
        await pilot.press("enter")
        await settle(pilot)

        assert borrowing.task_count(borrowing_db) == 1
        assert app.task_count == 1
        assert "Tasks 1" in _header_text(app)
        assert not borrowing.show(borrowing_db, MESSAGE_ON)["messages"][0]["active"]
        assert f"msg:{message_id}" not in screen.rows["daily"]
        assert screen.result_line.kind == "ok"


async def test_a_refused_transition_is_said_in_red_and_changes_nothing(borrowing_db) -> None:
    """Del (cancel) on a loaned request: the engine's refusal, naming what is allowed from
    here, in red; the database is exactly as it was."""
    app = borrowing_app(borrowing_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        await _on_row(pilot, screen, str(LOANED))
        before = db_fingerprint(borrowing_db)
        await pilot.press("delete")
        await pilot.pause()
        await _choose(pilot, "patron")
        assert screen.result_line.kind == "error"
        assert screen.result_line.text == (
            f"✗ Borrowing request {LOANED} is Loaned Item to Patron: cannot cancel; allowed from here: return, "
            "partner-checkin, partner-message, note")
        assert db_fingerprint(borrowing_db) == before
        assert _status(borrowing_db, LOANED) == borrowing.LOANED
        assert app.screen is screen  # no traceback, no pop-up left


async def test_requests_filter_by_status_and_the_menu_offers_only_what_the_status_allows(borrowing_db) -> None:
    """The status filter narrows the list; a Shipped request's menu: Receive, Cancel, its
    message, a note, then the partner's check-in and message (recorded for YALE)."""
    app = borrowing_app(borrowing_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        assert len(screen.rows["requests"]) == len(borrowing.list_requests(borrowing_db)) == 22
        screen.query_one("#borrowing-status", Select).value = borrowing.SHIPPED
        await settle(pilot)
        assert list(screen.rows["requests"]) == ["13", "12"]
        assert _cells(screen, "requests", "13")["active_messages"] == "1"
        await _on_row(pilot, screen, str(SHIPPED_MSG))
        await pilot.press("enter")
        await pilot.pause()
        options = app.screen.query_one(OptionList)
        ids = [options.get_option_at_index(n).id for n in range(options.option_count)]
        assert [i for i in ids if i] == ["receive", "cancel", "dismiss:3", "note", "partner-checkin",
                                          "partner-message", "details"]
        await pilot.press("escape")


async def test_requests_filter_to_those_with_active_general_messages(borrowing_db) -> None:
    """Seed 004: "facet for these messages in your Borrowing Requests queue"."""
    with_messages = [str(r["id"]) for r in borrowing.list_requests(borrowing_db) if r["active_messages"]]
    assert with_messages  # the demo has lenders' messages waiting
    app = borrowing_app(borrowing_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        screen.query_one("#borrowing-status", Select).value = borrowing.WITH_MESSAGES
        await settle(pilot)
        assert list(screen.rows["requests"]) == with_messages
        assert "With active general messages" in str(screen.query_one("#borrowing-summary").render())


async def test_a_borrowed_item_from_send_to_the_lenders_check_in(borrowing_db) -> None:
    """B3/B4 through the row actions and their pop-ups: send, the partner ships (recorded),
    receive at the pickup desk, loan, return at the resource-sharing desk, the lender's check-in."""
    app = borrowing_app(borrowing_db)
    i = READY_OWN_ROTA
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)

        async def act(option: str) -> None:
            await _on_row(pilot, screen, str(i))
            await pilot.press("enter")
            await pilot.pause()
            await _choose(pilot, option)

        await act("send")
        assert _status(borrowing_db, i) == borrowing.REQUEST_SENT
        await act("partner-ship")
        dialog = app.screen
        assert isinstance(dialog, ActionDialog)
        dialog.query_one("#action-text", Input).value = "BRN-0042"
        await pilot.press("enter")
        await settle(pilot)
        assert _status(borrowing_db, i) == borrowing.SHIPPED
        await act("receive")
        dialog = app.screen
        assert isinstance(dialog, ActionDialog)
        assert dialog.query_one("#action-desk", Select).value == "WID-CIRC"  # Currently At
        assert dialog.query_one("#action-text", Input).value == "BRN-0042"   # the lender's barcode
        await pilot.press("ctrl+s")
        await settle(pilot)
        shown = borrowing.show(borrowing_db, i)
        assert shown["status"] == borrowing.RECEIVED
        assert shown["item"]["barcode"] == "BRN-0042" and shown["item"]["hold_shelf"] == "WID-CIRC"
        await act("loan")
        assert _status(borrowing_db, i) == borrowing.LOANED
        await act("return")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert _status(borrowing_db, i) == borrowing.RETURNED_TO_PARTNER
        await act("partner-checkin")
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("right", "enter")
        await settle(pilot)
        assert _status(borrowing_db, i) == borrowing.COMPLETED
        assert screen.result_line.kind == "ok"
        events = [e["action"] for e in borrowing.borrowing_history(borrowing_db, i)]
        assert {"partner_shipped", "received", "loaned", "returned_to_partner", "partner_checked_in"} <= set(events)


async def test_detail_shows_rota_messages_and_partner_actions_and_dismisses(borrowing_db) -> None:
    """ctrl+t: the rota with the current partner, the messages (Enter: Dismiss), the audit
    trail with every partner action marked as the partner's."""
    app = borrowing_app(borrowing_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        await _on_row(pilot, screen, str(SHIPPED_MSG))
        await pilot.press("ctrl+t")
        await settle(pilot)
        detail = app.screen
        assert isinstance(detail, BorrowingDetailScreen) and detail.borrowing_id == SHIPPED_MSG
        fields = str(detail.query_one("#bdetail-fields").render())
        assert "Rota [YALE] → COLUMBIA → BROWN" in fields
        assert "current partner Yale University Library (YALE)" in fields
        history = detail.history_table
        expected = borrowing.borrowing_history(borrowing_db, SHIPPED_MSG)
        assert history.row_count == len(expected)
        by = {str(history.get_row(str(e["id"]))[4]): str(history.get_row(str(e["id"]))[1]) for e in expected}
        assert by["◆ Partner shipped"] == "Partner" and by["◆ Partner message"] == "Partner"
        assert by["Sent"] == "Staff"

        messages = detail.messages_table
        messages.focus()
        assert str(messages.get_row("3")[4]) == "ACTIVE"
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.query_one(OptionList).get_option_at_index(0).id == "dismiss:3"
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is detail
        assert str(messages.get_row("3")[4]) == "dismissed by admin"
        assert app.task_count == borrowing.task_count(borrowing_db) == 1
        assert history.row_count == len(expected) + 1
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen


async def test_new_request_refused_in_the_pop_up_then_made(borrowing_db) -> None:
    """ctrl+n: an unknown partner is the engine's refusal in the pop-up (nothing made, the
    answers kept); corrected, the request is made and highlighted."""
    app = borrowing_app(borrowing_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        await pilot.press("ctrl+n")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, NewRequestDialog)
        assert dialog.query_one("#new-pickup", Select).value == "WID-CIRC"
        dialog.query_one("#new-patron", Input).value = "P0007"
        dialog.query_one("#new-title", Input).value = "Flora of Maine"
        dialog.query_one("#new-partners", Input).value = "BROWN, NOPE"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is dialog
        assert "Unknown partner 'NOPE'" in str(dialog.query_one("#new-error").render())
        assert len(borrowing.list_requests(borrowing_db)) == 22
        dialog.query_one("#new-partners", Input).value = "BROWN, YALE"
        await pilot.press("ctrl+s")
        await settle(pilot)
        made = borrowing.list_requests(borrowing_db)[0]
        assert (made["id"], made["status"], made["partner"]) == (23, borrowing.READY_TO_BE_SENT, "BROWN")
        assert screen.highlighted is not None and screen.highlighted.request_id == 23
        assert screen.result_line.text.startswith("Borrowing request 23 for patron P0007: Ready to be Sent")


async def test_enter_submits_the_new_request_and_names_a_missing_answer(borrowing_db) -> None:
    """Issue 12 item 2: Enter submits from any field, as in any form; with the title still
    missing it is named and gets the focus (a scanned patron card ends in Enter)."""
    app = borrowing_app(borrowing_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await _open(pilot)
        await pilot.press("ctrl+n")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, NewRequestDialog)
        await pilot.press(*"P0007", "enter")
        await pilot.pause()
        assert app.screen is dialog and dialog.focused is dialog.query_one("#new-title", Input)
        assert "Title is needed" in str(dialog.query_one("#new-error").render())
        assert len(borrowing.list_requests(borrowing_db)) == 22
        await pilot.press(*"Flora of Maine", "enter")
        await settle(pilot)
        assert app.screen is not dialog
        made = borrowing.list_requests(borrowing_db)[0]
        assert (made["id"], made["patron"]) == (23, "P0007")


async def test_monthly_check_and_report_list_the_request_stuck_in_transit(borrowing_db, tmp_path: Path) -> None:
    """B8: the monthly check counts completed requests not returned properly; the report lists
    the one stuck in Transit first, and ctrl+s exports it to XLSX that reads back."""
    app = borrowing_app(borrowing_db)
    target = tmp_path / "not-returned.xlsx"
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, "monthly")
        assert str(screen.table("monthly").get_row("sec:not_returned_properly")[1]) == \
            "Completed, not returned properly (3)"
        assert _cells(screen, "monthly", f"stuck:{STUCK_TRANSIT}")["action"] == "▸ Clean up"
        screen.show_view("report")
        await settle(pilot)
        first = _cells(screen, "report", str(STUCK_TRANSIT))
        assert (first["process"], first["barcode"]) == ("Transit", f"RS{STUCK_TRANSIT:06d}")
        assert first["where"] == "in transit to Widener Circulation Desk"
        assert list(screen.rows["report"]) == [str(r["id"]) for r in borrowing.stuck_report(borrowing_db)["rows"]]
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, PromptDialog)
        app.screen.query_one("#answer", Input).value = str(target)
        await pilot.press("enter")
        await settle(pilot)
        assert screen.result_line.kind == "ok" and str(target) in screen.result_line.text
    sheet = openpyxl.load_workbook(target, read_only=True).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0] == [header for _, header in borrowing.REPORT_COLUMNS]
    assert rows[1][:3] == ["Transit", STUCK_TRANSIT, "P0016"]
    assert [r[0] for r in rows[1:]] == ["Transit", "Loan", "Resource Sharing Request"]


async def test_clean_up_from_the_report_scans_the_stuck_item_in(borrowing_db) -> None:
    """The report's row action scans the stuck temporary item in at a desk (circulation's own
    Scan In): it leaves the catalogue and the report."""
    app = borrowing_app(borrowing_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, "report")
        await _on_row(pilot, screen, str(STUCK_TRANSIT))
        await pilot.press("enter")
        await pilot.pause()
        await _choose(pilot, "cleanup")
        assert isinstance(app.screen, ActionDialog)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert screen.result_line.text.startswith(f"Temporary item RS{STUCK_TRANSIT:06d} removed from the catalogue")
        assert str(STUCK_TRANSIT) not in screen.rows["report"]
        assert borrowing.show(borrowing_db, STUCK_TRANSIT)["item_removed"]


async def test_export_of_the_requests_list_to_csv_is_what_is_shown(borrowing_db, tmp_path: Path) -> None:
    """L4: the list's columns and rows, dates as shown."""
    app = borrowing_app(borrowing_db)
    target = tmp_path / "requests.csv"
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        await pilot.press("ctrl+s")
        await pilot.pause()
        app.screen.query_one("#answer", Input).value = str(target)
        await pilot.press("enter")
        await settle(pilot)
        shown = [[str(c) for c in screen.table("requests").get_row(k)] for k in screen.rows["requests"]]
    rows = list(csv.reader(target.read_text(encoding="utf-8").splitlines()))
    assert rows[0] == [header for _, header in borrowing.LIST_COLUMNS]
    messages = [header for _, header in borrowing.LIST_COLUMNS].index("Messages")
    assert [r[:messages] for r in rows[1:]] == [r[:messages] for r in shown]


async def test_an_operator_without_the_borrowing_role_is_told_so(borrowing_db) -> None:
    """W3 for borrowing: circulation staff see the list, and Send is refused in red."""
    app = borrowing_app(borrowing_db, operator="circ")
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, "daily")
        await _on_row(pilot, screen, f"ready_to_be_sent:{READY}")
        before = db_fingerprint(borrowing_db)
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
        assert screen.result_line.kind == "error"
        assert "does not manage borrowing requests" in screen.result_line.text
        assert db_fingerprint(borrowing_db) == before


async def test_help_lists_the_keys_and_the_palette_the_views_and_actions(borrowing_db) -> None:
    """F1 shows the screen's keys; the palette offers each view and the actions by name."""
    app = borrowing_app(borrowing_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        names = [command.name for command in app.desk_commands(screen)]
        assert {"Borrowing: Daily check", "Borrowing: Not returned properly", "New borrowing request",
                "Export this borrowing view"} <= set(names)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        keys = set(dict(app.screen.keys).values())
        assert {"New borrowing request", "Cancel request", "Details & audit trail", "Export"} <= keys


class TestBorrowingSnapshots:
    def test_requests_list(self, borrowing_db, snap_compare) -> None:
        """Every request, newest first, with its status, partner and messages."""
        async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
            await _open(pilot)

        assert snap_compare(borrowing_app(borrowing_db), terminal_size=SIZE, run_before=run_before)

    def test_daily_check(self, borrowing_db, snap_compare) -> None:
        """The daily check: each state with its count and action, the requests oldest first."""
        async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
            screen = await _open(pilot, "daily")
            await _on_row(pilot, screen, f"ready_to_be_sent:{READY}")

        assert snap_compare(borrowing_app(borrowing_db), terminal_size=SIZE, run_before=run_before)

    def test_detail_with_partner_actions(self, borrowing_db, snap_compare) -> None:
        """A shipped request: rota, its lender's message, the audit trail with partner actions."""
        async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
            screen = await _open(pilot)
            await _on_row(pilot, screen, str(SHIPPED_MSG))
            await pilot.press("ctrl+t")
            await settle(pilot)

        assert snap_compare(borrowing_app(borrowing_db), terminal_size=SIZE, run_before=run_before)

    def test_not_returned_properly_report(self, borrowing_db, snap_compare) -> None:
        """The monthly report (B8), by process type, with the clean-up of the highlighted row."""
        async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
            await _open(pilot, "report")

        assert snap_compare(borrowing_app(borrowing_db), terminal_size=SIZE, run_before=run_before)
