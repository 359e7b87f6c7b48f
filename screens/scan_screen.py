"""What the scanning screens share: a scan field, the result banner under it, and their handling.

Scan In Items, Return Items, Receiving, Pick From Shelf and Hold Shelf are each a
:class:`ScanScreen`: the desk header, a body with the screen's own lines above (where you are,
its settings), the scan field (focused on arrival, and again after every pop-up and scan), the
banner that shows each result big, the screen's lists below, the footer. A screen says what is
its own through class attributes and two compose hooks; the scan itself goes through the app's
double-scan filter (:meth:`screens.base.DeskScreen.scan_from_field`) to the screen's
``handle_scan``, which calls the engine through :meth:`ScanScreen.scan_engine`: a refusal is
red in the banner with the barcode (nothing changed), a result is shown big.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Static

from libdesk.core import Result
from libdesk.errors import DatabaseUnreachable, LibdeskError, NotFound
from screens.base import UNREACHABLE_REFUSAL, DeskCommand, DeskScreen
from screens.widgets import DeskFooter, DeskHeader, ResultBanner, ScanField


class ScanScreen(DeskScreen):
    """A desk screen built around a scan field and its result banner."""

    AUTO_FOCUS = "#barcode"

    BODY_ID: ClassVar[str] = ""
    """The id of the body that holds the scan field, the banner and the lists (for the .tcss)."""

    SCAN_PROMPT: ClassVar[str] = "Scan or type a barcode, then Enter"
    """The scan field's placeholder."""

    READY: ClassVar[str] = "Ready: scan an item"
    """What the banner says before the first result."""

    CURSOR_LIST: ClassVar[str | None] = None
    """The id of the list whose highlight ↑/↓ move while the scan field has the focus."""

    PLACE_LINE: ClassVar[str | None] = None
    """The id of the line that says where the screen works (see :meth:`show_place`)."""

    db: Any
    """The database the engine works on (set by the screen's constructor)."""

    # -- layout ---------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield DeskHeader()
        with Vertical(id=self.BODY_ID or None):
            yield from self.compose_above()
            yield ScanField(self.SCAN_PROMPT)
            yield ResultBanner(self.READY)
            yield from self.compose_below()
        yield DeskFooter()

    def compose_above(self) -> Iterable[Widget]:
        """The screen's lines above the scan field (where it works, its settings)."""
        return ()

    def compose_below(self) -> Iterable[Widget]:
        """What comes under the banner (lists, the session's log)."""
        return ()

    def show_place(self, text: str, *, warning: bool) -> None:
        """Say where the screen works in its place line; ``warning`` when it cannot work there."""
        assert self.PLACE_LINE is not None
        where = self.query_one(f"#{self.PLACE_LINE}", Static)
        where.update(text)
        where.set_class(warning, "-warning")

    # -- scans ----------------------------------------------------------------------------------
    @on(ScanField.Scanned)
    def _scanned(self, event: ScanField.Scanned) -> None:
        event.stop()
        self.scan_from_field(event.barcode)  # through the app's double-scan filter (S4)

    def scan_engine(self, barcode: str, call: Callable[[], Result], *, catalogue: bool = False) -> Result | None:
        """Run the engine action ``call`` for a scanned ``barcode``; its result in the banner.

        A refusal goes to :meth:`scan_error` (red in the banner, nothing changed) and gives None.
        With ``catalogue`` (Scan In, Return: any barcode of the catalogue may come): a barcode
        not found offers F4's search for the barcodes that start like it, a database server
        out of reach turns the header red (the app tries it again) and a success turns it
        green again."""
        app = self.libdesk_app
        try:
            result = call()
        except DatabaseUnreachable as exc:
            if not catalogue:
                self.scan_error(barcode, exc.message)
                return None
            app.database_unreachable(exc)  # the header turns red; the app tries the server again
            self.scan_error(barcode, UNREACHABLE_REFUSAL, "Nothing was changed: scan it again when the header is green")
            return None
        except NotFound as exc:
            if not catalogue:
                self.scan_error(barcode, exc.message)
                return None
            # Mistyped or damaged: a search for it is one key away (F4).
            self.scan_error(barcode, f"{exc.message}: {self.offer_search(barcode)}", "F4: search for it")
            return None
        except LibdeskError as exc:
            if catalogue:
                self.search_offer = None
            self.scan_error(barcode, exc.message)
            return None
        if catalogue:
            self.search_offer = None
            app.database_reachable()
        self.banner.show_result(result, self.db.institution)
        return result

    def scan_error(self, barcode: str, message: str, hint: str = "Fix it, then scan again") -> None:
        """A scan that changed nothing: ``message`` red in the banner with the barcode (``hint``
        is for a screen that logs its scans)."""
        self.banner.show_error(message, barcode)

    def open_popup(self, popup: Screen[Any], then: Callable[[Any], None] | None = None) -> None:
        """A pop-up over the scan field: when it closes, the scan field has the focus again
        (the next scan must not land in a list), then ``then`` gets its answer."""

        def closed(answer: Any) -> None:
            self.scan_field.focus()
            if then is not None:
                then(answer)

        self.app.push_screen(popup, closed)

    def action_cursor(self, direction: str) -> None:
        """↑/↓ from the scan field move the highlight of the screen's list."""
        if self.CURSOR_LIST is None:
            return
        table = self.query_one(f"#{self.CURSOR_LIST}", DataTable)
        if direction == "up":
            table.action_cursor_up()
        else:
            table.action_cursor_down()

    def clear_banner_command(self) -> DeskCommand:
        """The palette's "Clear the result banner" (back to the screen's Ready words)."""
        return DeskCommand("Clear the result banner", f"Back to '{self.READY}'", self.banner.reset)

    # -- accessors ------------------------------------------------------------------------------
    @property
    def scan_field(self) -> ScanField:
        return self.query_one(ScanField)

    @property
    def banner(self) -> ResultBanner:
        return self.query_one(ResultBanner)
