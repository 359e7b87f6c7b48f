"""Manage In Process Items: the department's list, selection, bulk actions, export, paging."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import text
from textual.binding import Binding
from textual.widgets import Button, Input, Label, OptionList, ProgressBar, Select

from libdesk import queries
from libdesk.db import Database
from libdesk.importing import insert_items
from libdesk.queries import INPROCESS_COLUMNS, InProcessFilter
from screens.choosers import Chooser
from screens.help import HelpScreen
from screens.in_process import InProcessScreen
from screens.paged_list import PAGE
from screens.item_detail import ItemDetailScreen
from screens.item_dialogs import ConfirmDialog, ItemEditorDialog, PromptDialog
from tests.conftest import FROZEN, make_db
from tests.screens.lists_fixtures import (
    SIZE,
    demo_institution,
    list_app,
    list_db,
    settle,
)

__all__ = ["list_db"]  # a fixture

CCWID_ITEMS = ["L01", "W01", "W02", "W03", "W04", "W05"]
"""The seeded day's items in process at Collections Care (Widener), in barcode order."""


def _read_back(path: Path) -> list[list[object]]:
    """The rows of an exported file, header first (empty XLSX cells as "")."""
    if path.suffix == ".xlsx":
        sheet = openpyxl.load_workbook(path, read_only=True).active
        return [[("" if v is None else v) for v in row] for row in sheet.iter_rows(values_only=True)]
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


async def _open(pilot) -> InProcessScreen:  # type: ignore[no-untyped-def]
    await pilot.press("f6")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, InProcessScreen)
    return screen


async def _select(pilot, screen: InProcessScreen, *barcodes: str) -> None:  # type: ignore[no-untyped-def]
    """Tick rows with space, moving the cursor onto each."""
    screen.table.focus()
    for barcode in barcodes:
        screen.move_to_key(screen.table, barcode)
        await pilot.press("space")
    await pilot.pause()


def _item(db: Database, barcode: str) -> tuple[object, ...]:
    item = queries.item_show(db, barcode)
    return item["process_type"], item["department"] or item["transit_to"], item["status"]


async def test_lists_the_department_with_days_expiry_and_overdue_marked(list_db) -> None:
    """L1/W16: the department's items, days in department, expiry; past expiry is OVERDUE."""
    app = list_app(list_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        assert list(screen.rows) == CCWID_ITEMS
        assert screen.total == len(CCWID_ITEMS)
        w01, w03 = screen.rows["W01"], screen.rows["W03"]
        assert (w01["days_in_department"], w01["overdue"]) == (40, True)
        assert (w03["days_in_department"], w03["overdue"], w03["expiry"]) == (5, False, "2026-03-27")
        assert str(screen.table.get_cell("W01", "overdue")) == "OVERDUE"
        assert str(screen.table.get_cell("W03", "overdue")) == ""
        assert screen.rows["W02"]["requests"] == 1  # P0001 waits behind the work order


async def test_bulk_done_of_selected_rows_gives_the_grouped_result(list_db) -> None:
    """L2: space ticks rows; F8 and Yes mark them Done in a worker; the result groups where
    they went; the list no longer has them."""
    app = list_app(list_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        await _select(pilot, screen, "W03", "W04", "L01")
        assert screen.selected == {"W03", "W04", "L01"}
        assert "3 selected" in str(screen.query_one("#inprocess-count", Label).render())
        await pilot.press("f8")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        app.screen.query_one("#yes", Button).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert screen.result_line.text == "Done: 2 → WID-CIRC, 1 → LAW-CIRC"
        assert screen.result_line.kind == "ok"
        assert _item(app.db, "W03") == ("transit", "WID-CIRC", None)
        assert _item(app.db, "L01") == ("transit", "LAW-CIRC", None)
        assert list(screen.rows) == ["W01", "W02", "W05"]
        assert screen.selection_count == 0 and not screen.has_class("-working")


async def test_a_work_order_for_the_selected_rows_each_in_its_own_transaction(list_db) -> None:
    """Seed 000 ("using sets"): ctrl+w on ticked rows asks the type and department once; each
    item gets its work-order request, and the result groups where they go next."""
    from screens.work_order import WorkOrderDialog

    app = list_app(list_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        await _select(pilot, screen, "W03", "W04")
        await pilot.press("ctrl+w")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, WorkOrderDialog) and "2 selected items" in dialog.barcode
        dialog.query_one("#type", Select).value = "TS"
        await pilot.pause()
        dialog.query_one("#department", Select).value = "ITS625"
        dialog.query_one("#note", Input).value = "recatalog after repair"
        dialog.action_submit()
        await settle(pilot)
        assert screen.result_line.text.startswith("Technical Services work order for ITS@625: 2 → ")
        for code in ("W03", "W04"):
            req = queries.item_show(app.db, code)["requests"][-1]
            assert (req["department"], req["note"]) == ("ITS625", "recatalog after repair")


async def test_bulk_done_with_nothing_selected_is_refused(list_db) -> None:
    """F8 without a selection says how to select; nothing changes."""
    app = list_app(list_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        await pilot.press("f8")
        await pilot.pause()
        assert app.screen is screen and screen.result_line.kind == "error"
        assert "space" in screen.result_line.text


async def test_select_all_matching_a_filter_and_bulk_change_status(list_db) -> None:
    """A status filter, ctrl+b (all matching), F9 and a status: every matching item moves."""
    app = list_app(list_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        screen.query_one("#filter-status", Select).value = "Repair"
        await settle(pilot)
        assert list(screen.rows) == ["W03", "W04"]
        screen.table.focus()
        await pilot.press("ctrl+b")
        await pilot.pause()
        assert screen.all_matching and screen.selection_count == 2
        await pilot.press("f9")
        await pilot.pause()
        chooser = app.screen
        assert isinstance(chooser, Chooser)
        options = chooser.query_one(OptionList)
        options.highlighted = options.get_option_index("Rehousing")
        await pilot.press("enter")
        await settle(pilot)
        assert screen.result_line.text == "Change Status to Rehousing: 2 → CCWID"
        assert _item(app.db, "W03") == ("work_order", "CCWID", "Rehousing")
        assert _item(app.db, "W04") == ("work_order", "CCWID", "Rehousing")
        assert _item(app.db, "W05") == ("work_order", "CCWID", "Rehousing")  # untouched: was Rehousing already
        assert _item(app.db, "W01") == ("work_order", "CCWID", "Assessment")
        assert list(screen.rows) == []  # the Repair filter now matches nothing


async def test_search_and_owner_filter_narrow_the_list(list_db) -> None:
    """Search (Enter) and the owner filter use the engine's filters."""
    app = list_app(list_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        screen.query_one("#filter-owner", Select).value = "LAW"
        await settle(pilot)
        assert list(screen.rows) == ["L01"]
        screen.query_one("#filter-owner", Select).clear()
        box = screen.query_one("#filter-search", Input)
        box.value = "W05"
        box.focus()
        await pilot.press("enter")
        await settle(pilot)
        assert list(screen.rows) == ["W05"]


async def test_row_action_done_routes_the_item_to_its_waiting_request(list_db) -> None:
    """Enter on W02, Done: the item goes to P0001's pickup desk (W5)."""
    app = list_app(list_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        screen.move_to_key(screen.table, "W02")
        screen.table.focus()
        await pilot.press("enter")
        await pilot.pause()
        options = app.screen.query_one(OptionList)
        options.highlighted = options.get_option_index("done")
        await pilot.press("enter")
        await settle(pilot)
        assert _item(app.db, "W02") == ("transit", "WID-CIRC", None)
        assert screen.result_line.text == "W02 · Done: 1 → WID-CIRC"


async def test_row_action_print_slip_saves_the_work_order_slip(list_db, monkeypatch, isolated_home) -> None:
    """Print slip on W02: with no printer here, the slip is saved; it names the department,
    the status and where the item goes when Done (P0001's request)."""
    from libdesk import slips

    monkeypatch.setattr(slips.shutil, "which", lambda name: None)  # never a real printer in tests
    app = list_app(list_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        screen.move_to_key(screen.table, "W02")
        screen.table.focus()
        await pilot.press("enter")
        await pilot.pause()
        options = app.screen.query_one(OptionList)
        options.highlighted = options.get_option_index("slip")
        await pilot.press("enter")
        await settle(pilot)
        assert screen.result_line.text.startswith("Slip for W02 saved to ")
    (saved,) = (isolated_home / "slips").iterdir()
    slip = saved.read_text()
    assert "Collections Care (Widener)" in slip and "Pocket" in slip and "patron P0001" in slip


async def test_progress_bar_follows_the_worker_and_goes_when_it_ends(list_db) -> None:
    """While a bulk action runs the progress bar shows (done of total); the result ends it."""
    app = list_app(list_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        screen.begin_work("Done", 400)
        screen.post_message(InProcessScreen.WorkProgress(200, 400))
        await pilot.pause()
        assert screen.has_class("-working") and screen.query_one("#inprocess-work").display
        assert str(screen.query_one("#work-label", Label).render()) == "Done: 200 of 400"
        assert screen.query_one(ProgressBar).progress == 200
        await pilot.press("f8")  # one thing at a time
        await pilot.pause()
        assert app.screen is screen and "still running" in screen.result_line.text
        screen.post_message(InProcessScreen.WorkFinished("Done: 400 → WID-CIRC", "ok"))
        await settle(pilot)
        assert not screen.has_class("-working") and not screen.working
        assert screen.result_line.text == "Done: 400 → WID-CIRC"


async def test_row_keys_open_the_history_and_the_item_editor(list_db) -> None:
    """ctrl+t: the highlighted item's detail at its history; ctrl+y: the Physical Item Editor."""
    app = list_app(list_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        screen.move_to_key(screen.table, "W04")
        await pilot.press("ctrl+t")
        await pilot.pause()
        detail = app.screen
        assert isinstance(detail, ItemDetailScreen) and detail.barcode == "W04"
        assert app.focused is detail.history_table
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("ctrl+y")
        await pilot.pause()
        editor = app.screen
        assert isinstance(editor, ItemEditorDialog) and editor.item["barcode"] == "W04"
        assert editor.query_one("#editor-department", Select).value == "CCWID"


async def test_help_lists_this_screens_keys_and_the_palette_its_commands(list_db) -> None:
    """F1 shows the screen's keys (F8 Done, F9 Status, space, ctrl+b); the palette offers the
    bulk actions by name."""
    app = list_app(list_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        names = [command.name for command in app.desk_commands(screen)]
        assert "Done for the selected items" in names and "Export the in-process list" in names
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        keys = dict(app.screen.keys)
        assert keys[app.get_key_display(Binding("f8", ""))] == "Done"
        assert "Select all matching" in keys.values() and "Tick / untick the row, move down" in keys.values()


@pytest.mark.parametrize("suffix", ["xlsx", "csv"])
async def test_export_writes_the_list_as_shown_and_it_reads_back(list_db, tmp_path: Path, suffix: str) -> None:
    """L4: ctrl+s, a file name, Enter: the file has the list's header and rows."""
    app = list_app(list_db)
    target = tmp_path / f"inprocess.{suffix}"
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, PromptDialog)
        assert app.screen.query_one("#answer", Input).value.endswith(f"in-process-CCWID-{FROZEN:%Y-%m-%d}.xlsx")
        app.screen.query_one("#answer", Input).value = str(target)
        await pilot.press("enter")
        await settle(pilot)
        assert screen.result_line.kind == "ok" and str(target) in screen.result_line.text
    rows = _read_back(target)
    assert rows[0] == [header for _, header in INPROCESS_COLUMNS]
    assert [row[0] for row in rows[1:]] == CCWID_ITEMS
    overdue = {row[0]: row[7] for row in rows[1:]}
    assert overdue["W01"] == "yes" and overdue["W03"] == "no"


async def test_export_to_a_missing_folder_is_a_red_error(list_db, tmp_path: Path) -> None:
    """L4: an unwritable path is said in red; no file appears."""
    app = list_app(list_db)
    target = tmp_path / "no-such-folder" / "list.csv"
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        await pilot.press("ctrl+s")
        await pilot.pause()
        app.screen.query_one("#answer", Input).value = str(target)
        await pilot.press("enter")
        await settle(pilot)
        assert screen.result_line.kind == "error" and "does not exist" in screen.result_line.text
        assert not target.exists()


async def test_changing_currently_at_changes_the_list(list_db) -> None:
    """L1: F10 to another department lists its items; a desk empties the list and says why."""
    app = list_app(list_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        app.set_place("IMG")
        await settle(pilot)
        assert list(screen.rows) == []
        assert screen.query_one("#filter-status", Select)._options[1:] == [
            (s, s) for s in app.db.institution.work_order_types["IMG"].statuses]
        app.set_place("WID-CIRC")
        await settle(pilot)
        assert screen.filter is None and screen.table.row_count == 0
        assert screen.query_one("#inprocess-place").has_class("-warning")
        app.set_place("CCWID")
        await settle(pilot)
        assert list(screen.rows) == CCWID_ITEMS


@pytest.fixture
def big_db(tmp_path: Path) -> Iterator[Database]:
    """100,000 items in process at CCWID (plus the usual test items)."""
    db = make_db(tmp_path / "big.db", demo_institution())
    records = [{"barcode": f"X{n:07d}", "title": f"Bulk title {n}", "author": "Bulk", "call_number": f"ZZ{n:07d}",
                "material_type": "BOOK", "library": "WID", "location": "WID-STACKS", "version": 1,
                "created_at": FROZEN, "updated_at": FROZEN} for n in range(100_000)]
    insert_items(db, records, operator="admin", source="bulk")
    with db.write() as conn:
        conn.execute(text("UPDATE item SET process_type='work_order', work_order_type='PRES', department='CCWID', "
                          "status='Pocket', wo_since=:since WHERE barcode >= 'X' AND barcode < 'Y'"),
                     {"since": FROZEN})
    yield db
    db.close()


async def test_a_100000_item_department_loads_one_page_quickly_and_more_at_the_end(big_db: Database) -> None:
    """STYLE.md section 6: the first page (200 rows) and the total, not 100,000 rows; the end
    of the list reads the next page."""
    assert queries.inprocess_page(big_db, InProcessFilter("CCWID"), limit=1).total == 100_000
    app = list_app(big_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        assert screen.table.row_count == PAGE
        assert screen.total == 100_000
        assert "Rows 1–200 of 100,000" in str(screen.query_one("#inprocess-count", Label).render())
        screen.table.focus()
        await pilot.press("ctrl+end")  # the last loaded row: the next page follows
        await settle(pilot)
        assert screen.table.row_count == 2 * PAGE
        assert list(screen.rows)[PAGE] == f"X{PAGE:07d}"


class TestInProcessSnapshots:
    def test_department_list_with_overdue_rows_and_a_selection(self, list_db, snap_compare) -> None:
        """CCWID's list: overdue rows marked, two rows ticked, the count line."""
        async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
            screen = await _open(pilot)
            await _select(pilot, screen, "W03", "W04")

        assert snap_compare(list_app(list_db), terminal_size=SIZE, run_before=run_before)

    def test_grouped_result_after_bulk_done(self, list_db, snap_compare) -> None:
        """After bulk Done of three rows: the grouped result, the shorter list."""
        async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
            screen = await _open(pilot)
            await _select(pilot, screen, "W03", "W04", "L01")
            await pilot.press("f8")
            await pilot.pause()
            pilot.app.screen.query_one("#yes", Button).focus()
            await pilot.press("enter")
            await settle(pilot)

        assert snap_compare(list_app(list_db), terminal_size=SIZE, run_before=run_before)
