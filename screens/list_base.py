"""What the list screens share (Physical Items, item detail, In Process, Monitor, Pick From Shelf).

A list screen is a :class:`~screens.base.DeskScreen` with tables of rows keyed by a stable key
(barcode, request id), a :class:`~screens.widgets.result_line.ResultLine` saying what the last
action did, and thread workers that read the database and post plain data back (STYLE.md
section 5). :class:`ListScreen` gives them the common pieces: one engine-call wrapper that
turns a :class:`~libdesk.errors.LibdeskError` into a red result, one handler for a worker that
failed unexpectedly, theme-coloured cell styles, and cursor helpers that keep the highlight
on the same row when a list is reloaded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from rich.style import Style
from textual import on
from textual.binding import ActiveBinding
from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from libdesk.core import Result
from libdesk.errors import LibdeskError
from screens.base import DeskScreen
from screens.choosers import Chooser
from screens.widgets.result_line import ResultLine

if TYPE_CHECKING:
    from libdesk.db import Database

T = TypeVar("T")


def _footer_rank(item: tuple[str, Any]) -> tuple[int, int]:
    key = item[0]
    if key.startswith("f") and key[1:].isdigit():
        return (0, int(key[1:]))
    return (1, 0)


class ListScreen(DeskScreen):
    """A desk screen built around lists: engine calls, worker errors, cursor keeping."""

    db: Database  # each list screen is made on the app's database

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        """The keys that work here, F-keys in number order: a screen's own F8/F9 (In Process)
        take their place among the app's F-keys in the footer instead of going first."""
        return dict(sorted(super().active_bindings.items(), key=_footer_rank))

    def choose_row_action(self, title: str, actions: Sequence[tuple[str, str]], then: Callable[[str], None], *,
                          chooser_id: str) -> None:
        """The row-action menu (Alma's ellipsis): ``actions`` are (name, label) pairs; the
        chosen name goes to ``then`` (nothing happens on Escape)."""
        options: list[Option | None] = [Option(label, id=name) for name, label in actions]
        self.app.push_screen(Chooser(title, options, id=chooser_id), lambda name: then(name) if name else None)

    def call_engine(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """Call an engine action; a user error is shown in red and gives None (nothing changed).

        Actions on one item are a single indexed transaction (about a millisecond, DESIGN.md),
        so they run here, in the handler, not in a worker."""
        try:
            return fn(*args, **kwargs)
        except LibdeskError as exc:
            self.result_line.error(exc.message)
            return None

    def desk_action(self, fn: Callable[..., Result], *args: Any, then: Callable[[], None], **kwargs: Any) -> None:
        """An engine action as this operator at Currently At: its words in the result line
        (a user error in red, nothing changed), then ``then`` (reload the list) on success."""
        app = self.libdesk_app
        result = self.call_engine(fn, self.db, *args, operator=app.operator, at=app.currently_at, **kwargs)
        if result is not None:
            self.show_result(result)
            then()

    def show_result(self, result: Result) -> None:
        """The engine's words for what an action did, in the result line."""
        self.result_line.ok(result.message)

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        # Workers catch LibdeskError themselves; anything else is a bug or a lost database,
        # and must be seen, not swallowed (workers run with exit_on_error=False).
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            message = error.message if isinstance(error, LibdeskError) else f"{type(error).__name__}: {error}"
            self.result_line.error(message)
            self.worker_failed(event.worker)

    def worker_failed(self, worker: Worker[Any]) -> None:
        """A worker of this screen failed (its error is already shown): tidy up (hide progress)."""

    def theme_style(self, variable: str, *, bold: bool = False) -> Style:
        """A Rich style in a theme colour (``text-warning``...), for table cells: Rich styles
        cannot name theme variables, so the colour is read from the theme now."""
        colour = self.app.get_css_variables().get(variable, "")
        return Style.parse(f"{'bold ' if bold else ''}{colour}".strip() or "none")

    @staticmethod
    def highlighted_key(table: DataTable[Any]) -> str | None:
        """The key of the highlighted row (None for an empty table)."""
        if table.row_count == 0:
            return None
        row = min(table.cursor_row, table.row_count - 1)
        return table.coordinate_to_cell_key(Coordinate(row, 0)).row_key.value

    @staticmethod
    def move_to_key(table: DataTable[Any], key: str | None, default: int = 0) -> None:
        """Put the highlight on the row with ``key`` (else on row ``default``)."""
        if table.row_count == 0:
            return
        try:
            row = table.get_row_index(key) if key is not None else default
        except RowDoesNotExist:  # the row is gone (done, filtered away): stay near where it was
            row = default
        table.move_cursor(row=max(0, min(row, table.row_count - 1)), animate=False)

    @property
    def result_line(self) -> ResultLine:
        return self.query_one(ResultLine)
