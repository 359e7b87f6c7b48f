"""Scan In Items (Alma: Fulfillment / Acquisitions > Scan In Items).

At a work-order department: Set Status To (the department type's statuses) and Done yes/no,
both sticky; a scan puts the item in the department's work order, moves it to the status,
transfers it from a department of the same type, or (Done) completes it and says where it
goes next (SPEC W1-W8, W14). At a circulation desk: no status and no Done; a scan receives
items in transit, sends requested items to the hold shelf or on, and reshelves the rest (W6,
W7). The engine decides all of it (:func:`libdesk.scan.scan_in`); this screen shows it: the
destination big in the banner, every scan of the session in the log with how to undo it.

One scan is a single indexed transaction of about a millisecond (DESIGN.md), so it runs
synchronously in the handler: a worker would only add latency, and could reorder two scans.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.markup import escape
from textual.widgets import Label

from libdesk import scan
from libdesk.core import Result
from libdesk.db import Database
from libdesk.scanners.double import Repeat
from screens.base import DeskCommand
from screens.scan_screen import ScanScreen
from screens.slip_offer import SLIP_BINDING, SlipOffer
from screens.widgets import LogEntry, ScanLog
from screens.widgets.result_banner import describe_result, outcome_of


class ScanInScreen(SlipOffer, ScanScreen):
    """Scan In Items: Currently At, Set Status To, Done, the scan field, the banner, the log."""

    TITLE = "Scan In Items"
    BODY_ID = "scan-in-body"
    SUPPORTS: ClassVar[frozenset[str]] = frozenset({"status", "done"})
    BINDINGS: ClassVar[list[BindingType]] = [SLIP_BINDING]
    HELP = """\
Scan each item in hand. Where it goes next appears in the banner, big: **hold shelf**,
**in transit** (and to where), **reshelve**, **in process** (status), or **stays** (send it
back to the department that must mark it Done). Errors are red and nothing is changed.

At a **department**, *Set Status To* (F9) and *Done* (F8) are sticky: they stay until you
change them, even after a restart. Done: Yes completes the work order and routes the item
to its next request, else home.

At a **circulation desk** there is no status and no Done.

The log lists this session's scans, newest first, with how to undo a scan by scanning again
(an accidental Done: set Done to No and scan the item again: a new work order starts here).

When an item goes **in transit** or to the **hold shelf**, **ctrl+k** prints its slip
(destination or patron big, barcode, title) with `lp`, or saves it when there is no printer;
the palette's *Print slips automatically* prints every one at once. A barcode not found:
**F4** searches Physical Items for the barcodes that start like it.
"""

    def __init__(self, db: Database) -> None:
        super().__init__(id="scan-in")
        self.db = db
        """The database the engine works on."""
        self.scans = 0
        """How many scans this session (the log's numbering)."""

    def compose_above(self) -> ComposeResult:
        with Vertical(id="scan-settings"):
            with Horizontal(classes="setting"):
                yield Label("Currently At", classes="setting-label")
                yield Label(id="setting-place", classes="setting-value")
                yield Label("F10", classes="setting-key")
            with Horizontal(classes="setting dept-only"):
                yield Label("Set Status To", classes="setting-label")
                yield Label(id="setting-status", classes="setting-value")
                yield Label("F9", classes="setting-key")
            with Horizontal(classes="setting dept-only", id="done-row"):
                yield Label("Done", classes="setting-label")
                yield Label(id="setting-done", classes="setting-value")
                yield Label("F8", classes="setting-key")

    def compose_below(self) -> ComposeResult:
        yield Label("This session", id="log-title")
        yield ScanLog()

    def on_mount(self) -> None:
        for name in ("currently_at", "status", "done"):
            self.watch(self.app, name, lambda _value: self._show_settings(), init=False)
        self._show_settings()

    def handle_scan(self, barcode: str) -> bool:
        """Scan In one barcode at Currently At with the sticky status and Done; False when it
        was refused (shown in red, nothing changed)."""
        app = self.libdesk_app
        place = app.place
        if place is None:
            self.scan_error(barcode, "Set Currently At first (F10): where are you scanning?")
            return False
        at, status, done = place.code, app.status if place.is_department else None, app.done and place.is_department
        result = self.scan_engine(barcode, lambda: scan.scan_in(self.db, barcode, at=at, operator=app.operator,
                                                                status=status, done=done), catalogue=True)
        if result is None:
            return False
        self.offer_slip(result)  # transit or hold slip: ctrl+k (or printed at once, auto_slips)
        self._log(result, self._undo_hint(result, done, place.is_department))
        return True

    def scan_refused(self, reason: str, raw: str = "") -> None:
        """A misread (the scanner's barcode rules): red in the banner and the log."""
        self.scan_error(raw, reason, "Not a barcode here: scan it again")

    def scan_repeated(self, repeat: Repeat) -> None:
        """A double scan (S4): the banner keeps the first scan's result and says so; the log
        has a line for it; the database is not touched."""
        self.banner.show_repeat(repeat.message, repeat.barcode)
        self._add_log_entry(repeat.barcode, "info", f"Scanned again within {repeat.window:g} s: not acted on twice",
                            f"To repeat it, scan again after {repeat.window:g} s")

    def _undo_hint(self, result: Result, done: bool, at_department: bool) -> str:
        if done:
            return "Done by mistake? F8 → No, scan it again"
        if at_department and result.next_step == "in_process":
            return "Wrong status? F9, scan it again"
        if result.next_step in ("transit", "reshelve", "hold_shelf"):
            return "Wrong desk? F10, scan it again"
        return ""

    def scan_error(self, barcode: str, message: str, hint: str = "Fix it, then scan again") -> None:
        """A refused scan: red in the banner, and a line in the log with how to go on."""
        self.banner.show_error(message, barcode)
        self._add_log_entry(barcode, "error", message, hint)

    def _log(self, result: Result, hint: str) -> None:
        headline, _ = describe_result(result, self.db.institution)
        self._add_log_entry(result.barcode or "", outcome_of(result.next_step), headline, hint)

    def _add_log_entry(self, barcode: str, outcome: str, summary: str, hint: str) -> None:
        self.scans += 1
        self.scan_log.add_entry(LogEntry(self.scans, self.libdesk_app.clock().strftime("%H:%M:%S"), barcode, outcome,
                                         summary, hint))
        self.query_one("#log-title", Label).update(
            f"This session: {self.scans} scan{'s' if self.scans != 1 else ''}, newest first")

    def _show_settings(self) -> None:
        app = self.libdesk_app
        inst = self.db.institution
        place = app.place
        at_desk = place is not None and place.is_desk
        self.set_class(at_desk or place is None, "-no-department")
        if place is None:
            where = "[b $text-warning]not set[/]: press F10 to choose your desk or department"
        elif place.is_desk:
            where = f"[b]{escape(place.name)}[/b] · {escape(place.code)} · circulation desk: no status, no Done"
        else:
            wo = inst.work_order_types[place.work_order_type or ""]
            where = f"[b]{escape(place.name)}[/b] · {escape(place.code)} · {escape(wo.name)}"
        self.query_one("#setting-place", Label).update(where)
        if place is not None and place.is_department:
            wo = inst.work_order_types[place.work_order_type or ""]
            status = (f"[b]{escape(app.status)}[/b]" if app.status
                      else f"(none: keep the item's status; new work orders start at {escape(wo.statuses[0])})")
            self.query_one("#setting-status", Label).update(status)
            self.query_one("#setting-done", Label).update(
                "[b]Yes[/b]: scans mark work orders Done" if app.done else "No")
            self.query_one("#done-row").set_class(app.done, "-done-yes")

    def desk_commands(self) -> Iterable[DeskCommand]:
        yield self.clear_banner_command()
        yield from self.slip_commands()

    @property
    def scan_log(self) -> ScanLog:
        return self.query_one(ScanLog)
