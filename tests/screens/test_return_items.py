"""Return Items: scan to return, the destination pop-up, the row action Work Order (W10, W11)."""

from __future__ import annotations

from textual.widgets import Checkbox, Input, Select

from libdesk import circulation, queries, requests
from screens.return_items import DestinationPopup, ReturnItemsScreen
from screens.work_order import WorkOrderDialog
from tests.conftest import db_fingerprint
from tests.screens.conftest import SIZE, AppFactory, scanner_burst


def _screen(app: object) -> ReturnItemsScreen:
    screen = app.screen  # type: ignore[attr-defined]
    assert isinstance(screen, ReturnItemsScreen)
    return screen


async def test_return_with_a_waiting_hold_shows_where_it_goes(desk_app: AppFactory) -> None:
    """W10: a request waits (pickup here): the pop-up says hold shelf; the list says it too."""
    app = desk_app("WID-CIRC")
    circulation.loan(app.db, "W02", "P0001", at="WID-CIRC", operator="circ")
    requests.place_request(app.db, "W02", "P0002", "WID-CIRC", operator="circ")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3", *"W02", "enter")
        await pilot.pause()
        popup = app.screen
        assert isinstance(popup, DestinationPopup)
        assert popup.headline == "HOLD SHELF · Widener Circulation Desk"
        assert "P0002" in popup.message
        item = queries.item_show(app.db, "W02")
        assert (item["process_type"], item["hold_shelf"], item["loan"]) == ("hold_shelf", "WID-CIRC", None)
        await pilot.press("enter")
        await pilot.pause()
        screen = _screen(app)
        assert app.focused is screen.scan_field
        assert screen.highlighted is not None and screen.highlighted.next_step.startswith("HOLD SHELF")
        assert screen.banner.has_class("-hold-shelf")


async def test_typing_the_next_barcode_closes_the_pop_up_and_returns_that_item(desk_app: AppFactory) -> None:
    """A scanner is never stopped by the pop-up: the next barcode closes it and is returned."""
    app = desk_app("WID-CIRC")
    for barcode, patron in (("W02", "P0001"), ("W03", "P0002")):
        circulation.loan(app.db, barcode, patron, at="WID-CIRC", operator="circ")
    requests.place_request(app.db, "W02", "P0003", "LAW-CIRC", operator="circ")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3", *"W02", "enter")
        await pilot.pause()
        assert isinstance(app.screen, DestinationPopup)
        assert app.screen.headline == "IN TRANSIT → Langdell Circulation Desk"
        await pilot.press(*"W03", "enter")
        await pilot.pause()
        screen = _screen(app)
        assert queries.item_show(app.db, "W03")["base_status"] == "in_place"
        assert [row.barcode for row in screen.returned.values()] == ["W02", "W03"]
        assert screen.scan_field.value == ""


async def test_a_scanner_burst_into_the_pop_up_closes_it_and_is_one_scan(desk_app: AppFactory) -> None:
    """The whole next barcode, queued at once while the pop-up shows, is returned once and whole."""
    app = desk_app("WID-CIRC")
    for barcode, patron in (("W02", "P0001"), ("W13", "P0002")):
        circulation.loan(app.db, barcode, patron, at="WID-CIRC", operator="circ")
    requests.place_request(app.db, "W02", "P0003", "LAW-CIRC", operator="circ")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3", *"W02", "enter")
        await pilot.pause()
        assert isinstance(app.screen, DestinationPopup)
        scanner_burst(app, "W13")
        await pilot.pause()
        screen = _screen(app)
        assert [row.barcode for row in screen.returned.values()] == ["W02", "W13"]
        assert queries.item_show(app.db, "W13")["base_status"] == "in_place"
        assert screen.scan_field.value == ""


async def test_a_scanner_burst_while_the_list_has_focus_goes_to_the_scan_field(desk_app: AppFactory) -> None:
    """Typing on the returned list goes to the scan field: the scanner's Enter returns the item and
    does not open Work Order for the highlighted row."""
    app = desk_app("WID-CIRC")
    for barcode, patron in (("W04", "P0001"), ("W05", "P0002")):
        circulation.loan(app.db, barcode, patron, at="WID-CIRC", operator="circ")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3", *"W04", "enter")
        await pilot.pause()
        screen = _screen(app)
        screen.returned_table.focus()
        await pilot.pause()
        scanner_burst(app, "W05")
        await pilot.pause()
        assert isinstance(app.screen, ReturnItemsScreen)
        assert [row.barcode for row in screen.returned.values()] == ["W04", "W05"]
        assert app.focused is screen.scan_field


async def test_work_order_row_action_from_the_returned_list(desk_app: AppFactory) -> None:
    """W11: ctrl+w on a returned row; in hand: the item goes In Transit to the department now."""
    app = desk_app("WID-CIRC")
    circulation.loan(app.db, "W04", "P0001", at="WID-CIRC", operator="circ")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3", *"W04", "enter")
        await pilot.pause()
        await pilot.press("ctrl+w")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, WorkOrderDialog) and dialog.barcode == "W04"
        assert dialog.query_one("#in-hand", Checkbox).value is True  # at Return Items the item is in hand
        dialog.query_one("#type", Select).value = "PRES"
        await pilot.pause()
        dialog.query_one("#department", Select).value = "CCWID"
        dialog.query_one("#note", Input).focus()
        await pilot.press(*"spine loose", "enter")
        await pilot.pause()
        screen = _screen(app)
        item = queries.item_show(app.db, "W04")
        assert (item["process_type"], item["transit_to"]) == ("transit", "CCWID")
        request = item["requests"][0]
        assert (request["kind"], request["department"], request["note"], request["in_hand"]) == (
            "work_order", "CCWID", "spine loose", True)
        assert screen.highlighted is not None
        assert screen.highlighted.next_step == "Work Order: IN TRANSIT → Collections Care (Widener)"
        assert app.focused is screen.scan_field


async def test_work_order_needs_type_and_department(desk_app: AppFactory) -> None:
    """Submitting without a department says so in the pop-up and places nothing."""
    app = desk_app("WID-CIRC")
    circulation.loan(app.db, "W04", "P0001", at="WID-CIRC", operator="circ")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3", *"W04", "enter", "ctrl+w")
        await pilot.pause()
        before = db_fingerprint(app.db)
        dialog = app.screen
        dialog.query_one("#type", Select).value = "PRES"  # two departments: none chosen yet
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, WorkOrderDialog)
        assert "department" in str(dialog.query_one("#work-order-error").render())
        await pilot.press("escape")
        assert db_fingerprint(app.db) == before


async def test_returning_an_item_not_on_loan_is_red_and_changes_nothing(desk_app: AppFactory) -> None:
    """An item on the shelf cannot be returned: the engine's message in red, the database untouched."""
    app = desk_app("WID-CIRC")
    before = db_fingerprint(app.db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3", *"W09", "enter")
        await pilot.pause()
        screen = _screen(app)
        assert screen.banner.has_class("-error")
        assert "not on loan" in screen.banner.headline
        assert screen.returned == {}
    assert db_fingerprint(app.db) == before


class TestReturnItemsSnapshots:
    """Return Items as it looks (seeded database, frozen clock, 120x36)."""

    def test_destination_pop_up(self, snap_compare: object, desk_app: AppFactory) -> None:
        """A request waits at another desk: the pop-up over the screen says In Transit to it."""
        app = desk_app("WID-CIRC")
        for barcode, patron in (("W02", "P0001"), ("W03", "P0002")):
            circulation.loan(app.db, barcode, patron, at="WID-CIRC", operator="circ")
        requests.place_request(app.db, "W02", "P0003", "LAW-CIRC", operator="circ")
        assert snap_compare(app, press=["f3", *"W03", "enter", *"W02", "enter"],  # type: ignore[operator]
                            terminal_size=SIZE)

    def test_work_order_pop_up(self, snap_compare: object, desk_app: AppFactory) -> None:
        """ctrl+w on a returned row: type, department, note, Do not pick from shelf."""
        app = desk_app("WID-CIRC")
        circulation.loan(app.db, "W04", "P0001", at="WID-CIRC", operator="circ")
        assert snap_compare(app, press=["f3", *"W04", "enter", "ctrl+w"], terminal_size=SIZE)  # type: ignore[operator]

    def test_returned_list_after_a_work_order(self, snap_compare: object, desk_app: AppFactory) -> None:
        """The list's Next Step column after returns and one Work Order."""
        app = desk_app("WID-CIRC")
        for barcode, patron in (("W04", "P0001"), ("W05", "P0002"), ("L01", "P0003")):
            circulation.loan(app.db, barcode, patron, at="WID-CIRC" if barcode[0] == "W" else "LAW-CIRC",
                             operator="admin")

        async def work_order(pilot: object) -> None:
            await pilot.press("f3", *"W04", "enter", *"W05", "enter", *"L01", "enter", "down", "ctrl+w")  # type: ignore[attr-defined]
            await pilot.pause()  # type: ignore[attr-defined]
            dialog = app.screen
            dialog.query_one("#type", Select).value = "TS"
            await pilot.pause()  # type: ignore[attr-defined]
            dialog.query_one("#department", Select).value = "ITS625"
            dialog.query_one("#in-hand", Checkbox).value = False
            await pilot.press("ctrl+s")  # type: ignore[attr-defined]

        assert snap_compare(app, terminal_size=SIZE, run_before=work_order)  # type: ignore[operator]
