"""Hold Shelf (issue 12 item 6): the desk's waiting items with since/until, borrowed items
included, and the expired ones with the action that clears each, through the engine."""

from __future__ import annotations

from datetime import timedelta

from libdesk import circulation, clock, queries, requests, scan
from screens.hold_shelf import HoldShelfScreen
from tests.conftest import FROZEN, db_fingerprint
from tests.screens.conftest import SIZE, AppFactory
from tests.screens.lists_fixtures import settle


def shelve(db, barcode, *patrons, days_ago=0):
    clock.freeze(FROZEN - timedelta(days=days_ago))
    try:
        for p in patrons:
            requests.place_request(db, barcode, p, "WID-CIRC", operator="circ")
        scan.scan_in(db, barcode, at="WID-CIRC", operator="circ")
    finally:
        clock.freeze(FROZEN)


def borrowed(db, days_ago=0):
    from libdesk import borrowing as rs

    clock.freeze(FROZEN - timedelta(days=days_ago))
    try:
        i = rs.new_request(db, "P0006", "A Borrowed Book", pickup="WID-CIRC", operator="rs").extra["borrowing"]["id"]
        if rs.show(db, i)["status"] == rs.READY_TO_BE_SENT:
            rs.send(db, i, operator="rs")
        rs.partner_ship(db, i, operator="rs", barcode="LEND77")
        rs.receive(db, i, at="WID-CIRC", operator="circ")
    finally:
        clock.freeze(FROZEN)
    return i


def stock(db) -> None:
    """W02 (P0001) and L02 (P0004) expired; W03 expired with P0003 next; W04 (P0005) and a
    borrowed item (P0006) waiting."""
    shelve(db, "W02", "P0001", days_ago=10)
    shelve(db, "W03", "P0002", "P0003", days_ago=9)
    shelve(db, "L02", "P0004", days_ago=8)
    shelve(db, "W04", "P0005", days_ago=2)
    borrowed(db, days_ago=1)


def barcodes(table) -> list[str]:  # type: ignore[no-untyped-def]
    return [key.value for key in table.rows]


async def _open(pilot) -> HoldShelfScreen:  # type: ignore[no-untyped-def]
    await pilot.press("f11")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, HoldShelfScreen)
    return screen


async def test_f11_opens_the_desks_shelf_with_waiting_and_expired_apart(desk_app: AppFactory) -> None:
    app = desk_app("WID-CIRC")
    stock(app.db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        assert barcodes(screen.waiting_table) == ["W04", "LEND77"]
        assert barcodes(screen.expired_table) == ["W02", "W03", "L02"]
        row = screen.waiting_table.get_row("W04")
        assert [str(c) for c in row[:4]] == ["P0005", "W04", "2026-02-28", "2026-03-07"]
        assert "Yale" in str(screen.waiting_table.get_row("LEND77")[5])
        clear_by = {k.value: str(screen.expired_table.get_row(k)[1]) for k in screen.expired_table.rows}
        assert clear_by == {"W02": "Reshelve", "W03": "Next request", "L02": "Send home"}
        assert app.focused is screen.scan_field
        assert "pickup time 7 days" in str(screen.query_one("#hold-place").render())


async def test_ctrl_x_clears_the_highlighted_expired_item_through_the_engine(desk_app: AppFactory) -> None:
    app = desk_app("WID-CIRC")
    stock(app.db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        await pilot.press("down")  # W03: its next request is P0003's
        await pilot.press("ctrl+x")
        await settle(pilot)
        assert screen.banner.has_class("-hold-shelf") and "P0003" in screen.banner.detail
        assert "W03" in barcodes(screen.waiting_table) and barcodes(screen.expired_table) == ["W02", "L02"]
        assert screen.waiting_table.get_row("W03")[0].plain == "P0003"
        history = queries.item_history(app.db, "W03")
        assert any(e["action"] == "hold_shelf_expired" and e["operator"] == "admin" for e in history)
        assert app.focused is screen.scan_field


async def test_a_scan_clears_an_expired_item_and_refuses_one_still_waiting(desk_app: AppFactory) -> None:
    app = desk_app("WID-CIRC")
    stock(app.db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        await pilot.press(*"L02", "enter")
        await settle(pilot)
        assert screen.banner.has_class("-transit") and "Langdell" in screen.banner.headline
        assert queries.item_show(app.db, "L02")["transit_to"] == "LAW-CIRC"
        before = db_fingerprint(app.db)
        await pilot.press(*"W04", "enter")
        await settle(pilot)
        assert screen.banner.has_class("-error") and "waits for patron P0005 until 2026-03-07" in screen.banner.headline
        assert db_fingerprint(app.db) == before
        assert screen.scan_field.value == ""


async def test_at_a_department_the_shelf_is_not_shown_and_clearing_is_refused(desk_app: AppFactory) -> None:
    app = desk_app("CCWID")
    stock(app.db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        assert screen.query_one("#hold-place").has_class("-warning")
        assert barcodes(screen.waiting_table) == [] and barcodes(screen.expired_table) == []
        before = db_fingerprint(app.db)
        await pilot.press("ctrl+x")
        await settle(pilot)
        assert screen.banner.has_class("-error")
        assert db_fingerprint(app.db) == before


async def test_the_palette_offers_the_hold_shelf_and_its_clear_command(desk_app: AppFactory) -> None:
    app = desk_app("WID-CIRC")
    async with app.run_test(size=SIZE) as pilot:
        titles = [c.name for c in app.desk_commands(app.screen)]
        assert any("Hold Shelf" in t for t in titles), titles
        screen = await _open(pilot)
        titles = [c.name for c in app.desk_commands(screen)]
        assert "Clear the highlighted item off the hold shelf" in titles


def test_engine_and_screen_agree_on_the_rows(desk_db) -> None:
    """The screen shows what the engine lists (one rule, in the engine)."""
    stock(desk_db)
    rows = circulation.hold_shelf(desk_db, "WID-CIRC")
    assert sorted(r["barcode"] for r in rows if r["clear"]) == ["L02", "W02", "W03"]


class TestHoldShelfSnapshots:
    def test_waiting_and_expired_after_one_clear(self, desk_app, snap_compare) -> None:
        app = desk_app("WID-CIRC")
        stock(app.db)

        async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
            await _open(pilot)
            await pilot.press(*"W02", "enter")
            await settle(pilot)

        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)

    def test_at_80x24(self, desk_app, snap_compare) -> None:
        app = desk_app("WID-CIRC")
        stock(app.db)

        async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
            await _open(pilot)

        assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
