"""Item detail: fields, the queue with Activate / Cancel (Q5) / Update Expiry, the history."""

from __future__ import annotations

from datetime import date

from textual.widgets import Button, Input, Static

from libdesk import queries, requests
from screens.item_detail import ItemDetailScreen
from screens.item_dialogs import ConfirmDialog, PromptDialog
from tests.conftest import db_fingerprint
from tests.screens.lists_fixtures import SIZE, list_app, list_db, settle

__all__ = ["list_db"]  # a fixture


async def _open(pilot, barcode: str, focus: str = "queue") -> ItemDetailScreen:  # type: ignore[no-untyped-def]
    await pilot.app.push_screen(ItemDetailScreen(pilot.app.db, barcode, focus=focus))
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ItemDetailScreen)
    return screen


def _request_id(db, barcode: str, **match: object) -> int:  # type: ignore[no-untyped-def]
    for req in queries.item_show(db, barcode)["requests"]:
        if all(req[k] == v for k, v in match.items()):
            return int(req["id"])
    raise AssertionError(f"no request {match} on {barcode}")


def _dialog_text(app) -> str:  # type: ignore[no-untyped-def]
    dialog = app.screen
    assert isinstance(dialog, ConfirmDialog)
    return str(dialog.query_one(".dialog-body", Static).render())


async def _answer(pilot, yes: bool) -> None:  # type: ignore[no-untyped-def]
    """Press the dialog's Yes or No button (No has the focus at first)."""
    button = pilot.app.screen.query_one("#yes" if yes else "#no", Button)
    button.focus()
    await pilot.press("enter")
    await settle(pilot)


async def test_fields_queue_in_order_and_history_with_operator_and_creator(list_db) -> None:
    """The queue in queue order; the history names each change's operator and, for a
    request's changes, the request's creator (W15)."""
    app = list_app(list_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, "W02")
        item = queries.item_show(app.db, "W02")
        assert [int(k.value) for k in screen.queue_table.rows] == [r["id"] for r in item["requests"]]
        history = [screen.history_table.get_row(k) for k in screen.history_table.rows]
        operators = {str(row[1]) for row in history}
        assert {"cc", "circ"} <= operators
        patron_request = _request_id(app.db, "W02", kind="patron")
        assert any(str(row[4]) == f"{patron_request} (circ)" for row in history)
        assert screen.fields["Process type"] == "Preservation (Collections Care) Work Order (Pocket)"
        assert screen.fields["Department"] == "Collections Care (Widener) (CCWID)"


async def test_activate_forces_a_request_to_the_front(list_db) -> None:
    """Q2: ctrl+f on the second request makes it Forced and first, in the database and on screen."""
    app = list_app(list_db, at="WID-CIRC")
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, "W13")
        work_order = _request_id(app.db, "W13", kind="work_order")
        assert screen.highlighted_key(screen.queue_table) != str(work_order)
        screen.queue_table.move_cursor(row=1)
        await pilot.press("ctrl+f")
        await settle(pilot)
        queue = requests.list_requests(app.db, "W13")
        assert (queue[0]["id"], queue[0]["forced"]) == (work_order, True)
        assert next(iter(screen.queue_table.rows)).value == str(work_order)
        assert screen.result_line.kind == "ok" and "Forced" in screen.result_line.text


async def test_cancel_before_pickup_explains_then_cancels_request_and_work_order(list_db) -> None:
    """Q5, Pickup From Shelf: the confirmation says the item stays; Yes cancels the request."""
    app = list_app(list_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, "W09")
        await pilot.press("delete")
        await pilot.pause()
        text = _dialog_text(app)
        assert "Pickup From Shelf" in text and "request and its work order" in text and "stays where it is" in text
        await _answer(pilot, yes=True)
        item = queries.item_show(app.db, "W09")
        assert item["requests"] == [] and item["process_type"] is None
        assert screen.result_line.kind == "ok"


async def test_cancel_in_transit_needs_a_second_confirmation_and_cancels_only_the_request(list_db) -> None:
    """Q5, Transit Item: the first dialog says not to; No changes nothing; Yes then Yes again
    cancels only the request, and the item still travels to the department."""
    app = list_app(list_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, "W11")
        before = db_fingerprint(app.db)
        await pilot.press("delete")
        await pilot.pause()
        text = _dialog_text(app)
        assert "Transit Item" in text and "Do NOT cancel" in text and "mark the work order Done" in text
        await _answer(pilot, yes=False)  # the recommended answer
        assert app.screen is screen and db_fingerprint(app.db) == before

        await pilot.press("delete")
        await pilot.pause()
        await _answer(pilot, yes=True)
        assert isinstance(app.screen, ConfirmDialog) and app.screen.id == "confirm-cancel-again"
        assert "must still arrive and be marked Done" in _dialog_text(app)
        await _answer(pilot, yes=True)
        item = queries.item_show(app.db, "W11")
        assert item["requests"] == []
        assert (item["process_type"], item["transit_to"]) == ("transit", "CCWID")
        assert "must arrive and be marked Done" in screen.result_line.text


async def test_cancel_in_process_cancels_only_the_request(list_db) -> None:
    """Q5, In Process: the item stays in its work order until Done."""
    app = list_app(list_db)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, "W03")
        await pilot.press("delete")
        await pilot.pause()
        assert "stays in process" in _dialog_text(app)
        await _answer(pilot, yes=True)
        item = queries.item_show(app.db, "W03")
        assert item["requests"] == []
        assert (item["process_type"], item["department"], item["status"]) == ("work_order", "CCWID", "Repair")


async def test_update_expiry_sets_the_date_and_a_bad_date_is_red(list_db) -> None:
    """W16: ctrl+e asks for a date; the engine refuses what is not one."""
    app = list_app(list_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, "W04")
        await pilot.press("ctrl+e")
        await pilot.pause()
        assert isinstance(app.screen, PromptDialog)
        app.screen.query_one("#answer", Input).value = "2026-04-30"
        await pilot.press("enter")
        await settle(pilot)
        assert queries.item_show(app.db, "W04")["requests"][0]["expiry"] == date(2026, 4, 30).isoformat()
        await pilot.press("ctrl+e")
        await pilot.pause()
        app.screen.query_one("#answer", Input).value = "next week"
        await pilot.press("enter")
        await settle(pilot)
        assert screen.result_line.kind == "error" and "not a date" in screen.result_line.text


async def test_a_scan_shows_that_item_and_an_unknown_barcode_keeps_this_one(list_db) -> None:
    """A scan on the detail screen switches item; a wrong barcode is red and changes nothing."""
    app = list_app(list_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, "W02")
        screen.handle_scan("NOPE-9")
        await pilot.pause()
        assert screen.barcode == "W02" and screen.result_line.kind == "error"
        screen.handle_scan("W12")
        await pilot.pause()
        assert screen.barcode == "W12" and screen.fields["Loan"] == "P0003, due 2026-03-08"  # recalled (Q3)


class TestItemDetailSnapshots:
    def test_item_in_process_with_its_queue_and_history(self, list_db, snap_compare) -> None:
        """W02: fields, two requests in order, its history with operators and creators."""
        async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
            await _open(pilot, "W02")

        assert snap_compare(list_app(list_db), terminal_size=SIZE, run_before=run_before)

    def test_transit_item_cancel_confirmation(self, list_db, snap_compare) -> None:
        """The Q5 explanation for a work order in Transit Item, "Keep it" focused."""
        async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
            await _open(pilot, "W11")
            await pilot.press("delete")
            await pilot.pause()

        assert snap_compare(list_app(list_db), terminal_size=SIZE, run_before=run_before)


async def test_after_a_cancel_the_cursor_stays_at_the_cancelled_requests_place(list_db) -> None:
    """Issue 12 item 5: the next key must not act on row 1 because the cursor jumped there."""
    for patron in ("P0006", "P0007"):
        requests.place_request(list_db, "W12", patron, "WID-CIRC", operator="circ", at="WID-CIRC")
    app = list_app(list_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, "W12")
        table = screen.queue_table
        assert table.row_count == 3
        table.move_cursor(row=1)
        await pilot.pause()
        third = table.coordinate_to_cell_key((2, 0)).row_key.value  # type: ignore[arg-type]
        await pilot.press("delete")
        await pilot.pause()
        await _answer(pilot, yes=True)
        await settle(pilot)
        assert table.row_count == 2
        assert table.cursor_row == 1 and screen.highlighted_key(table) == third
