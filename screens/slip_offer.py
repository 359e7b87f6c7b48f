"""Transit and hold slips on one key (issue 12 item 6), for the screens that send items on
(Scan In Items, Return Items).

When a scan sends an item In Transit or onto the hold shelf, the banner offers its slip
(``ctrl+k``): :func:`libdesk.slips.slip_for` writes it (the destination, or the patron, big;
barcode, title) and :func:`libdesk.slips.print_slip` sends it to ``lp`` or saves it. With the
workstation setting ``auto_slips`` (the palette's "Print slips automatically") every such
slip is printed at once. Reading and printing a slip changes nothing in the database.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.binding import Binding

from libdesk.config import save_settings
from libdesk.core import Result
from libdesk.errors import LibdeskError
from screens.base import DeskCommand

if TYPE_CHECKING:
    from screens.widgets import ResultBanner

SLIP_STEPS = ("transit", "hold_shelf")
"""Next steps whose item travels with a slip."""

SLIP_KEY = "ctrl+k"

SLIP_BINDING = Binding(SLIP_KEY, "print_slip", "Slip", show=False, priority=True, id="print-slip")
"""priority: the scan field would take ctrl+k as "delete to the end"; a barcode needs no such edit."""


class SlipOffer:
    """Mixed into a DeskScreen with a ``banner`` (ResultBanner) and ``db``."""

    slip_barcode: str | None = None
    """The item whose slip ctrl+k prints (the last one sent in transit or to the hold shelf)."""

    banner: ResultBanner

    def offer_slip(self, result: Result) -> None:
        """After a scan's result is shown: offer (or, with auto_slips, print) its slip."""
        if result.next_step not in SLIP_STEPS or not result.barcode:
            self.slip_barcode = None
            return
        self.slip_barcode = result.barcode
        if self.app.settings.auto_slips:  # type: ignore[attr-defined]
            where = self._print(result.barcode)
            if where:
                self.banner.item_line = f"{self.banner.item_line} · slip {where}"
            return
        self.banner.item_line = f"{self.banner.item_line} · ctrl+k: print the slip"

    def action_print_slip(self) -> None:
        """ctrl+k: the transit or hold slip of the last item sent on."""
        if self.slip_barcode is None:
            self.app.notify("No slip to print: scan an item that goes in transit or to the hold shelf first",  # type: ignore[attr-defined]
                            severity="warning")
            return
        where = self._print(self.slip_barcode)
        if where:
            self.app.notify(f"Slip for {self.slip_barcode} {where}", title="Slip")  # type: ignore[attr-defined]

    def _print(self, barcode: str) -> str | None:
        from libdesk import slips  # lazy: only a slip needs it (start-up, issue 12 item 4)

        try:
            text = slips.slip_for(self.db, barcode)  # type: ignore[attr-defined]
            return slips.print_slip(text, barcode)
        except LibdeskError as exc:
            self.app.notify(exc.message, title="Slip not printed", severity="error")  # type: ignore[attr-defined]
            return None

    def action_toggle_auto_slips(self) -> None:
        """Print slips automatically: on or off (a sticky workstation setting)."""
        settings = self.app.settings  # type: ignore[attr-defined]
        settings.auto_slips = not settings.auto_slips
        try:
            save_settings(settings)
        except LibdeskError as exc:
            self.app.notify(exc.message, title="Settings not saved", severity="error")  # type: ignore[attr-defined]
        self.app.notify("Slips print automatically" if settings.auto_slips  # type: ignore[attr-defined]
                        else "Slips print on ctrl+k only")

    def slip_commands(self) -> list[DeskCommand]:
        auto = self.app.settings.auto_slips  # type: ignore[attr-defined]
        return [
            DeskCommand("Print the slip", "Transit or hold slip of the last item sent on (ctrl+k)",
                        self.action_print_slip),
            DeskCommand("Print slips automatically: Off" if auto else "Print slips automatically: On",
                        "Every item sent in transit or to the hold shelf gets its slip at once",
                        self.action_toggle_auto_slips),
        ]
