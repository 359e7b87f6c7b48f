"""Pick From Shelf: the library's pick list; a scan at the desk sends the picked item on."""

from __future__ import annotations

from libdesk import queries
from screens.pick_list import PickListScreen
from tests.conftest import db_fingerprint
from tests.screens.lists_fixtures import SIZE, list_app, list_db, settle

__all__ = ["list_db"]  # a fixture


async def _open(pilot) -> PickListScreen:  # type: ignore[no-untyped-def]
    await pilot.app.switch_mode("pick_list")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, PickListScreen)
    return screen


def _barcodes(table) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(table.get_row(key)[1]) for key in table.rows]


async def test_pick_list_in_shelf_order_with_remote_storage_apart(list_db) -> None:
    """L5: Widener's requests to pull, by call number; the Depository's item listed apart."""
    app = list_app(list_db, at="WID-CIRC")
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        assert _barcodes(screen.shelf_table) == ["W09", "W10", "W13"]
        assert _barcodes(screen.remote_table) == ["R01"]
        assert app.focused is screen.scan_field


async def test_scan_sends_the_picked_item_on_and_the_list_is_read_again(list_db) -> None:
    """A scan of W10 at the Widener desk: In Transit to Langdell for P0002; it leaves the list."""
    app = list_app(list_db, at="WID-CIRC")
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        await pilot.press(*"W10", "enter")
        await settle(pilot)
        item = queries.item_show(app.db, "W10")
        assert (item["process_type"], item["transit_to"]) == ("transit", "LAW-CIRC")
        assert screen.banner.has_class("-transit")
        assert screen.banner.headline == "IN TRANSIT → Langdell Circulation Desk"
        assert _barcodes(screen.shelf_table) == ["W09", "W13"]
        assert screen.scan_field.value == "" and app.focused is screen.scan_field


async def test_scan_of_a_request_picked_up_here_goes_to_the_hold_shelf(list_db) -> None:
    """W13's first request is P0005's, for pickup at this desk: the hold shelf."""
    app = list_app(list_db, at="WID-CIRC")
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        await pilot.press(*"W13", "enter")
        await settle(pilot)
        assert queries.item_show(app.db, "W13")["process_type"] == "hold_shelf"
        assert screen.banner.has_class("-hold-shelf")


async def test_scan_of_an_item_not_on_the_list_changes_nothing(list_db) -> None:
    """An item in hand for another reason (W12, on loan) is not discharged here."""
    app = list_app(list_db, at="WID-CIRC")
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        before = db_fingerprint(app.db)
        await pilot.press(*"W12", "enter")
        await settle(pilot)
        assert screen.banner.has_class("-error") and "not on this pick list" in screen.banner.headline
        assert db_fingerprint(app.db) == before


async def test_at_a_department_the_list_shows_but_scans_are_refused(list_db) -> None:
    """The pick list is the library's; scanning needs a circulation desk (a department scan
    would start a work order)."""
    app = list_app(list_db, at="CCWID")
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        assert _barcodes(screen.shelf_table) == ["W09", "W10", "W13"]
        before = db_fingerprint(app.db)
        await pilot.press(*"W10", "enter")
        await settle(pilot)
        assert screen.banner.has_class("-error") and "circulation desk" in screen.banner.headline
        assert db_fingerprint(app.db) == before


async def test_changing_currently_at_shows_that_librarys_list(list_db) -> None:
    """F10 to the Depository desk: its remote-storage items."""
    app = list_app(list_db, at="WID-CIRC")
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        app.set_place("HD")
        await settle(pilot)
        assert screen.library == "HD"
        assert _barcodes(screen.shelf_table) == [] and _barcodes(screen.remote_table) == ["R01"]


class TestPickListSnapshots:
    def test_widener_pick_list_after_one_scan(self, list_db, snap_compare) -> None:
        """The list in shelf order, the remote one apart, the banner after scanning W10."""
        async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
            await _open(pilot)
            await pilot.press(*"W10", "enter")
            await settle(pilot)

        assert snap_compare(list_app(list_db, at="WID-CIRC"), terminal_size=SIZE, run_before=run_before)
