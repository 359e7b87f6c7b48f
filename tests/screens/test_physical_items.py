"""Physical Items search: the box, the results, and the row actions through the engine."""

from __future__ import annotations

from textual.widgets import Input, Select

from libdesk import queries
from screens.choosers import Chooser
from screens.item_detail import ItemDetailScreen
from screens.item_dialogs import ItemEditorDialog, RequestDialog
from screens.physical_items import PhysicalItemsScreen
from screens.work_order import WorkOrderDialog
from tests.conftest import db_fingerprint
from tests.screens.lists_fixtures import SIZE, list_app, list_db, settle

__all__ = ["list_db"]  # a fixture


async def _search(pilot, text: str) -> PhysicalItemsScreen:  # type: ignore[no-untyped-def]
    await pilot.press("f4")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, PhysicalItemsScreen)
    screen.search_box.focus()
    screen.search_box.value = text
    await pilot.press("enter")
    await settle(pilot)
    return screen


async def test_f4_opens_the_search_and_a_barcode_finds_the_item_with_its_process(list_db) -> None:
    """F4 (registered as app.py registers it) opens the search; a barcode gives its row."""
    app = list_app(list_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _search(pilot, "W02")
        assert list(screen.rows) == ["W02"]
        row = screen.rows["W02"]
        assert row["base_status"] == "Not in place"
        assert row["process"] == "Preservation (Collections Care) Work Order (Pocket)"
        assert (row["department"], row["requests"]) == ("CCWID", 2)  # its work order and P0001's request
        assert app.focused is screen.table  # results in hand: Enter opens the row actions


async def test_prefix_search_lists_the_range_and_an_empty_search_is_red(list_db) -> None:
    """``W0*`` is a barcode range; Enter on an empty box is an error, not a search."""
    app = list_app(list_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _search(pilot, "W0*")
        assert sorted(screen.rows) == [f"W0{n}" for n in range(1, 10)]
        screen.search_box.value = ""
        screen.search_box.focus()
        await pilot.press("enter")
        await settle(pilot)
        assert screen.result_line.kind == "error"


async def test_work_order_row_action_puts_the_item_on_the_pick_list(list_db) -> None:
    """W11: search, Enter on the row, Work Order, type + department + note: the engine places it
    (not in hand: Pickup From Shelf) and the row shows the request."""
    app = list_app(list_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _search(pilot, "W07")
        await pilot.press("enter")  # the row-action menu
        await pilot.pause()
        assert isinstance(app.screen, Chooser)
        await pilot.press("enter")  # Work Order is first
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, WorkOrderDialog)
        dialog.query_one("#type", Select).value = "TS"
        await pilot.pause()
        dialog.query_one("#department", Select).value = "ITS625"
        dialog.query_one("#note", Input).focus()
        await pilot.press(*"check edition", "enter")
        await settle(pilot)
        assert app.screen is screen
        queue = queries.item_show(app.db, "W07")["requests"]
        assert [(r["kind"], r["department"], r["step"], r["note"], r["creator"]) for r in queue] == [
            ("work_order", "ITS625", "pickup_from_shelf", "check edition", "admin")]
        assert screen.result_line.kind == "ok" and "pick list" in screen.result_line.text
        assert screen.rows["W07"]["requests"] == 1


async def test_request_row_action_places_a_patron_request_at_the_chosen_desk(list_db) -> None:
    """ctrl+n: patron and pickup desk; the engine places the request."""
    app = list_app(list_db, at="WID-CIRC")
    async with app.run_test(size=SIZE) as pilot:
        screen = await _search(pilot, "W14")
        await pilot.press("ctrl+n")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, RequestDialog)
        assert dialog.query_one("#pickup", Select).value == "WID-CIRC"  # Currently At, a desk
        dialog.query_one("#pickup", Select).value = "LAW-CIRC"
        await pilot.press(*"P0007", "enter")
        await settle(pilot)
        queue = queries.item_show(app.db, "W14")["requests"]
        assert [(r["kind"], r["patron"], r["pickup"]) for r in queue] == [("patron", "P0007", "LAW-CIRC")]
        assert screen.rows["W14"]["requests"] == 1


async def test_request_for_an_unknown_patron_is_red_and_changes_nothing(list_db) -> None:
    """The engine refuses; the screen says why in red."""
    app = list_app(list_db, at="WID-CIRC")
    async with app.run_test(size=SIZE) as pilot:
        screen = await _search(pilot, "W14")
        before = db_fingerprint(app.db)
        await pilot.press("ctrl+n")
        await pilot.pause()
        await pilot.press(*"NOBODY", "enter")
        await settle(pilot)
        assert screen.result_line.kind == "error" and "NOBODY" in screen.result_line.text
        assert db_fingerprint(app.db) == before


async def test_edit_item_warns_then_sets_type_and_department_without_status(list_db) -> None:
    """W12: the Physical Item Editor shows Alma's warning; saving puts the item "at" the
    department with no status and no transit."""
    app = list_app(list_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _search(pilot, "W15")
        await pilot.press("ctrl+y")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ItemEditorDialog)
        warning = str(dialog.query_one("#editor-warning").render())
        assert "cannot set a Status" in warning and "bypasses the transit steps" in warning
        dialog.query_one("#editor-type", Select).value = "PRES"
        await pilot.pause()
        dialog.query_one("#editor-department", Select).value = "CCWID"
        await pilot.press("ctrl+s")
        await settle(pilot)
        item = queries.item_show(app.db, "W15")
        assert (item["process_type"], item["department"], item["status"], item["transit_to"]) == (
            "work_order", "CCWID", None, None)
        assert screen.result_line.kind == "warning" and "skipped" in screen.result_line.text
        assert screen.rows["W15"]["department"] == "CCWID"


async def test_history_and_queue_open_the_item_detail_and_esc_comes_back(list_db) -> None:
    """ctrl+t (History) and ctrl+g (Queue) open the item's detail; Esc returns to the results."""
    app = list_app(list_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _search(pilot, "W02")
        await pilot.press("ctrl+t")
        await pilot.pause()
        detail = app.screen
        assert isinstance(detail, ItemDetailScreen) and detail.barcode == "W02"
        assert app.focused is detail.history_table
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert isinstance(app.screen, ItemDetailScreen) and app.focused is app.screen.queue_table


async def test_typing_on_the_results_starts_a_new_search(list_db) -> None:
    """A scanner (or typing) while the list has the focus goes to the search box."""
    app = list_app(list_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _search(pilot, "W0*")
        assert app.focused is screen.table
        await pilot.press(*"W21", "enter")
        await settle(pilot)
        assert list(screen.rows) == ["W21"]


async def _tick(pilot, screen: PhysicalItemsScreen, *barcodes: str) -> None:  # type: ignore[no-untyped-def]
    """Tick rows with space, moving the cursor onto each."""
    screen.table.focus()
    for barcode in barcodes:
        screen.move_to_key(screen.table, barcode)
        await pilot.press("space")
    await pilot.pause()


async def test_a_work_order_for_the_ticked_rows_each_in_its_own_transaction(list_db) -> None:
    """Seed 000 ("using sets"), as in Manage In Process Items: search, space ticks two rows,
    ctrl+w asks the type and department once; each item gets its work order (not in hand: on
    the pick list), and the result line groups them."""
    app = list_app(list_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _search(pilot, "W0*")
        await _tick(pilot, screen, "W06", "W07")
        assert screen.selected == {"W06", "W07"}
        assert str(screen.table.get_cell("W06", "sel")) == "✓" and str(screen.table.get_cell("W08", "sel")) == ""
        assert "2 selected" in str(screen.query_one("#items-count").render())
        await pilot.press("ctrl+w")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, WorkOrderDialog) and dialog.barcode == "2 selected items"
        assert not dialog.query_one("#in-hand").value  # items found by a search are on the shelf
        dialog.query_one("#type", Select).value = "TS"
        await pilot.pause()
        dialog.query_one("#department", Select).value = "ITS625"
        dialog.query_one("#note", Input).value = "recatalog the set"
        dialog.action_submit()
        await settle(pilot)
        assert app.screen is screen
        for code in ("W06", "W07"):
            queue = queries.item_show(app.db, code)["requests"]
            assert [(r["kind"], r["department"], r["step"], r["note"]) for r in queue] == [
                ("work_order", "ITS625", "pickup_from_shelf", "recatalog the set")]
        assert queries.item_show(app.db, "W08")["requests"] == []
        line = screen.result_line.text
        assert line.startswith("Technical Services work order for ITS@625: 2 → "), line
        assert screen.result_line.kind == "ok"
        assert screen.selection_count == 0 and not screen.has_class("-working")
        assert screen.rows["W06"]["requests"] == 1  # the list was read again


async def test_all_matching_selects_every_item_the_search_matches_and_ctrl_b_again_clears(list_db) -> None:
    """ctrl+b: all matching (less a row unticked after it); the bulk worker reads the barcodes
    from the engine, not from the rows shown; ctrl+b again clears."""
    app = list_app(list_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _search(pilot, "W0*")
        await pilot.press("ctrl+b")
        await pilot.pause()
        assert screen.all_matching and screen.selection_count == 9
        assert "9 selected (all matching)" in str(screen.query_one("#items-count").render())
        await _tick(pilot, screen, "W01")  # untick one
        assert screen.selection_count == 8 and str(screen.table.get_cell("W01", "sel")) == ""
        assert sorted(screen.matching()()) == [f"W0{n}" for n in range(1, 10)]
        await pilot.press("ctrl+b")
        await pilot.pause()
        assert not screen.all_matching and screen.selection_count == 0


async def test_ctrl_w_with_nothing_ticked_is_the_highlighted_rows_work_order(list_db) -> None:
    """Without a selection ctrl+w stays the row action, for the highlighted item alone."""
    app = list_app(list_db)
    async with app.run_test(size=SIZE) as pilot:
        await _search(pilot, "W07")
        await pilot.press("ctrl+w")
        await pilot.pause()
        assert isinstance(app.screen, WorkOrderDialog) and app.screen.barcode == "W07"


class TestPhysicalItemsSnapshots:
    def test_results_of_a_prefix_search(self, list_db, snap_compare) -> None:
        """Results of ``W0*``: status, process type as Alma shows it, department, requests."""
        async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
            await _search(pilot, "W0*")

        assert snap_compare(list_app(list_db), terminal_size=SIZE, run_before=run_before)

    def test_results_with_two_rows_ticked(self, list_db, snap_compare) -> None:
        """``W0*`` with W06 and W07 ticked: the ✓ column and the count line's "2 selected"."""
        async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
            screen = await _search(pilot, "W0*")
            await _tick(pilot, screen, "W06", "W07")

        assert snap_compare(list_app(list_db), terminal_size=SIZE, run_before=run_before)

    def test_physical_item_editor_with_its_warning(self, list_db, snap_compare) -> None:
        """The Physical Item Editor pop-up, with Alma's warning."""
        async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
            await _search(pilot, "W02")
            await pilot.press("ctrl+y")
            await pilot.pause()

        assert snap_compare(list_app(list_db), terminal_size=SIZE, run_before=run_before)
