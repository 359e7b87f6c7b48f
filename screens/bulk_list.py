"""What the lists with a multi-selection share (Manage In Process Items, Physical Items).

A :class:`BulkListScreen` is a :class:`~screens.list_base.ListScreen` whose rows can be ticked
for bulk actions, the same way on every such list (seed 000: "more efficient ways to do this
using sets"):

- **space** ticks the highlighted row (and moves down); **ctrl+b** selects *all matching*
  (every item the search and filters match, loaded or not, less the rows unticked after it);
  ctrl+b again clears. The first column of the table shows the ticks (key ``sel``).
- **ctrl+w** gives the ticked items a work order: the Work Order pop-up asks once, and
  :func:`libdesk.workorders.place_work_orders` runs in the bulk worker, each item in its own
  transaction, ending with the engine's grouped result in the result line.
- Bulk actions run one at a time in a thread worker (group ``bulk``) with a progress bar
  (``#work-label`` and ``#work-progress``, shown while the screen has the class ``-working``).

A screen gives the list's own parts: ``table``, ``rows`` (the loaded rows by barcode),
``total`` (how many items match), :meth:`can_select`, :meth:`matching` (the barcodes of all
matching, read in the worker), :meth:`show_count` and :meth:`after_bulk`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on, work
from textual.message import Message
from textual.widgets import DataTable, Label, ProgressBar
from textual.worker import Worker

from libdesk import workorders
from libdesk.core import count_of
from libdesk.errors import LibdeskError
from screens.list_base import ListScreen
from screens.work_order import WorkOrderDialog, WorkOrderForm

Job = Callable[[list[str], Callable[[int], None]], workorders.BulkResult]
"""A bulk action: the barcodes and a progress callback (items done since the last call), to
the engine's grouped result."""

NOTHING_SELECTED = "Select items first: space ticks a row, ctrl+b selects all matching"
BUSY = "Wait: a bulk action or an export is still running"


class BulkListScreen(ListScreen):
    """A list screen with ticked rows, "all matching", and bulk actions in a worker."""

    @dataclass
    class WorkProgress(Message, bubble=False):
        """A bulk action or an export moved on; only the latest one matters."""

        done: int
        total: int
        """-1: not known (an export counts rows as it goes)."""

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, BulkListScreen.WorkProgress)

    @dataclass
    class WorkFinished(Message, bubble=False):
        """A bulk action or an export ended."""

        message: str
        kind: str
        """ok | warning | error: how the result line shows it."""
        changed: bool = True
        """The items changed (a bulk action, not an export): clear the selection, reload."""

    WORK_ORDER_IN_HAND = False
    """The Work Order pop-up's "Do not pick from shelf" for a set: ticked where the items are
    in hand (In Process: at the department), not where they are on the shelf (a search)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows: dict[str, dict[str, Any]] = {}
        """The loaded rows by barcode, in list order."""
        self.total = 0
        """How many items the list matches (loaded or not)."""
        self.selected: set[str] = set()
        """Barcodes ticked one by one."""
        self.all_matching = False
        """Every item the list matches is selected ..."""
        self.excluded: set[str] = set()
        """... except these (unticked after "all matching")."""
        self.working = False
        """A bulk action or an export is running (one at a time)."""
        self._work_label = ""

    # -- what a screen gives -------------------------------------------------------------------
    @property
    def table(self) -> DataTable[Text]:
        raise NotImplementedError

    def can_select(self) -> bool:
        """Whether there is a list to select from (In Process: at a department)."""
        return True

    def matching(self) -> Callable[[], list[str]]:
        """A function giving the barcodes of every item the list matches now (the search and
        filters as they are at this moment); it runs in the bulk worker."""
        raise NotImplementedError

    def show_count(self) -> None:
        """Say how many rows there are, and how many are selected (:meth:`selection_words`)."""

    def after_bulk(self) -> None:
        """A bulk action changed items: read the list again."""

    def bulk_ready(self) -> bool:
        """Whether a bulk action may start now; if not, the result line says why."""
        if self.working:
            self.result_line.error(BUSY)
            return False
        if not self.selection_count:
            self.result_line.error(NOTHING_SELECTED)
            return False
        return True

    def work_at(self) -> str | None:
        """Where a bulk work order is placed from (the engine's ``at``): Currently At."""
        return self.libdesk_app.currently_at

    # -- selection -------------------------------------------------------------------------------
    def is_selected(self, barcode: str) -> bool:
        """Whether a row is ticked (one by one, or as one of all matching)."""
        if self.all_matching:
            return barcode not in self.excluded
        return barcode in self.selected

    def tick(self, barcode: str) -> Text:
        """The selection cell of a row."""
        return Text("✓" if self.is_selected(barcode) else "")

    @property
    def selection_count(self) -> int:
        """How many items the bulk actions would act on."""
        if self.all_matching:
            return max(0, self.total - len(self.excluded))
        return len(self.selected)

    def selection_words(self) -> str:
        """" · 3 selected" (" (all matching)"), or "" with nothing selected: for the count line."""
        count = self.selection_count
        if not count:
            return ""
        return f" · {count:,} selected" + (" (all matching)" if self.all_matching else "")

    def action_toggle_row(self) -> None:
        """space: tick or untick the highlighted row, then move down."""
        table = self.table
        barcode = self.highlighted_key(table)
        if barcode is None or self.focused is not table:
            return
        if self.all_matching:
            self.excluded ^= {barcode}
        else:
            self.selected ^= {barcode}
        table.update_cell(barcode, "sel", self.tick(barcode))
        table.action_cursor_down()
        self.show_count()

    def action_select_all(self) -> None:
        """ctrl+b: select every item the list matches (again: clear the selection)."""
        if not self.can_select():
            return
        if self.all_matching or self.selected:
            self.clear_selection()
        else:
            self.all_matching, self.excluded = True, set()
            self._repaint_ticks()
            self.show_count()

    def clear_selection(self) -> None:
        """Untick everything."""
        self.selected, self.all_matching, self.excluded = set(), False, set()
        if self.is_mounted:
            self._repaint_ticks()
            self.show_count()

    def _repaint_ticks(self) -> None:
        table = self.table
        for barcode in self.rows:
            table.update_cell(barcode, "sel", self.tick(barcode))

    # -- bulk Work Order ----------------------------------------------------------------------------
    def action_bulk_work_order(self) -> None:
        """ctrl+w: a work order (its type, managing department, note) for every selected item,
        each in its own transaction (seed 000: "more efficient ways to do this using sets")."""
        if not self.bulk_ready():
            return
        count = self.selection_count
        self.app.push_screen(
            WorkOrderDialog(self.db.institution, f"{count_of(count, 'selected item')}",
                            in_hand=self.WORK_ORDER_IN_HAND),
            lambda form: self._start_work_order(form) if form is not None else None)

    def _start_work_order(self, form: WorkOrderForm) -> None:
        operator, at = self.libdesk_app.operator, self.work_at()

        def job(barcodes: list[str], progress: Callable[[int], None]) -> workorders.BulkResult:
            return workorders.place_work_orders(self.db, barcodes, form.work_order_type, form.department,
                                                operator=operator, note=form.note, in_hand=form.in_hand,
                                                at=at, progress=progress)

        self.start_bulk("Work Order", job)

    # -- the bulk worker ----------------------------------------------------------------------------
    def start_bulk(self, label: str, job: Job) -> None:
        """Run ``job`` on the selection in the bulk worker, with the progress bar; its grouped
        result goes to the result line."""
        barcodes = None if self.all_matching else sorted(self.selected)
        self.begin_work(label, self.selection_count)
        self._bulk(job, barcodes, self.matching() if barcodes is None else None, frozenset(self.excluded))

    @work(thread=True, exclusive=True, group="bulk", exit_on_error=False, description="bulk action")
    def _bulk(self, job: Job, barcodes: list[str] | None, matching: Callable[[], list[str]] | None,
              excluded: frozenset[str]) -> None:
        try:
            if barcodes is None and matching is not None:
                barcodes = [b for b in matching() if b not in excluded]
            barcodes = barcodes or []
            total = len(barcodes)
            done = 0

            def progress(n: int) -> None:
                nonlocal done
                done += n
                self.post_message(self.WorkProgress(done, total))

            self.post_message(self.WorkProgress(0, total))
            result = job(barcodes, progress)
        except LibdeskError as exc:
            self.post_message(self.WorkFinished(exc.message, "error"))
            return
        self.post_message(self.WorkFinished(result.message, "warning" if result.failures else "ok"))

    # -- work in progress ---------------------------------------------------------------------------
    def begin_work(self, label: str, total: int) -> None:
        """Show the progress bar for a bulk action or an export of ``total`` items."""
        self.working = True
        self._work_label = label
        self.add_class("-working")
        self.query_one("#work-label", Label).update(f"{label}: starting…")
        self.query_one("#work-progress", ProgressBar).update(total=total or None, progress=0)

    @on(WorkProgress)
    def _work_progress(self, message: WorkProgress) -> None:
        bar = self.query_one("#work-progress", ProgressBar)
        if message.total >= 0:
            bar.update(total=message.total or None, progress=message.done)
            self.query_one("#work-label", Label).update(
                f"{self._work_label}: {message.done:,} of {message.total:,}")
        else:
            bar.update(progress=message.done)
            self.query_one("#work-label", Label).update(f"{self._work_label}: {message.done:,} rows")

    @on(WorkFinished)
    def _work_finished(self, message: WorkFinished) -> None:
        self.end_work()
        if message.kind == "error":
            self.result_line.error(message.message)
            self.notify(message.message, severity="error")
            return
        self.result_line.show(message.message, message.kind)
        if message.changed:
            self.clear_selection()
            self.after_bulk()

    def worker_failed(self, worker: Worker[Any]) -> None:
        if worker.group == "bulk":
            self.end_work()

    def end_work(self) -> None:
        """Hide the progress bar: nothing is running."""
        self.working = False
        self.remove_class("-working")
