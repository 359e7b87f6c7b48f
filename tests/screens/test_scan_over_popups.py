"""A scan while a pop-up is open, on every screen that takes scans (issue 12, item 1).

At a busy desk the next scan comes while the last result's pop-up is still up. Two returns in
a row, each with a request waiting, froze Return Items on the first pop-up and the next key
crashed the app (``DuplicateIds``: the second notice was pushed while the first was still on
the stack). This module guards the whole class: for each screen that takes scans and each
pop-up that can be open over it, a scanner burst arrives, and

- the app is alive, with at most one pop-up on the stack;
- a pop-up that only tells or shows (the destination notice, help, an audit trail) closes and
  the scan goes to the screen underneath exactly once, with its result shown there;
- any other pop-up (a chooser, a confirmation, a form) keeps the scan from acting behind the
  operator's back: the screen is not handed it and the database is unchanged, and the refusal
  is shown;
- afterwards (the pop-up closed with Esc) the next scan works as usual.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.screen import ModalScreen

from libdesk import circulation, requests, scan
from libdesk.importing import insert_items
from screens.app import LibdeskApp
from screens.base import DeskScreen
from screens.item_detail import ItemDetailScreen
from tests.conftest import FROZEN, db_fingerprint
from tests.screens.conftest import SIZE, AppFactory, scanner_burst


def on_screen(app: LibdeskApp) -> str:
    """Everything the terminal shows now (notifications included), as text."""
    return app.export_screenshot().replace("&#160;", " ")


Opener = Callable[[Pilot[Any]], Awaitable[None]]


def keys(*pressed: str) -> Opener:
    async def open_(pilot: Pilot[Any]) -> None:
        await pilot.press(*pressed)
        await pilot.pause()
    return open_


@dataclass(frozen=True)
class Case:
    """One screen, one pop-up over it, one scan."""

    mode: str
    """The screen (app mode), or "item_detail" (pushed over Physical Items)."""
    at: str
    open_popup: Opener
    """Brings the pop-up up (the screen is already shown)."""
    closes: bool
    """True: the pop-up only tells, the scan goes to the screen. False: the pop-up keeps it."""
    scan: str
    """The barcode scanned over the pop-up."""
    again: str
    """The barcode scanned after the pop-up is gone."""


def _seed(app: LibdeskApp) -> None:
    """Scanner-length barcodes (a burst needs at least 4 characters): Widener items SCAN01..08,
    acquisitions ACQN01..02; SCAN02, SCAN03, SCAN04 on loan, requests waiting for 02 and 03."""
    insert_items(app.db, [
        {"barcode": barcode, "title": f"Title of {barcode}", "author": "Author", "call_number": f"QS{n:04d}",
         "material_type": "BOOK", "library": "WID", "location": "WID-STACKS",
         "process_type": "acquisition" if barcode.startswith("ACQN") else None, "version": 1,
         "created_at": FROZEN, "updated_at": FROZEN}
        for n, barcode in enumerate([f"SCAN{i:02d}" for i in range(1, 9)] + ["ACQN01", "ACQN02"])
    ], operator="admin", source="scan-over-pop-ups test")
    for barcode, patron in (("SCAN02", "P0001"), ("SCAN03", "P0002"), ("SCAN04", "P0005")):
        circulation.loan(app.db, barcode, patron, at="WID-CIRC", operator="circ")
    requests.place_request(app.db, "SCAN02", "P0003", "LAW-CIRC", operator="circ")
    requests.place_request(app.db, "SCAN03", "P0004", "LAW-CIRC", operator="circ")


async def _returned_with_notice(pilot: Pilot[Any]) -> None:
    await pilot.press(*"SCAN02", "enter")
    await pilot.pause()


async def _ctrl_w_after_a_return(pilot: Pilot[Any]) -> None:
    await pilot.press(*"SCAN04", "enter")
    await pilot.pause()
    await pilot.press("ctrl+w")
    await pilot.pause()


APP_POPUPS: list[tuple[str, Opener, bool]] = [
    ("help", keys("f1"), True),
    ("currently-at", keys("f10"), False),
    ("operator", keys("ctrl+o"), False),
    ("palette", keys("ctrl+p"), False),
]
"""Pop-ups every screen has."""

SCREENS: dict[str, tuple[str, str, str]] = {
    # mode: (Currently At, barcode to scan over the pop-up, barcode to scan after)
    "scan_in": ("CCWID", "SCAN07", "SCAN08"),
    "return_items": ("WID-CIRC", "SCAN03", "SCAN04"),
    "receiving": ("ITS625", "ACQN01", "ACQN02"),
    "physical_items": ("WID-CIRC", "SCAN07", "SCAN08"),
    "in_process": ("CCWID", "SCAN07", "SCAN08"),
    "pick_list": ("WID-CIRC", "SCAN07", "SCAN08"),
    "hold_shelf": ("WID-CIRC", "SCAN07", "SCAN08"),
    "item_detail": ("WID-CIRC", "SCAN07", "SCAN08"),
}

CASES: list[Any] = [
    pytest.param(Case(mode, at, opener, closes, first, then), id=f"{mode}-{name}")
    for mode, (at, first, then) in SCREENS.items()
    for name, opener, closes in APP_POPUPS
] + [
    pytest.param(Case("return_items", "WID-CIRC", _returned_with_notice, True, "SCAN03", "SCAN04"),
                 id="return_items-destination-notice"),
    pytest.param(Case("return_items", "WID-CIRC", _ctrl_w_after_a_return, False, "SCAN03", "SCAN02"),
                 id="return_items-work-order"),
    pytest.param(Case("scan_in", "CCWID", keys("f9"), False, "SCAN07", "SCAN08"), id="scan_in-status"),
    pytest.param(Case("in_process", "CCWID", keys("space", "f9"), False, "SCAN07", "SCAN08"), id="in_process-change-status"),
    pytest.param(Case("in_process", "CCWID", keys("space", "f8"), False, "SCAN07", "SCAN08"), id="in_process-done-confirm"),
    pytest.param(Case("item_detail", "WID-CIRC", keys("ctrl+e"), False, "SCAN07", "SCAN08"), id="item_detail-expiry"),
]


async def _show_screen(app: LibdeskApp, pilot: Pilot[Any], mode: str) -> DeskScreen:
    if mode == "item_detail":
        await app.switch_mode("physical_items")
        await app.push_screen(ItemDetailScreen(app.db, "W01", focus="queue"))
    else:
        await app.switch_mode(mode)
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, DeskScreen)
    return screen


def _spy_scans(screen: DeskScreen) -> list[str]:
    """Record every barcode the screen is handed (and still handle it as usual)."""
    seen: list[str] = []
    handle = screen.handle_scan  # type: ignore[attr-defined]

    def recording(barcode: str) -> Any:
        seen.append(barcode)
        return handle(barcode)

    screen.handle_scan = recording  # type: ignore[attr-defined]
    return seen


@pytest.mark.parametrize("case", CASES)
async def test_a_scan_over_a_pop_up_never_crashes_and_is_applied_at_most_once(
        desk_app: AppFactory, case: Case) -> None:
    """The app stays alive; a telling pop-up hands the scan on once; others keep it."""
    app = desk_app(case.at, status="Pocket" if case.at == "CCWID" else None)
    _seed(app)
    # An item in process at Collections Care for In Process's lists and Done confirmation.
    scan.scan_in(app.db, "W01", at="CCWID", operator="cc", status="Pocket")
    async with app.run_test(size=SIZE) as pilot:
        screen = await _show_screen(app, pilot, case.mode)
        seen = _spy_scans(screen)
        await case.open_popup(pilot)
        await app.workers.wait_for_complete()
        popup = app.screen
        assert isinstance(popup, ModalScreen), f"no pop-up opened: {app.screen_stack}"
        seen.clear()  # the notice case scanned to open its pop-up
        before_db = db_fingerprint(app.db)

        scanner_burst(app, case.scan)
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()

        assert app.is_running
        modals = [s for s in app.screen_stack if isinstance(s, ModalScreen)]
        assert len(modals) <= 1, f"pop-ups stacked up: {app.screen_stack}"
        if case.closes:
            assert popup not in app.screen_stack, "a telling pop-up must close for a scan"
            assert seen == [case.scan], "the scan goes to the screen underneath, exactly once"
        else:
            assert seen == [], "a scan must not act behind a chooser, confirmation or form"
            assert db_fingerprint(app.db) == before_db
        # The result (closes) or where the scan went (typed into the pop-up's field, or "not
        # used: close the pop-up first") is on screen: never silently dropped.
        notices = [n.message for n in app._notifications]  # toasts: drawn on the next refresh
        assert case.scan in on_screen(app) or any(case.scan in message for message in notices), notices

        while isinstance(app.screen, ModalScreen):
            await pilot.press("escape")
            await pilot.pause()
        seen.clear()
        scanner_burst(app, case.again)
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.is_running
        if isinstance(app.screen, ModalScreen):  # a second notice (Return Items) is the scan's result
            assert not isinstance(app.screen_stack[-2], ModalScreen)
        assert seen == [case.again]


async def test_two_returns_with_requests_in_a_row_show_both_destinations(desk_app: AppFactory) -> None:
    """The reported crash: the second return's notice replaces the first; the list keeps both."""
    app = desk_app("WID-CIRC")
    _seed(app)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3", *"SCAN02", "enter")
        await pilot.pause()
        first = app.screen
        scanner_burst(app, "SCAN03")
        await pilot.pause()
        await pilot.pause()
        second = app.screen
        assert second is not first and "SCAN03" in getattr(second, "item_line", "")
        assert first not in app.screen_stack
        await pilot.press("x")  # the next key closes it and goes to the scan field
        await pilot.pause()
        screen = app.screen
        assert not isinstance(screen, ModalScreen)
        assert [row.barcode for row in screen.returned.values()] == ["SCAN02", "SCAN03"]  # type: ignore[attr-defined]
