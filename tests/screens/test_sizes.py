"""Every screen at the smallest terminal a desk has (80×24), the list screens at a wide one
(160×48), besides the per-screen snapshots at SIZE (120×36); and the footer's promise at 80
columns: the keys that matter on the screen, none cut, F1 for the rest (issue 12, items 2, 3).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from libdesk import clock
from libdesk.db import Database
from libdesk.demo import load_borrowing_demo
from screens.app import LibdeskApp
from screens.help import HelpScreen
from screens.item_detail import ItemDetailScreen
from screens.widgets import DeskFooter, DeskHeader
from tests.conftest import FROZEN, make_db
from tests.screens.lists_fixtures import demo_institution, list_app, list_db, settle

__all__ = ["list_db"]  # a fixture

NARROW = (80, 24)
WIDE = (160, 48)

RunBefore = Callable[[Any], Awaitable[None]]


@pytest.fixture
def borrowing_db(tmp_path: Path) -> Iterator[Database]:
    """The tests' items and the demo's borrowing requests (as tests/screens/test_borrowing.py)."""
    db = make_db(tmp_path / "desk.db", demo_institution())
    try:
        load_borrowing_demo(db, lambda days: clock.freeze(FROZEN - timedelta(days=days)),
                            [f"P{n:04d}" for n in range(1, 41)])
    finally:
        clock.freeze(FROZEN)
    yield db
    db.close()


def _keys(*keys: str) -> RunBefore:
    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
    return run_before


def _scans(*barcodes: str, then: tuple[str, ...] = ()) -> RunBefore:
    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        for barcode in barcodes:
            pilot.app.deliver_scan(barcode)
            await settle(pilot)
        for key in then:
            await pilot.press(key)
            await settle(pilot)
    return run_before


def _search(text: str) -> RunBefore:
    async def run_before(pilot: Any) -> None:
        await pilot.press("f4")
        await settle(pilot)
        box = pilot.app.screen.search_box
        box.focus()
        box.value = text
        await pilot.press("enter")
        await settle(pilot)
    return run_before


def _item_detail(barcode: str) -> RunBefore:
    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        pilot.app.push_screen(ItemDetailScreen(pilot.app.db, barcode))
        await settle(pilot)
    return run_before


SCREENS: dict[str, tuple[str | None, RunBefore]] = {
    "first_run_currently_at": (None, _keys()),
    "scan_in_department": ("CCWID", _scans("W06", "W07")),
    "scan_in_desk": ("WID-CIRC", _scans("W08")),
    "return_items_destination_pop_up": ("WID-CIRC", _scans("W12")),
    "return_items_list": ("WID-CIRC", _scans("W12", then=("escape",))),
    "receiving_at_a_desk": ("WID-CIRC", _keys("ctrl+r")),
    "receiving_keep_in_department": ("CCWID", _keys("ctrl+r", "ctrl+k")),
    "physical_items": ("CCWID", _search("W0*")),
    "item_detail_with_queue": ("CCWID", _item_detail("W02")),
    "in_process": ("CCWID", _keys("f6")),
    "monitor": ("CCWID", _keys("f7")),
    "pick_list": ("WID-CIRC", _keys("ctrl+l")),
    "help": ("CCWID", _keys("f1")),
    "status_chooser": ("CCWID", _keys("f9")),
}
"""Scenario -> (Currently At, what to do before the picture)."""

WIDE_LISTS = ("return_items_list", "physical_items", "item_detail_with_queue", "in_process", "monitor", "pick_list")


class TestEveryScreenAt80x24:
    """Each screen usable at 80×24: footer keys whole, hints in view, text cut only with "…"."""

    @pytest.mark.parametrize("scenario", list(SCREENS))
    def test_screen(self, scenario: str, list_db: Database, snap_compare: Any) -> None:
        at, run_before = SCREENS[scenario]
        assert snap_compare(list_app(list_db, at=at), terminal_size=NARROW, run_before=run_before)

    @pytest.mark.parametrize("view", ["requests", "new_request"])
    def test_borrowing(self, view: str, borrowing_db: Database, snap_compare: Any) -> None:
        keys = ("f12",) if view == "requests" else ("f12", "ctrl+n")
        assert snap_compare(list_app(borrowing_db, at="WID-CIRC"), terminal_size=NARROW, run_before=_keys(*keys))


class TestListScreensAt160x48:
    """A wide terminal is used: titles grow, Monitor's table fits beside the facets."""

    @pytest.mark.parametrize("scenario", WIDE_LISTS)
    def test_screen(self, scenario: str, list_db: Database, snap_compare: Any) -> None:
        at, run_before = SCREENS[scenario]
        assert snap_compare(list_app(list_db, at=at), terminal_size=WIDE, run_before=run_before)

    def test_borrowing(self, borrowing_db: Database, snap_compare: Any) -> None:
        assert snap_compare(list_app(borrowing_db, at="WID-CIRC"), terminal_size=WIDE, run_before=_keys("f12"))


# -- the footer and the header, asserted -------------------------------------------------------

def _footer(app: LibdeskApp) -> tuple[list[str], DeskFooter]:
    footer = app.screen.query_one(DeskFooter)
    return [str(key.key) for key in footer.query("FooterKey")], footer  # type: ignore[attr-defined]


@pytest.mark.parametrize("scenario", ["scan_in_department", "scan_in_desk", "return_items_list", "in_process",
                                      "monitor", "item_detail_with_queue", "receiving_at_a_desk", "pick_list"])
async def test_footer_fits_80_columns_with_help_and_quit(scenario: str, list_db: Database) -> None:
    """At 80 columns every footer key is whole and inside the screen; F1 and ctrl+q are always
    there; what did not fit is in F1's help, which lists every key of the screen."""
    at, run_before = SCREENS[scenario]
    app = list_app(list_db, at=at)
    async with app.run_test(size=NARROW) as pilot:
        await run_before(pilot)
        keys, footer = _footer(app)
        assert keys[0] == "f1" and keys[-1] == "ctrl+q"
        assert all(key.region.right <= NARROW[0] for key in footer.query("FooterKey"))
        if footer.hidden_keys:
            assert "All keys" in str(footer.query("FooterKey").first().render())
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        listed = {key for key, _what in app.screen.keys}
        assert set(footer.hidden_keys) <= listed


async def test_scan_in_at_a_department_shows_done_status_and_currently_at_first(list_db: Database) -> None:
    """The keys that matter on Scan In at a department are the ones that stay at 80 columns."""
    app = list_app(list_db, at="CCWID")
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        keys, _footer_widget = _footer(app)
        assert {"f1", "f8", "f9", "f10", "ctrl+q"} <= set(keys)
        assert "f2" not in keys  # the screen you are on is the first key left out


async def test_item_detail_shows_its_queue_keys(list_db: Database) -> None:
    """Activate, Cancel and Update Expiry are in the footer of Item Detail, at 80 columns too."""
    app = list_app(list_db)
    async with app.run_test(size=NARROW) as pilot:
        await _item_detail("W02")(pilot)
        keys, _footer_widget = _footer(app)
        assert {"ctrl+f", "delete", "ctrl+e", "escape"} <= set(keys)


async def test_header_keeps_one_height_at_every_width(list_db: Database) -> None:
    """Two lines at 80, 120 and 160 columns, on every screen; a long part ends in "…"."""
    app = list_app(list_db, at="CCWID")
    for size in (NARROW, (120, 36), WIDE):
        async with app.run_test(size=size) as pilot:
            for key in ("f2", "f3", "f4", "f6", "f7", "ctrl+r", "ctrl+l"):
                await pilot.press(key)
                await settle(pilot)
                header = app.screen.query_one(DeskHeader)
                assert header.size.height == 2, (size, key)
                lines = header.render().plain.split("\n")
                assert all(len(line) <= size[0] - 2 for line in lines), (size, key, lines)
        app = list_app(list_db, at="CCWID")


async def test_titles_grow_with_the_terminal(list_db: Database) -> None:
    """Physical Items' Title column takes what a wider terminal leaves (not 16 cells at 160)."""
    widths = {}
    for size in (NARROW, WIDE):
        app = list_app(list_db)
        async with app.run_test(size=size) as pilot:
            screen = await _search_screen(pilot)
            table = screen.query_one("#items")
            widths[size] = table.columns["title"].width
            assert sum(c.get_render_width(table) for c in table.columns.values()) <= table.size.width or size == NARROW
    from screens.physical_items import COLUMNS

    added_with = next(width for key, _, width in COLUMNS if key == "title")
    assert widths[NARROW] == added_with and widths[WIDE] > 40


async def _search_screen(pilot: Any) -> Any:
    await _search("W0*")(pilot)
    return pilot.app.screen


async def test_monitor_table_fits_beside_the_facets_at_160(list_db: Database) -> None:
    """At 160 columns every Monitor column is in view: no sideways scrolling."""
    app = list_app(list_db)
    async with app.run_test(size=WIDE) as pilot:
        await _keys("f7")(pilot)
        table = app.screen.query_one("#monitor")
        assert table.virtual_size.width <= table.scrollable_content_region.width


async def test_header_says_what_tasks_are_and_where(borrowing_db: Database) -> None:
    """Issue 12 item 5: "Tasks 2" alone was unexplained; the header names them and the key."""
    app = list_app(borrowing_db, at="WID-CIRC")
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        assert app.task_count == 2
        assert "Tasks 2 (lender messages: F12)" in app.screen.query_one(DeskHeader).render().plain
