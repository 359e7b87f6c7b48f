"""Scan In Items: each test drives the screen with keys and checks the screen and the database."""

from __future__ import annotations

import pytest
import textual._wait
from textual import events
from textual.widgets import Label

from libdesk import queries, requests, scan
from libdesk.importing import insert_items
from screens.scan_in import ScanInScreen
from screens.widgets import ResultBanner, ScanField, ScanLog
from tests.conftest import FROZEN, db_fingerprint
from tests.screens.conftest import SIZE, AppFactory, events_of, scanner_burst


def _parts(app: object) -> tuple[ScanInScreen, ScanField, ResultBanner, ScanLog]:
    screen = app.screen  # type: ignore[attr-defined]
    assert isinstance(screen, ScanInScreen)
    return screen, screen.scan_field, screen.banner, screen.scan_log


async def test_scan_at_department_with_status_puts_item_in_that_work_order(desk_app: AppFactory) -> None:
    """W1: Currently At CCWID, Set Status To Pocket, Done No: the item enters the work order."""
    app = desk_app("CCWID", status="Pocket")
    now = [100.0]
    app.scan_clock = lambda: now[0]  # the double-scan window (S4) runs on this clock
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"W01", "enter")
        await pilot.pause()
        screen, field, banner, log = _parts(app)
        item = queries.item_show(app.db, "W01")
        assert (item["process_type"], item["department"], item["status"]) == ("work_order", "CCWID", "Pocket")
        assert banner.has_class("-in-process")
        assert "Pocket" in banner.headline and "Collections Care (Widener)" in banner.headline
        assert field.value == "" and app.focused is field
        assert [(e.barcode, e.outcome) for e in log.entries] == [("W01", "in_process")]
        assert "F9" in log.entries[0].hint

        await pilot.press("f9")  # the status chooser; pick Repair and scan again (a logged move)
        await pilot.pause()
        now[0] += 2.0  # a deliberate rescan, after the double-scan window
        app.screen.query_one("OptionList").highlighted = app.screen.query_one("OptionList").get_option_index("Repair")
        await pilot.press("enter", *"W01", "enter")
        await pilot.pause()
        assert queries.item_show(app.db, "W01")["status"] == "Repair"
        assert [e.seq for e in log.entries] == [2, 1]  # newest first


async def test_done_routes_item_to_the_waiting_request_and_names_the_pickup_desk(desk_app: AppFactory) -> None:
    """W4/W5: Done=Yes at the department sends the item In Transit to the request's pickup desk."""
    app = desk_app("CCWID", done=True)
    scan.scan_in(app.db, "W05", at="CCWID", operator="cc", status="Repair")
    requests.place_request(app.db, "W05", "P0001", "LAW-CIRC", operator="circ")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"W05", "enter")
        await pilot.pause()
        _, field, banner, log = _parts(app)
        item = queries.item_show(app.db, "W05")
        assert (item["process_type"], item["transit_to"]) == ("transit", "LAW-CIRC")
        assert banner.has_class("-transit")
        assert banner.headline == "IN TRANSIT → Langdell Circulation Desk"
        assert "P0001" in banner.detail
        assert log.entries[0].hint.startswith("Done by mistake?")
        assert field.value == "" and app.focused is field


async def test_unknown_barcode_is_red_until_the_next_scan_and_changes_nothing(desk_app: AppFactory) -> None:
    """S2: an error is red, stays while the worker does other things, and goes with the next scan."""
    app = desk_app("CCWID", status="Pocket")
    before = db_fingerprint(app.db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"NOPE-1", "enter")
        await pilot.pause()
        _, field, banner, log = _parts(app)
        assert banner.has_class("-error")
        assert "No item with barcode 'NOPE-1'" in banner.headline
        assert db_fingerprint(app.db) == before
        assert log.entries[0].outcome == "error"

        await pilot.press("f8", "f8")  # settings change; the error stays
        await pilot.press(*"W0")  # typing the next barcode; still there
        await pilot.pause()
        assert banner.has_class("-error")

        await pilot.press(*"2", "enter")
        await pilot.pause()
        assert not banner.has_class("-error") and banner.has_class("-in-process")
        assert field.value == ""


async def test_a_hundred_scans_typed_as_fast_bursts_each_land_exactly_once(
        desk_app: AppFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """S3: 100 barcodes typed key by key with Enter, without pauses: 100 work orders, one each."""
    # Pilot waits for the app to go idle after every key, sleeping at least 2 x 20 ms
    # (textual/_wait.py); 2 ms steps keep the wait-until-idle and make 500 keys take ~9 s, not ~50.
    monkeypatch.setattr(textual._wait, "SLEEP_GRANULARITY", 0.002)
    monkeypatch.setattr(textual._wait, "SLEEP_IDLE", 0.0002)
    app = desk_app("CCWID", status="Pocket")
    barcodes = [f"S{n:03d}" for n in range(1, 101)]
    insert_items(app.db, [
        {"barcode": b, "title": f"Title of {b}", "author": "Author", "call_number": f"QB{n:04d}",
         "material_type": "BOOK", "library": "WID", "location": "WID-STACKS", "process_type": None, "version": 1,
         "created_at": FROZEN, "updated_at": FROZEN}
        for n, b in enumerate(barcodes)
    ], operator="admin", source="burst test")
    keys = [key for barcode in barcodes for key in (*barcode, "enter")]
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*keys)
        await pilot.pause()
        _, field, _, log = _parts(app)
        assert events_of(app.db, "work_order_started") == {b: 1 for b in barcodes}
        assert len(log.entries) == 100
        assert [e.barcode for e in log.entries] == barcodes[::-1]
        assert field.value == ""


async def test_keys_queued_all_at_once_are_still_one_scan_per_enter(desk_app: AppFactory) -> None:
    """S3: the whole burst is queued before the app reads any of it (a scanner outrunning the UI)."""
    app = desk_app("CCWID", status="Pocket")
    barcodes = [f"W{n:02d}" for n in range(1, 31)]
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for barcode in barcodes:
            scanner_burst(app, barcode)
        await pilot.pause()
        assert events_of(app.db, "work_order_started") == {b: 1 for b in barcodes}
        assert len(_parts(app)[3].entries) == 30


async def test_a_pasted_list_is_one_scan_per_line(desk_app: AppFactory) -> None:
    """S3: a paste of several lines scans each non-blank line; Input alone would keep the first."""
    app = desk_app("CCWID", status="Pocket")
    async with app.run_test(size=SIZE) as pilot:
        _, field, _, log = _parts(app)
        field.post_message(events.Paste("W07\r\nW08\n\n  W09  \n"))
        await pilot.pause()
        assert sorted(events_of(app.db, "work_order_started")) == ["W07", "W08", "W09"]
        assert [e.barcode for e in log.entries] == ["W09", "W08", "W07"]
        field.post_message(events.Paste("W1"))  # one piece of a line is typing help, not a scan
        await pilot.pause()
        assert field.value == "W1"


async def test_circulation_desk_has_no_status_and_no_done(desk_app: AppFactory) -> None:
    """W6: at a desk, Set Status To and Done are not offered (nor their keys) and a scan reshelves."""
    app = desk_app("WID-CIRC")
    async with app.run_test(size=SIZE) as pilot:
        screen, _, banner, _ = _parts(app)
        shown = {b.binding.key for b in screen.active_bindings.values() if b.enabled and b.binding.show}
        assert {"f8", "f9"}.isdisjoint(shown) and {"f1", "f2", "f3", "f10"} <= shown
        assert not screen.query_one("#done-row").display
        await pilot.press("f8")
        assert app.done is False
        await pilot.press(*"W10", "enter")
        await pilot.pause()
        assert banner.has_class("-reshelve")
        assert queries.item_show(app.db, "W10")["base_status"] == "in_place"


async def test_done_toggle_is_loud_and_sticky(desk_app: AppFactory) -> None:
    """F8 shows Done: Yes in the warning style and writes it to the settings file."""
    from libdesk.config import load_settings

    app = desk_app("CCWID")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f8")
        await pilot.pause()
        assert app.screen.query_one("#done-row").has_class("-done-yes")
        assert "Yes" in str(app.screen.query_one("#setting-done", Label).render())
        assert load_settings().done is True


class TestScanInSnapshots:
    """Scan In Items as it looks (seeded database, frozen clock, 120x36)."""

    def test_department_with_status_after_scans(self, snap_compare: object, desk_app: AppFactory) -> None:
        """Settings rows, the in-process banner, and the log with an error row between two scans."""
        app = desk_app("CCWID", status="Pocket")
        assert snap_compare(app, press=[*"W01", "enter", *"NOPE", "enter", *"W02", "enter"],  # type: ignore[operator]
                            terminal_size=SIZE)

    def test_error_stays_red(self, snap_compare: object, desk_app: AppFactory) -> None:
        """An unknown barcode: the banner in red with the engine's message."""
        app = desk_app("CCWID", status="Pocket")
        assert snap_compare(app, press=[*"NOPE-1", "enter"], terminal_size=SIZE)  # type: ignore[operator]

    def test_done_yes_sends_item_to_its_request(self, snap_compare: object, desk_app: AppFactory) -> None:
        """Done: Yes is loud; the banner names the pickup desk of the waiting request."""
        app = desk_app("CCWID", done=True)
        scan.scan_in(app.db, "W05", at="CCWID", operator="cc", status="Repair")
        requests.place_request(app.db, "W05", "P0001", "LAW-CIRC", operator="circ")
        assert snap_compare(app, press=[*"W05", "enter"], terminal_size=SIZE)  # type: ignore[operator]

    def test_circulation_desk_reshelve(self, snap_compare: object, desk_app: AppFactory) -> None:
        """At a desk: no status, no Done; an item of this library goes back on the shelf."""
        app = desk_app("WID-CIRC")
        assert snap_compare(app, press=[*"W10", "enter"], terminal_size=SIZE)  # type: ignore[operator]

    def test_light_theme(self, snap_compare: object, desk_app: AppFactory) -> None:
        """The same screen on a light theme: banner and error row stay readable."""
        app = desk_app("CCWID", status="Pocket")

        def light(pilot: object) -> None:
            app.theme = "textual-light"

        assert snap_compare(app, press=[*"W01", "enter", *"NOPE", "enter"], terminal_size=SIZE,  # type: ignore[operator]
                            run_before=light)
