"""The scan log: this session's scans, newest first, each with how to undo it by a rescan.

Nothing here is read back from the database: the log is what this workstation did since the
app started, so a desk worker can check the last few items on the truck. It keeps the newest
:data:`MAX_ROWS` rows (older ones are in each item's history). The log never takes focus: the
scan field keeps it, and the mouse wheel still scrolls the log.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

MAX_ROWS = 500
"""Rows kept on screen; a long session drops the oldest."""


@dataclass(frozen=True)
class LogEntry:
    """One scan as the log shows it."""

    seq: int
    """1, 2, 3 ... in this session."""
    time: str
    """When, as HH:MM:SS."""
    barcode: str
    outcome: str
    """The banner outcome (an engine next_step, info or error)."""
    summary: str
    """Where the item went, or the error."""
    hint: str = ""
    """How to undo it by scanning again ("Done by mistake? F8 → No, rescan")."""


FIXED_WIDTHS = (4, 8, 16)
"""The #, Time and Barcode columns; Result and the hint share the rest."""
GAP = 2


def _text_only(style: Style) -> Style:
    """A component style without its background (so zebra rows keep theirs)."""
    return Style(color=style.color, bold=style.bold, italic=style.italic)


class ScanLog(ScrollView, can_focus=False):
    """This session's scans, newest first, drawn line by line (Textual's Line API).

    A line is built only when it is on screen, so a scan costs the same with 5 or 500 rows
    in the log (a DataTable re-rendered its visible rows on every scan: about 15 ms here).
    Line 0 is the column header and stays put while the rows scroll under it.
    """

    COMPONENT_CLASSES = {"scan-log--header", "scan-log--error", "scan-log--hint", "scan-log--odd"}

    DEFAULT_CSS = """
    ScanLog {
        height: 1fr;
        background: $surface;
        & > .scan-log--header { text-style: bold; background: $panel; }
        & > .scan-log--error { color: $text-error; text-style: bold; }
        & > .scan-log--hint { color: $text-muted; text-style: italic; }
        & > .scan-log--odd { background: $boost; }
    }
    """

    def __init__(self, *, id: str | None = "scan-log") -> None:
        super().__init__(id=id)
        self._entries: deque[LogEntry] = deque(maxlen=MAX_ROWS)
        """Oldest first (the deque drops the oldest at MAX_ROWS); shown newest first."""

    def add_entry(self, entry: LogEntry) -> None:
        """Add a scan at the top (the oldest goes once there are MAX_ROWS)."""
        self._entries.append(entry)
        self.virtual_size = Size(self.size.width, len(self._entries) + 1)
        self.scroll_home(animate=False)
        self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(event.size.width, len(self._entries) + 1)

    def _widths(self, width: int) -> tuple[int, ...]:
        free = width - sum(FIXED_WIDTHS) - GAP * 4
        hint = max(12, min(36, free * 2 // 5))
        return (*FIXED_WIDTHS, max(12, free - hint), hint)

    def _cells(self, texts: tuple[str, ...], widths: tuple[int, ...], styles: tuple[Style, ...]) -> list[Segment]:
        segments: list[Segment] = []
        for n, (text, width, style) in enumerate(zip(texts, widths, styles, strict=True)):
            if n:
                segments.append(Segment(" " * GAP, styles[0]))
            text = text.rjust(width) if n == 0 else text
            if cell_len(text) > width:
                text = set_cell_size(text, width - 1) + "…"
            segments.append(Segment(set_cell_size(text, width), style))
        return segments

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        widths = self._widths(width)
        base = self.rich_style
        if y == 0:
            header = base + self.get_component_rich_style("scan-log--header")
            strip = Strip(self._cells(("#", "Time", "Barcode", "Result", "If that was wrong"), widths, (header,) * 5))
            return strip.adjust_cell_length(width, header)
        index = self.scroll_offset.y + y - 1
        if index >= len(self._entries):
            return Strip.blank(width, base)
        entry = self._entries[-1 - index]
        row = base + self.get_component_rich_style("scan-log--odd") if index % 2 else base
        result = row + _text_only(self.get_component_rich_style("scan-log--error")) if entry.outcome == "error" else row
        hint = row + _text_only(self.get_component_rich_style("scan-log--hint"))
        summary = ("✗ " if entry.outcome == "error" else "") + entry.summary
        strip = Strip(self._cells((str(entry.seq), entry.time, entry.barcode, summary, entry.hint), widths,
                                  (row, row, row, result, hint)))
        return strip.adjust_cell_length(width, row)

    @property
    def entries(self) -> list[LogEntry]:
        """The scans shown, newest first."""
        return list(reversed(self._entries))
