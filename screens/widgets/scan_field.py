"""The scan field: where a barcode arrives, from a scanner, the keyboard or a paste.

Textual's ``Input`` does three things a desk cannot use (STYLE.md section 7): it does not clear
itself on Enter, it keeps only the first line of a paste, and it posts ``Submitted`` for an
empty Enter. :class:`ScanField` posts :class:`ScanField.Scanned` instead, empties itself at
once (so the next scan can start while the screen is still showing the last result), keeps
its focus, ignores empty lines, and turns a pasted list of barcodes into one scan per line.

In the desk app the keys reach the field only after the app's keyboard-wedge detector has
decided they are a person's typing (a scanner's burst becomes a scan without touching the
field), and a terminal's multi-line paste is already turned into scans by the app; what the
field posts goes through the app's double-scan filter too (``DeskScreen.scan_from_field``).
"""

from __future__ import annotations

from textual import events
from textual.message import Message
from textual.widgets import Input


def pasted_barcodes(text: str) -> list[str] | None:
    """The barcodes in pasted text, or None when the paste is a plain piece of one line.

    A paste that contains a line break is a list: every non-blank line is one barcode (a
    column copied from a spreadsheet, a list from an e-mail). A paste without a line break is
    ordinary typing help and goes into the field as text.
    """
    if "\n" not in text and "\r" not in text:
        return None
    return [line.strip() for line in text.splitlines() if line.strip()]


class ScanField(Input):
    """A one-line field for barcodes; Enter posts :class:`Scanned` and leaves it empty."""

    DEFAULT_CSS = """
    ScanField {
        border: tall $accent 60%;
        &:focus {
            border: tall $accent;
        }
    }
    """

    class Scanned(Message):
        """A barcode was scanned (or typed and Enter pressed, or pasted as one line of a list)."""

        def __init__(self, scan_field: ScanField, barcode: str) -> None:
            super().__init__()
            self.scan_field = scan_field
            """The field the barcode arrived in."""
            self.barcode = barcode
            """The barcode, trimmed; never empty."""

        @property
        def control(self) -> ScanField:
            """The field the barcode arrived in (for ``@on(ScanField.Scanned, "#id")``)."""
            return self.scan_field

    def __init__(
        self,
        placeholder: str = "Scan or type a barcode, then Enter",
        *,
        id: str | None = "barcode",
        classes: str | None = None,
    ) -> None:
        super().__init__(placeholder=placeholder, id=id, classes=classes, select_on_focus=False)

    def scan(self, text: str) -> None:
        """Post one scan of ``text`` (ignored when blank)."""
        barcode = text.strip()
        if barcode:
            self.post_message(self.Scanned(self, barcode))

    async def action_submit(self) -> None:
        """Enter: hand the barcode on and be ready for the next one at once."""
        text = self.value
        self.clear()
        self.scan(text)

    async def _on_key(self, event: events.Key) -> None:
        # Enter must be handled here, in order with the characters. Through the binding it
        # would first bubble to the App and join the back of the App's queue: in a scanner's
        # burst the next barcode's keys, already queued, would reach the field before that
        # Enter and two barcodes would run together (found by the queued-burst test).
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            await self.action_submit()

    def _on_paste(self, event: events.Paste) -> None:
        barcodes = pasted_barcodes(event.text)
        if barcodes is None:
            return  # one piece of a line: Input inserts it as typing
        # Input would keep only the first line (textual widgets/_input.py::_on_paste).
        event.prevent_default()
        event.stop()
        for barcode in barcodes:
            self.scan(barcode)
