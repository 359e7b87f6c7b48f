"""Receiving: the awaiting list, Keep in Department with a status, one or many (W13)."""

from __future__ import annotations

from libdesk import queries
from screens.receiving import ReceivingScreen
from tests.screens.conftest import SIZE, AppFactory


async def _open(app: object, pilot: object) -> ReceivingScreen:
    await pilot.press("ctrl+r")  # type: ignore[attr-defined]
    await app.workers.wait_for_complete()  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]
    screen = app.screen  # type: ignore[attr-defined]
    assert isinstance(screen, ReceivingScreen)
    return screen


async def test_receiving_with_keep_in_department_puts_the_item_in_the_work_order(desk_app: AppFactory) -> None:
    """W13: Keep in Department at ITS@625 with status Processing: a TS work order there."""
    app = desk_app("ITS625", status="Processing")
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(app, pilot)
        assert list(screen.rows) == ["A01", "A02", "A03", "A04", "A05", "A06"]
        await pilot.press("ctrl+k")
        await pilot.pause()
        assert screen.keep_in_department
        assert "f9" in [b.binding.key for b in screen.active_bindings.values() if b.enabled and b.binding.show]
        await pilot.press("down", "ctrl+s")  # the highlighted row: A02
        await pilot.pause()
        item = queries.item_show(app.db, "A02")
        assert (item["process_type"], item["work_order_type"], item["department"], item["status"]) == (
            "work_order", "TS", "ITS625", "Processing")
        assert "A02" not in screen.rows and screen.banner.has_class("-in-process")


async def test_receive_marked_items_without_keep_sends_them_home(desk_app: AppFactory) -> None:
    """Without Keep in Department the marked items go In Transit to their library's desk."""
    app = desk_app("ITS625")
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(app, pilot)
        await pilot.press("ctrl+t", "down", "down", "ctrl+t", "ctrl+s")  # A01 and A03
        await app.workers.wait_for_complete()
        await pilot.pause()
        for barcode in ("A01", "A03"):
            item = queries.item_show(app.db, barcode)
            assert (item["process_type"], item["transit_to"]) == ("transit", "WID-CIRC")
        assert queries.item_show(app.db, "A02")["process_type"] == "acquisition"
        assert list(screen.rows) == ["A02", "A04", "A05", "A06"]
        assert screen.banner.headline == "RECEIVED 2 ITEMS"
        assert screen.banner.detail == "2 × IN TRANSIT → Widener Circulation Desk"


async def test_scanning_an_item_receives_it(desk_app: AppFactory) -> None:
    """A scan receives that item with the current options, wherever it is in the list."""
    app = desk_app("ITS625")
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(app, pilot)
        await pilot.press(*"A05", "enter")
        await pilot.pause()
        assert queries.item_show(app.db, "A05")["process_type"] == "transit"
        assert "A05" not in screen.rows
        await pilot.press(*"B01", "enter")  # a Langdell acquisition: not received here
        await pilot.pause()
        assert screen.banner.has_class("-error") and "LAW" in screen.banner.headline
        assert queries.item_show(app.db, "B01")["process_type"] == "acquisition"


async def test_receiving_elsewhere_says_where_receiving_is_done(desk_app: AppFactory) -> None:
    """At a department that does not receive, the list says so instead of being empty."""
    app = desk_app("CCWID")
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(app, pilot)
        assert screen.rows == {}
        title = str(screen.query_one("#awaiting-title").render())
        assert "not a receiving department" in title


async def test_changing_currently_at_reloads_the_list(desk_app: AppFactory) -> None:
    """L1-style: the list follows Currently At (ITS@Langdell receives Langdell's items)."""
    app = desk_app("ITS625")
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(app, pilot)
        app.set_place("ITSLAW")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert list(screen.rows) == ["B01", "B02", "B03"]


class TestReceivingSnapshots:
    """Receiving as it looks (seeded database, frozen clock, 120x36)."""

    def test_awaiting_list_with_keep_in_department(self, snap_compare: object, desk_app: AppFactory) -> None:
        """Keep in Department on with its status, two rows marked, one received by a scan."""
        app = desk_app("ITS625", status="Shelf Prep")

        async def setup(pilot: object) -> None:
            await pilot.press("ctrl+r")  # type: ignore[attr-defined]
            await app.workers.wait_for_complete()
            await pilot.pause()  # type: ignore[attr-defined]
            await pilot.press("ctrl+k", *"A06", "enter", "ctrl+t", "down", "ctrl+t")  # type: ignore[attr-defined]

        assert snap_compare(app, terminal_size=SIZE, run_before=setup)  # type: ignore[operator]
