"""Scanners in the app (SPEC S3, S4): the keyboard wedge wherever the focus is, pastes, the
double-scan window, and a serial scanner on a pseudo-terminal, end to end.

The wedge tests post ``events.Key`` to the app with the timestamps a scanner (8 ms apart) or a
person (150 ms apart) would give them, all at once, as a terminal delivers keys the app reads
late: the burst detector decides on the keys' own times, so the tests never sleep to make a
gap. The detector's timing rules themselves are tested on the pure detector
(tests/scanners/test_wedge.py); these prove the wiring. Serial tests wait for events (the
header's state, a log line) with generous timeouts, never for a fixed time.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import serial
from textual import events
from textual._time import get_time  # the clock of events.Key.time, for synthetic key times

from libdesk import circulation, queries, requests
from libdesk.config import Settings
from libdesk.importing import insert_items
from libdesk.scanners.barcodes import luhn_check_digit
from screens.app import LibdeskApp
from screens.item_dialogs import RequestDialog
from screens.monitor import MonitorScreen
from screens.physical_items import PhysicalItemsScreen
from screens.return_items import DestinationPopup, ReturnItemsScreen
from screens.scan_in import ScanInScreen
from screens.widgets import DeskHeader, ScanField
from tests.conftest import FROZEN, db_fingerprint
from tests.scanners.test_serial_reader import Pty
from tests.screens.conftest import SIZE, AppFactory, events_of, wedge_settled

WAIT = 10.0  # seconds; only ever reached when something is broken
SCANNER_GAP = 0.008  # a USB wedge scanner: a key every few ms
PERSON_GAP = 0.150  # a quick typist
BODY = "3204400000025"
BARCODE = BODY + str(luhn_check_digit(BODY))  # a 14-digit library barcode with its check digit
OTHER = "3204400000031" + str(luhn_check_digit("3204400000031"))
needs_pty = pytest.mark.skipif(not hasattr(os, "openpty") or sys.platform == "win32", reason="needs POSIX ptys")


def add_items(app: LibdeskApp, *barcodes: str) -> None:
    """Items on the Widener stacks with scanner-length barcodes."""
    insert_items(app.db, [
        {"barcode": b, "title": f"Title of {b}", "author": "Author", "call_number": f"QC{n:04d}",
         "material_type": "BOOK", "library": "WID", "location": "WID-STACKS", "process_type": None, "version": 1,
         "created_at": FROZEN, "updated_at": FROZEN}
        for n, b in enumerate(barcodes)
    ], operator="admin", source="scanning test")


def type_keys(app: LibdeskApp, text: str, gap: float, *, enter: bool = True, start: float | None = None) -> float:
    """Post ``text`` (letters and digits) and Enter to the app as keys ``gap`` seconds apart,
    stamped in the recent past; returns the time after the last key."""
    t = get_time() - 5.0 if start is None else start
    for char in text:
        key = events.Key(char, char)
        key.time = t
        app.post_message(key)
        t += gap
    if enter:
        key = events.Key("enter", "\r")
        key.time = t
        app.post_message(key)
        t += gap
    return t


async def settled(pilot: Any) -> None:
    """The keys posted have been decided and their effects shown (workers included)."""
    await pilot.pause()
    await wedge_settled(pilot.app)
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def until(pilot: Any, condition: Callable[[], bool], what: str) -> None:
    """Wait (by events, up to WAIT seconds) until ``condition`` holds."""
    loop = asyncio.get_running_loop()
    end = loop.time() + WAIT
    while not condition():
        assert loop.time() < end, f"timed out waiting for {what}"
        await pilot.pause(0.02)


def record_scans(screen: Any) -> list[str]:
    """Wrap a screen's scan handler to record what reaches it."""
    calls: list[str] = []
    handler = screen.handle_scan

    def recording(barcode: str) -> Any:
        calls.append(barcode)
        return handler(barcode)

    screen.handle_scan = recording
    return calls


def keys_reaching_widgets(app: LibdeskApp) -> list[str]:
    """Characters of the keys delivered to a widget from now on (forwarded by the app)."""
    seen: list[str] = []
    original = app.screen.__class__._forward_event

    def spy(self: Any, event: Any) -> None:
        if isinstance(event, events.Key) and event.character:
            seen.append(event.character)
        original(self, event)

    for node in (app.screen, *app.screen.walk_children()):
        node._forward_event = spy.__get__(node)  # type: ignore[method-assign]
    return seen


# -- wedge ---------------------------------------------------------------------------------

async def test_burst_in_the_physical_items_search_box_is_a_scan_and_types_nothing(desk_app: AppFactory) -> None:
    """S3: the focus is on a search box; a scanner's burst is one scan for the screen's
    handler, and none of its keys reach the box (the handler alone fills it)."""
    app = desk_app("CCWID")
    add_items(app, BARCODE)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4")
        screen = app.screen
        assert isinstance(screen, PhysicalItemsScreen)
        screen.search_box.focus()
        await pilot.pause()
        calls = record_scans(screen)
        typed = keys_reaching_widgets(app)
        type_keys(app, BARCODE, SCANNER_GAP)
        await settled(pilot)
        assert calls == [BARCODE]
        assert typed == []
        assert screen.search_box.value == BARCODE
        assert list(screen.rows) == [BARCODE]


async def test_typing_at_a_persons_speed_still_types_into_the_search_box(desk_app: AppFactory) -> None:
    """S3: the same keys 150 ms apart are typing: replayed into the box in order, no scan."""
    app = desk_app("CCWID")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4")
        screen = app.screen
        assert isinstance(screen, PhysicalItemsScreen)
        screen.search_box.focus()
        await pilot.pause()
        calls = record_scans(screen)
        type_keys(app, "Title", PERSON_GAP, enter=False)
        await settled(pilot)
        assert screen.search_box.value == "Title"
        assert calls == []
        assert app.focused is screen.search_box


async def test_a_burst_on_a_screen_without_scans_goes_to_scan_in(desk_app: AppFactory) -> None:
    """Monitor takes no scans: the burst is a Scan In (the README's rule), shown there."""
    app = desk_app("CCWID", status="Pocket")
    add_items(app, BARCODE)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f7")
        await pilot.app.workers.wait_for_complete()
        assert isinstance(app.screen, MonitorScreen)
        type_keys(app, BARCODE, SCANNER_GAP)
        await settled(pilot)
        screen = app.screen
        assert isinstance(screen, ScanInScreen)
        assert events_of(app.db, "work_order_started") == {BARCODE: 1}
        assert [e.barcode for e in screen.scan_log.entries] == [BARCODE]
        assert app.focused is screen.scan_field and screen.scan_field.value == ""


async def test_a_misread_is_red_and_changes_nothing(desk_app: AppFactory) -> None:
    """A burst that breaks the [wedge] barcode rules (a wrong check digit) is rejected."""
    settings = Settings(operator="admin", currently_at="CCWID", status="Pocket", wedge={"check_digit": "library"})
    app = desk_app(settings=settings)
    misread = BARCODE[:-1] + str((int(BARCODE[-1]) + 1) % 10)
    async with app.run_test(size=SIZE) as pilot:
        before = db_fingerprint(app.db)
        type_keys(app, misread, SCANNER_GAP)
        await settled(pilot)
        screen = app.screen
        assert isinstance(screen, ScanInScreen)
        assert screen.banner.has_class("-error") and "check digit" in screen.banner.headline
        assert screen.scan_log.entries[0].outcome == "error"
        assert db_fingerprint(app.db) == before


async def test_a_pasted_list_is_one_scan_per_line_wherever_it_is_pasted(desk_app: AppFactory) -> None:
    """S3: a terminal's paste of several lines (as the app receives it): several scans."""
    app = desk_app("CCWID", status="Pocket")
    async with app.run_test(size=SIZE) as pilot:
        app.post_message(events.Paste("W07\r\nW08\n\n  W09  \n"))
        await settled(pilot)
        screen = app.screen
        assert isinstance(screen, ScanInScreen)
        assert sorted(events_of(app.db, "work_order_started")) == ["W07", "W08", "W09"]
        assert [e.barcode for e in screen.scan_log.entries] == ["W09", "W08", "W07"]
        assert screen.scan_field.value == ""


async def test_a_burst_closes_the_where_it_goes_pop_up_and_is_returned(desk_app: AppFactory) -> None:
    """Return Items: the notice pop-up never stops a scanner; the next item's burst closes it
    and is one return."""
    app = desk_app("WID-CIRC")
    add_items(app, BARCODE)
    circulation.loan(app.db, "W02", "P0001", at="WID-CIRC", operator="circ")
    circulation.loan(app.db, BARCODE, "P0002", at="WID-CIRC", operator="circ")
    requests.place_request(app.db, "W02", "P0003", "LAW-CIRC", operator="circ")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3", *"W02", "enter")
        assert isinstance(app.screen, DestinationPopup)
        type_keys(app, BARCODE, SCANNER_GAP)
        await settled(pilot)
        screen = app.screen
        assert isinstance(screen, ReturnItemsScreen)
        assert [row.barcode for row in screen.returned.values()] == ["W02", BARCODE]
        assert queries.item_show(app.db, BARCODE)["base_status"] == "in_place"
        assert app.focused is screen.scan_field and screen.scan_field.value == ""


async def test_a_patron_card_scanned_into_the_request_pop_up_fills_it_in(desk_app: AppFactory) -> None:
    """A pop-up that takes no scans but has a text field gets the scan typed in, Enter
    included, as a scanner always typed: the Request pop-up's patron field."""
    app = desk_app("WID-CIRC")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4")
        screen = app.screen
        assert isinstance(screen, PhysicalItemsScreen)
        screen.run_search("W14", focus_results=True)
        await settled(pilot)
        await pilot.press("ctrl+n")
        assert isinstance(app.screen, RequestDialog)
        type_keys(app, "P0007", SCANNER_GAP)
        await settled(pilot)
        assert app.screen is screen
        queue = queries.item_show(app.db, "W14")["requests"]
        assert [(r["kind"], r["patron"], r["pickup"]) for r in queue] == [("patron", "P0007", "WID-CIRC")]


# -- double scans (S4) --------------------------------------------------------------------

async def test_double_scan_within_window_is_ignored_and_said_so(desk_app: AppFactory) -> None:
    """S4: the same barcode again within 1.5 s (by the wedge, then by the scan field) is not
    acted on: the banner keeps the first result and says so, the log has a line, the database
    is unchanged. After the window it is acted on again."""
    app = desk_app("CCWID", status="Pocket")
    add_items(app, BARCODE)
    now = [1000.0]
    app.scan_clock = lambda: now[0]
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, ScanInScreen)
        type_keys(app, BARCODE, SCANNER_GAP)
        await settled(pilot)
        assert screen.banner.has_class("-in-process")
        after_first = db_fingerprint(app.db)

        now[0] += 0.4
        type_keys(app, BARCODE, SCANNER_GAP)  # the trigger bounced
        await settled(pilot)
        now[0] += 0.4
        screen.query_one(ScanField).post_message(ScanField.Scanned(screen.scan_field, BARCODE))  # typed again
        await settled(pilot)
        assert db_fingerprint(app.db) == after_first
        assert screen.banner.has_class("-in-process")  # the first scan's result stands
        assert "not acted on twice" in screen.banner.detail
        assert [(e.barcode, e.outcome) for e in screen.scan_log.entries] == [
            (BARCODE, "info"), (BARCODE, "info"), (BARCODE, "in_process")]
        assert "not acted on twice" in screen.scan_log.entries[0].summary

        now[0] += 1.6  # the window slides from the latest read: 1.6 s after it, a new scan
        type_keys(app, BARCODE, SCANNER_GAP)
        await settled(pilot)
        assert db_fingerprint(app.db) != after_first
        assert screen.scan_log.entries[0].outcome == "in_process"
        assert "not acted on" not in screen.banner.detail


async def test_a_refused_scan_can_be_rescanned_at_once(desk_app: AppFactory) -> None:
    """A scan into a pop-up that takes none (the Currently At chooser) is refused with a
    message and picks nothing; a scan that failed (red) is forgotten by the double-scan window:
    scanning it again after fixing the cause is acted on, not called a repeat."""
    app = desk_app(None)
    add_items(app, BARCODE)
    app.scan_clock = lambda: 50.0  # no time passes at all
    said: list[str] = []
    notify = app.notify
    app.notify = lambda message, **kw: (said.append(message), notify(message, **kw))[1]  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        chooser = app.screen
        assert chooser.id == "choose-place"
        before = db_fingerprint(app.db)
        type_keys(app, BARCODE, SCANNER_GAP)
        await settled(pilot)
        assert app.screen is chooser and app.currently_at is None  # Enter did not pick a place
        assert any("close the pop-up first" in message for message in said)
        assert db_fingerprint(app.db) == before
        await pilot.press("escape")  # not now
        screen = app.screen
        assert isinstance(screen, ScanInScreen)
        type_keys(app, BARCODE, SCANNER_GAP)
        await settled(pilot)
        assert screen.banner.has_class("-error") and "Currently At" in screen.banner.headline
        app.set_place("WID-CIRC")
        type_keys(app, BARCODE, SCANNER_GAP)
        await settled(pilot)
        assert screen.banner.has_class("-reshelve")


# -- settings ----------------------------------------------------------------------------

async def test_bad_scanner_settings_are_said_once_and_the_keyboard_still_scans(
        desk_app: AppFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bad [serial] value: one red notification naming it; no serial reader; the header says
    the serial scanner is off; wedge scans still work."""
    monkeypatch.delenv("LIBDESK_SERIAL_PORT", raising=False)
    settings = Settings(operator="admin", currently_at="CCWID", status="Pocket",
                        serial={"port": "/dev/ttyUSB0", "baudrate": "fast"})
    app = desk_app(settings=settings)
    add_items(app, BARCODE)
    said: list[tuple[str, str]] = []
    notify = app.notify

    def recording(message: str, **kw: Any) -> None:
        said.append((message, kw.get("severity", "information")))
        notify(message, **kw)

    app.notify = recording  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        errors = [message for message, severity in said if severity == "error"]
        assert len(errors) == 1 and "serial.baudrate = 'fast'" in errors[0]
        assert app.serial_reader is None
        header = app.screen.query_one(DeskHeader)
        assert header.has_class("-scanner-error") and "serial off" in header.render().plain
        type_keys(app, BARCODE, SCANNER_GAP)
        await settled(pilot)
        assert events_of(app.db, "work_order_started") == {BARCODE: 1}


# -- serial -------------------------------------------------------------------------------

@pytest.fixture
def pty(tmp_path: Path) -> Iterator[Pty]:
    device = Pty(tmp_path / "scanner")
    yield device
    device.close()


@needs_pty
async def test_serial_scanner_end_to_end_with_unplug_and_replug(
        desk_app: AppFactory, pty: Pty, monkeypatch: pytest.MonkeyPatch) -> None:
    """S3: a barcode written to the port (LIBDESK_SERIAL_PORT) lands as a scan; the header
    says connected; unplugging says waiting (with the reason); replugging reconnects and
    scans again. A double read within the window is said, not acted on (S4)."""
    monkeypatch.setenv("LIBDESK_SERIAL_PORT", str(pty.link))
    app = desk_app(settings=Settings(operator="admin", currently_at="CCWID", status="Pocket",
                                     serial={"terminator": "cr"}))
    app.serial_retry = (0.02, 0.2)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, ScanInScreen)
        header = screen.query_one(DeskHeader)
        await until(pilot, lambda: app.scanner_state == "connected", "the serial scanner to connect")
        await pilot.pause()
        assert header.has_class("-scanner-connected")
        # The header keeps two lines: the test's long tmp path ends in an ellipsis there.
        assert app.scanner_status == f"connected: serial {pty.link} 9600 8N1"
        assert "Scanner connected: serial /" in header.render().plain

        pty.send(b"W01\rW01\r")  # presentation mode: the same book read twice
        await until(pilot, lambda: len(screen.scan_log.entries) == 2, "two serial reads in the log")
        assert events_of(app.db, "work_order_started") == {"W01": 1}
        assert [(e.barcode, e.outcome) for e in screen.scan_log.entries] == [("W01", "info"), ("W01", "in_process")]

        pty.unplug()
        await until(pilot, lambda: app.scanner_state == "waiting", "the header to say waiting")
        await pilot.pause()
        assert header.has_class("-scanner-waiting")
        assert "Scanner waiting: serial port" in header.render().plain
        text = app.scanner_status
        assert "disconnected" in text or "not found" in text

        pty.plug()
        await until(pilot, lambda: app.scanner_state == "connected", "the scanner to reconnect")
        pty.send(b"W02\r")
        await until(pilot, lambda: "W02" in events_of(app.db, "work_order_started"), "W02 scanned after replug")
        assert screen.scan_log.entries[0].barcode == "W02"
        reader = app.serial_reader
        assert reader is not None
    assert reader.status.state == "stopped"  # stopped with the app


def _loop_opener(cfg: Any) -> Any:
    return serial.serial_for_url("loop://", timeout=0.02)


class TestScannerHeaderSnapshots:
    """The header's scanner slot for a serial scanner."""

    def test_serial_scanner_connected(self, snap_compare: Any, desk_app: AppFactory) -> None:
        """Connected (pyserial's loop://): the port and its settings, in the success colour."""
        app = desk_app(settings=Settings(operator="admin", currently_at="CCWID", serial={"port": "loop://"}))
        app.serial_opener = _loop_opener

        async def connected(pilot: Any) -> None:
            await until(pilot, lambda: app.scanner_state == "connected", "loop:// to connect")
            await pilot.pause()

        assert snap_compare(app, terminal_size=SIZE, run_before=connected)

    def test_serial_scanner_waiting_with_the_reason(self, snap_compare: Any, desk_app: AppFactory) -> None:
        """A port that is not there: waiting, in the warning colour, with the reason."""
        app = desk_app(settings=Settings(operator="admin", currently_at="CCWID",
                                         serial={"port": "/dev/ttyLIBDESK-NO-SUCH-PORT"}))
        app.serial_retry = (5.0, 5.0)  # one attempt during the test: the status stays put

        async def waiting(pilot: Any) -> None:
            await until(pilot, lambda: app.scanner_state == "waiting", "the missing port to be reported")
            await pilot.pause()

        assert snap_compare(app, terminal_size=SIZE, run_before=waiting)


async def test_the_app_stops_its_serial_reader_when_it_closes(desk_app: AppFactory) -> None:
    """loop:// through the app: a write is a scan; quitting stops the reader thread."""
    app = desk_app(settings=Settings(operator="admin", currently_at="CCWID", status="Pocket",
                                     serial={"port": "loop://", "terminator": "crlf"}))
    ports: list[Any] = []

    def opener(cfg: Any) -> Any:
        ports.append(_loop_opener(cfg))
        return ports[-1]

    app.serial_opener = opener
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.scanner_state == "connected", "loop:// to connect")
        ports[0].write(b"W03\r\n")
        await until(pilot, lambda: "W03" in events_of(app.db, "work_order_started"), "W03 scanned")
        reader = app.serial_reader
        assert reader is not None and reader.status.state == "connected"
    assert reader.status.state == "stopped"
    assert queries.item_show(app.db, "W03")["status"] == "Pocket"
