"""What every desk screen shares: the app's handles, the F-keys it takes part in, its commands.

A desk screen subclasses :class:`DeskScreen`. The F-keys live on the app (one definition, so
the same number means the same thing everywhere, in the same footer order); a screen says
which of the shared ones apply to it with :attr:`DeskScreen.SUPPORTS` (or by overriding
:meth:`DeskScreen.supports`) and implements the matching hook:

- ``"refresh"`` (F5): :meth:`DeskScreen.refresh_list`;
- ``"status"`` (F9) and ``"done"`` (F8): nothing to implement; the app changes its sticky
  Set Status To / Done and the screen repaints from the app's reactives.

A screen that accepts barcodes implements ``handle_scan(barcode)`` (returning False when the
scan failed and was shown as an error, so an immediate rescan is not called a double scan).
Every scanner ends there through :meth:`screens.app.LibdeskApp.deliver_scan`, which puts the
double-scan filter (S4) in front of it: the wedge and serial scanners and pastes from the app,
and the screen's own scan field through :meth:`DeskScreen.scan_from_field` (call it from the
``ScanField.Scanned`` handler instead of calling ``handle_scan`` directly). A misread and a
double scan are said with :meth:`DeskScreen.scan_refused` and :meth:`DeskScreen.scan_repeated`,
in the screen's banner or result line. Extra command-palette entries come from
:meth:`DeskScreen.desk_commands`. A pop-up that only tells something (where a returned item
goes) is a :class:`NoticePopup`, which a scanner can never get stuck in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, cast

from textual import events
from textual.screen import Screen
from textual.widget import Widget

from screens.dialog import Dialog
from screens.widgets.result_banner import ResultBanner
from screens.widgets.result_line import ResultLine
from screens.widgets.scan_field import ScanField

if TYPE_CHECKING:  # the app imports the screens; the screens only need its type
    from libdesk.scanners.double import Repeat
    from screens.app import LibdeskApp

UNREACHABLE_REFUSAL = "The library database is unreachable: scan again when the header is green"
"""What a scan gets while the database server cannot be reached (nothing was changed)."""


class DeskCommand(NamedTuple):
    """A command-palette entry, named in desk words."""

    name: str
    help: str
    callback: Callable[[], Any]


class DeskScreen(Screen[None]):
    """A desk screen: header, F-key footer, the app's Currently At and operator."""

    SUPPORTS: ClassVar[frozenset[str]] = frozenset()
    """The shared F-key actions that apply here: "refresh", "status", "done"."""

    HELP: ClassVar[str] = ""
    """What this screen is for and its keys (Markdown), shown by F1."""

    search_offer: str | None = None
    """What F4 searches for in Physical Items after a barcode was not found here (None: F4
    just opens it). Set by :meth:`offer_search`, cleared by the next result."""

    def offer_search(self, barcode: str) -> str:
        """A scanned barcode is not in the catalogue (mistyped, or a damaged label read short):
        F4 will search Physical Items for the barcodes that start like it. Returns the words
        for the red banner."""
        stem = barcode[:-2] if len(barcode) >= 5 else barcode
        self.search_offer = f"{stem}*"
        return f"press F4 to search for {self.search_offer}"

    @property
    def libdesk_app(self) -> LibdeskApp:
        """The app, typed: operator, Currently At, sticky settings, the database. (Not "desk":
        in this domain a desk is a circulation desk.)"""
        return cast("LibdeskApp", self.app)

    def supports(self, action: str) -> bool:
        """Whether a shared F-key action applies here now (the footer hides it otherwise)."""
        return action in self.SUPPORTS

    def refresh_list(self) -> None:
        """F5: reload this screen's list (screens that support "refresh")."""

    def desk_commands(self) -> Iterable[DeskCommand]:
        """This screen's own command-palette entries."""
        return ()

    def scan_from_field(self, barcode: str) -> None:
        """A barcode from this screen's scan field: to ``handle_scan`` through the app's
        double-scan filter, like every other scan."""
        self.libdesk_app.deliver_scan(barcode, screen=self)

    def scan_refused(self, reason: str, raw: str = "") -> None:
        """A scanner read that is not a barcode (a misread, by the barcode rules): red, where
        this screen shows errors (its banner, else its result line, else a notification)."""
        banners = self.query(ResultBanner)
        lines = self.query(ResultLine)
        if banners:
            banners.first().show_error(reason, raw)
        elif lines:
            lines.first().error(reason)
        else:
            self.app.notify(reason, title="Not a barcode", severity="error")

    def scan_repeated(self, repeat: Repeat) -> None:
        """A double scan (S4): not acted on; say so where this screen shows results."""
        banners = self.query(ResultBanner)
        lines = self.query(ResultLine)
        if banners:
            banners.first().show_repeat(repeat.message, repeat.barcode)
        elif lines:
            lines.first().show(repeat.message, "warning")
        else:
            self.app.notify(repeat.message, title="Scanned twice", severity="warning")

    def typing_target(self) -> Widget | None:
        """Where characters go when the focus is on something that does not type (a list): the
        scan field, so a scanner is never lost in a list (where its Enter would act on a row)."""
        fields = self.query(ScanField)
        return fields.first() if fields else None


class NoticePopup(Dialog[None]):
    """A pop-up that tells, and never stops a scanner.

    (A pop-up that only shows something but takes keys of its own, such as help or an audit
    trail, sets ``SCAN_CLOSES = True`` instead: a scan closes it and goes to the screen below,
    while typing stays its own.)

    Enter or Escape closes it; so does the first character typed, which then goes on to the
    scan field underneath with the rest of the barcode. The app does the routing
    (:meth:`screens.app.LibdeskApp.on_event`), before any key reaches a screen: keys that a
    scanner sends in one burst are forwarded in the order they came, whereas a pop-up closing
    itself from its own key handler would already hold the next barcode's first keys, and
    the scan field would get them after the rest (or not at all).
    """

    def on_click(self, event: events.Click) -> None:
        self.dismiss(None)
