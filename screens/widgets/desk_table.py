"""A DataTable whose text columns use the terminal's width, and whose cells never end mid-word
without saying so.

Textual's :class:`~textual.widgets.DataTable` keeps the widths it was given: at 160 columns a
title stayed 16 cells wide with 60 empty cells beside it, and at 80 a cell was cut with no
sign that it went on. :class:`DeskTable` takes the keys of its *flexible* columns (a title, a
note): whenever the table is resized, they share what the fixed columns leave (never less
than the width they were added with, else :data:`MIN_FLEX`), so a wide terminal shows whole
titles. Every text cell is given ``overflow="ellipsis"``: a value
too long for its column ends in "…". A ``compact`` table (Monitor's twelve columns beside its
facets) puts one space between columns instead of DataTable's two.
"""

from __future__ import annotations

import textwrap
from typing import Any

from rich.text import Text
from textual import events
from textual.widgets import DataTable
from textual.widgets.data_table import CellType, ColumnKey, RowKey

MIN_FLEX = 10
"""The narrowest a flexible column gets (cells)."""


def clipped(value: Any, lead: int = 0) -> Any:
    """A cell value that ends in an ellipsis when its column is too narrow for it (after
    ``lead`` spaces: the gap of a compact table)."""
    if isinstance(value, str):
        value = Text(value, end="")
    elif isinstance(value, Text):
        value = value.copy()
    else:
        return value
    value.no_wrap, value.overflow = True, "ellipsis"
    if lead:
        value.pad_left(lead)
    return value


class DeskTable(DataTable[Any]):
    """A DataTable with flexible columns and ellipsis-cut cells."""

    def __init__(self, *args: Any, flex: tuple[str, ...] = (), compact: bool = False, **kwargs: Any) -> None:
        if compact:
            kwargs["cell_padding"] = 0
        super().__init__(*args, **kwargs)
        self.lead = 1 if compact else 0
        """Spaces before each cell: a compact table has one cell between columns, not two."""
        self.flex = flex
        """Keys of the columns that share the width the others leave."""
        self.flex_min: dict[str, int] = {}
        """The width each flexible column was added with: the least it gets."""

    def add_column(self, label: Any, *, width: int | None = None, key: str | None = None,
                   default: CellType | None = None) -> ColumnKey:
        if self.lead:
            # Each header line gets the gap (a wrapped header would run into its neighbour).
            plain = label.plain if isinstance(label, Text) else str(label)
            lines = textwrap.wrap(plain, width) if width else [plain]
            label = Text("\n".join(" " * self.lead + line for line in lines or [""]))
            width = width + self.lead if width else None
        column = super().add_column(label, width=width, key=key, default=default)
        if key in self.flex:
            self.flex_min[key] = width or MIN_FLEX
        # Every column added changes what the flexible ones may take: a fixed column added
        # after them (Return Items' Time) was otherwise pushed off the right edge until the
        # next resize, and whether a resize came first was a race.
        self.fit_columns()
        return column

    def add_row(self, *cells: CellType, height: int | None = 1, key: str | None = None,
                label: Any = None) -> RowKey:
        return super().add_row(*(clipped(cell, self.lead) for cell in cells), height=height, key=key, label=label)

    def update_cell(self, row_key: RowKey | str, column_key: ColumnKey | str, value: CellType, *,
                    update_width: bool = False) -> None:
        super().update_cell(row_key, column_key, clipped(value, self.lead), update_width=update_width)

    def on_resize(self, event: events.Resize) -> None:
        self.fit_columns()

    def _update_dimensions(self, new_rows: Any) -> None:
        # A fixed column without a width (Return Items' Next Step) grows with the rows added,
        # which DataTable measures only here, when idle: fit again, or the columns after it
        # were pushed off the right edge until the next resize, and whether a resize came
        # after the rows was a race a loaded CI machine lost.
        super()._update_dimensions(new_rows)
        if any(column.auto_width and key.value not in self.flex for key, column in self.columns.items()):
            self.fit_columns()

    def fit_columns(self) -> None:
        """Give the flexible columns the width the fixed ones leave (at least the width each
        was added with)."""
        if not self.flex or not self.size.width:
            return
        flexible = [(self.flex_min.get(key.value or "", MIN_FLEX), column) for key, column in self.columns.items()
                    if key.value in self.flex]
        if not flexible:
            return
        # Room for the vertical scrollbar always, so a growing list does not re-flow the columns.
        available = self.size.width - self.styles.scrollbar_size_vertical
        fixed = sum(column.get_render_width(self) for key, column in self.columns.items()
                    if key.value not in self.flex)
        padding = 2 * self.cell_padding * len(flexible)
        share = (available - fixed - padding) // len(flexible)
        changed = False
        for least, column in flexible:
            width = max(least, share)
            if column.auto_width or column.width != width:
                column.auto_width = False
                column.width = width
                changed = True
        if changed:
            self._require_update_dimensions = True
            self._clear_caches()
            self.refresh()
