"""Manage In Process Items (Alma: Fulfillment > Manage In Process Items, also Acquisitions >
Receiving Department Items), seed 000 and SPEC L1/L2/L4.

The items in a work order at the department you are Currently At: searchable by barcode,
title or call number, filtered by status, owning library and "has requests"; days in
department, expiry, and overdue items marked. Changing Currently At updates the list (L1).

- The list is read a page at a time (:func:`libdesk.queries.inprocess_page`, keyset paging:
  page 500 costs what page 1 costs), the total shown apart; moving to the end reads the next
  page. A 100,000-item department never becomes a 100,000-row table (STYLE.md section 6).
- Multi-select: space ticks the highlighted row; ctrl+b selects *all matching* (every item
  the filters match, loaded or not: :func:`libdesk.queries.inprocess_barcodes`).
- Bulk Change Status (F9) and bulk Done (F8) run in a thread worker with a progress bar
  (:func:`libdesk.workorders.bulk_change_status` / :func:`~libdesk.workorders.bulk_done`) and
  end with the engine's grouped result ("312 → WID-CIRC, 4 → hold shelf", L2).
- Row actions (Enter): Change Status, Done, Edit Item, History.
- Export (ctrl+s): the list as filtered, to CSV or XLSX, through a file-name pop-up
  (:func:`libdesk.exporting.export_rows`); an unwritable path is said in red (L4).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.markup import escape
from textual.widgets import DataTable, Input, Label, ProgressBar, Select, Static
from textual.widgets.option_list import Option
from textual.worker import Worker

from libdesk import config, exporting, queries, slips, workorders
from libdesk.core import count_of
from libdesk.db import Database
from libdesk.errors import LibdeskError
from libdesk.queries import INPROCESS_COLUMNS, InProcessFilter
from screens.base import DeskCommand
from screens.bulk_list import BUSY, BulkListScreen, Job
from screens.choosers import Chooser
from screens.item_dialogs.confirm import ConfirmDialog
from screens.item_dialogs.item_editor import EditorForm, ItemEditorDialog
from screens.item_dialogs.prompt import PromptDialog
from screens.paged_list import Page, PagedListScreen
from screens.widgets import DeskFooter, DeskHeader, DeskTable
from screens.widgets.result_line import ResultLine

WIDTHS = {"barcode": 14, "title": 20, "call_number": 11, "library": 5, "status": 14,
          "days_in_department": 7, "expiry": 10, "overdue": 7, "requests": 8}
"""Column widths (headers on two lines): the table's columns are exactly the export's
(INPROCESS_COLUMNS), in its order, 120 columns wide in all."""

ROW_ACTIONS: list[tuple[str, str]] = [
    ("status", "Change Status…   another status of the line"),
    ("done", "Done             complete the work order; the item goes on"),
    ("edit", "Edit Item        ctrl+y  Physical Item Editor"),
    ("history", "History          ctrl+t  the item's detail, queue and history"),
    ("slip", "Print slip       the work-order slip that travels with the item"),
    ("select", "Select / unselect  space"),
]
"""The row-action menu: action name, label."""

REQUESTED = {"yes": True, "no": False}
"""The "has requests" filter's values."""


class InProcessScreen(PagedListScreen, BulkListScreen):
    """Manage In Process Items for the department of Currently At."""

    TITLE = "Manage In Process Items"
    PAGED_TABLE = "inprocess"
    LOAD_GROUP = "in-process-load"
    LOAD_DESCRIPTION = "Manage In Process Items: a page"
    WORK_ORDER_IN_HAND = True
    AUTO_FOCUS = "#inprocess"
    SUPPORTS: ClassVar[frozenset[str]] = frozenset({"refresh"})
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f8", "bulk_done", "Done", id="inprocess-done"),
        Binding("f9", "bulk_change_status", "Status", id="inprocess-change-status"),
        Binding("space", "toggle_row", "Tick / untick the row, move down", show=False, id="inprocess-select"),
        Binding("ctrl+w", "bulk_work_order", "Work Order", show=False, id="inprocess-work-order"),
        Binding("ctrl+b", "select_all", "Select all matching", show=False, id="inprocess-select-all"),
        Binding("ctrl+s", "export", "Export", show=False, id="inprocess-export"),
        Binding("ctrl+t", "row_action('history')", "History", show=False, id="inprocess-history"),
        Binding("ctrl+y", "row_action('edit')", "Edit Item", show=False, id="inprocess-edit"),
    ]
    HELP = """\
The items in a work order at your department (**Currently At**, F10: changing it changes
the list). Search by barcode, title or call number (Enter); filter by status, owner and
requests. *Days in dept.* counts from arrival; an item past its **expiry** is marked
**OVERDUE** (nothing else happens at expiry).

- **space** ticks the highlighted row; **ctrl+b** selects *all matching* items (every item
  the search and filters match, not only the rows loaded); ctrl+b again clears.
- **F9 Change Status** and **F8 Done** act on the ticked items. Done sends each item to its
  next request, else home; the result groups them ("12 → WID-CIRC, 1 → hold shelf").
- **Enter** on a row: Change Status, Done, Edit Item, History for that item alone.
- **ctrl+s** exports the list as filtered to a .csv or .xlsx file.

The list loads 200 rows at a time; moving to the end loads the next 200.
"""

    def __init__(self, db: Database) -> None:
        super().__init__(id="in-process")
        self.db = db
        """The database the engine works on."""

    def compose(self) -> ComposeResult:
        yield DeskHeader()
        with Vertical(id="inprocess-body"):
            yield Static(id="inprocess-place")
            with Horizontal(id="inprocess-filters"):
                yield Input(placeholder="Search barcode, title, call number (Enter)", id="filter-search",
                            compact=True, select_on_focus=False)
                yield Select([], prompt="Any status", id="filter-status", compact=True)
                yield Select([(f"{lib.name} ({lib.code})", lib.code) for lib in self.db.institution.libraries.values()],
                             prompt="Any owner", id="filter-owner", compact=True)
                yield Select([("With requests", "yes"), ("Without requests", "no")], prompt="Requests: any",
                             id="filter-requests", compact=True)
            yield Label("", id="inprocess-count")
            yield DeskTable(id="inprocess", flex=("title",), cursor_type="row", zebra_stripes=True, header_height=2)
            with Horizontal(id="inprocess-work"):
                yield Label("", id="work-label")
                yield ProgressBar(id="work-progress", show_eta=False)
            yield ResultLine(id="inprocess-result")
            yield Static("Space ticks, moves down · ctrl+b all matching · F9 Change Status · F8 Done · "
                         "Enter row actions · ctrl+s export · ctrl+t history", classes="list-keys")
        yield DeskFooter()

    def on_mount(self) -> None:
        table = self.table
        table.add_column("✓", key="sel", width=1)
        for key, header in INPROCESS_COLUMNS:
            table.add_column(header, key=key, width=WIDTHS.get(key))
        self.watch(self.app, "currently_at", lambda _code: self.department_changed(), init=False)
        self.watch_table_scroll()
        self.department_changed()

    def on_screen_resume(self) -> None:
        # Back from a pop-up or another screen: items may have moved (scans, other desks).
        if self.filter is not None and not self.working:
            self.reload()

    # -- where, and what is asked -----------------------------------------------------------
    @property
    def department(self) -> str | None:
        """Currently At, when it is a work-order department (else the list is empty)."""
        place = self.libdesk_app.place
        return place.code if place is not None and place.is_department else None

    @property
    def filter(self) -> InProcessFilter | None:
        """The list's filters as the engine takes them (None: not at a department)."""
        dept = self.department
        if dept is None:
            return None
        status = self.query_one("#filter-status", Select).value
        owner = self.query_one("#filter-owner", Select).value
        requested = self.query_one("#filter-requests", Select).value
        search = self.query_one("#filter-search", Input).value.strip()
        return InProcessFilter(
            department=dept,
            status=status if isinstance(status, str) else None,
            library=owner if isinstance(owner, str) else None,
            requested=REQUESTED.get(requested) if isinstance(requested, str) else None,
            search=search or None,
        )

    def department_changed(self) -> None:
        """Currently At changed (or the screen opened): the department's statuses, a new list."""
        inst = self.db.institution
        dept = self.department
        where = self.query_one("#inprocess-place", Static)
        status_select = self.query_one("#filter-status", Select)
        self.clear_selection()
        if dept is None:
            where.update("Manage In Process Items lists the items at a work-order department: "
                         "press F10 to choose yours")
            where.add_class("-warning")
            status_select.set_options([])
            self.forget_rows()
            self.show_count()
            return
        place = inst.places[dept]
        wo = inst.work_order_types[place.work_order_type or ""]
        where.update(f"In process at [b]{escape(place.name)}[/b] ({escape(place.code)}) · {escape(wo.name)} · "
                     f"Days in Department {place.days}")
        where.remove_class("-warning")
        status_select.set_options([(status, status) for status in wo.statuses])
        self.reload(keep_rows=False)

    @on(Input.Submitted, "#filter-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.filters_changed()
        self.table.focus()

    @on(Select.Changed, "#filter-status, #filter-owner, #filter-requests")
    def _filter_chosen(self, event: Select.Changed) -> None:
        event.stop()
        self.filters_changed()

    def filters_changed(self) -> None:
        """Another search or filter: a new list, and a selection of what it shows only."""
        self.clear_selection()
        self.reload(keep_rows=False)

    # -- loading ---------------------------------------------------------------------------
    def refresh_list(self) -> None:
        """F5: read the list again (as many rows as were loaded, up to paged_list.MAX_RELOAD)."""
        self.reload()

    def page_query(self) -> InProcessFilter | None:
        return self.filter

    def fetch_page(self, query: InProcessFilter, after: tuple[Any, str] | None, limit: int) -> Page:
        page = queries.inprocess_page(self.db, query, after=after, limit=limit, with_total=after is None)
        return Page(page.rows, page.total if after is None else None, page.next_after)

    def row_key(self, row: dict[str, Any]) -> str:
        return str(row["barcode"])

    def page_shown(self, page: Page, append: bool) -> None:
        self.show_count()

    def row_cells(self, row: dict[str, Any]) -> list[Text]:
        overdue = row["overdue"]
        alert = self.theme_style("text-error", bold=True) if overdue else None
        days = row["days_in_department"]
        return [
            self.tick(row["barcode"]),
            Text(row["barcode"]),
            Text(row["title"] or ""),
            Text(row["call_number"] or ""),
            Text(row["library"] or ""),
            Text(row["status"] or ""),
            Text("" if days is None else str(days), justify="right"),
            Text(row["expiry"] or "", style=alert or ""),
            Text("OVERDUE" if overdue else "", style=alert or ""),
            Text(str(row["requests"]) if row["requests"] else "", justify="right"),
        ]

    def show_count(self) -> None:
        shown = len(self.rows)
        if self.filter is None:
            text = ""
        elif self.total == 0:
            text = "No items in process here match" if self._filtered else "No items in process here"
        else:
            text = f"Rows 1–{shown:,} of {self.total:,}"
            if self.next_after is not None:
                text += " (the next rows load at the end of the list)"
        self.query_one("#inprocess-count", Label).update(text + self.selection_words())

    @property
    def _filtered(self) -> bool:
        flt = self.filter
        return flt is not None and any((flt.status, flt.library, flt.requested is not None, flt.search))

    # -- selection (the rest is BulkListScreen's) ---------------------------------------------------
    def can_select(self) -> bool:
        return self.filter is not None

    def matching(self) -> Callable[[], list[str]]:
        assert self.filter is not None, "can_select() is False without a filter"
        return partial(queries.inprocess_barcodes, self.db, self.filter)

    def after_bulk(self) -> None:
        self.reload()

    def work_at(self) -> str | None:
        return self.department

    # -- bulk Change Status and bulk Done ------------------------------------------------------
    def bulk_ready(self) -> bool:
        if not self.working and self.department is None:
            self.result_line.error("Set Currently At to your department first (F10)")
            return False
        return super().bulk_ready()

    def action_bulk_done(self) -> None:
        """F8: mark the selected items Done (after a confirmation)."""
        if not self.bulk_ready():
            return
        count = self.selection_count
        dept = self.department or ""

        def answered(yes: bool | None) -> None:
            if yes:
                self._start_bulk("done", None)

        self.app.push_screen(ConfirmDialog(
            f"Mark {count_of(count, 'item')} Done at {dept}?",
            "Each work order is completed and each item goes on: to the first request in its queue, else "
            "home (its library's desk or remote storage). The result lists where they went.",
            yes=f"Done ({count:,})", no="Cancel", id="confirm-bulk-done"), answered)

    def action_bulk_change_status(self) -> None:
        """F9: move the selected items to a status of the department's type."""
        if not self.bulk_ready():
            return
        inst = self.db.institution
        dept = inst.places[self.department or ""]
        wo = inst.work_order_types[dept.work_order_type or ""]
        count = self.selection_count
        options: list[Option | None] = [Option(escape(status), id=status) for status in wo.statuses]
        chooser = Chooser(f"Change Status of {count_of(count, 'item')} ({wo.name})", options,
                          note="Every move is recorded in each item's history.", id="choose-bulk-status")
        self.app.push_screen(chooser, lambda status: self._start_bulk("status", status) if status else None)

    def _start_bulk(self, kind: str, status: str | None) -> None:
        dept, operator = self.department, self.libdesk_app.operator
        if dept is None:
            return
        job: Job
        if kind == "done":
            job = partial(self._done_job, dept, operator)
            label = "Done"
        else:
            job = partial(self._status_job, dept, operator, status or "")
            label = f"Change Status to {status}"
        self.start_bulk(label, job)

    def _done_job(self, dept: str, operator: str, barcodes: list[str],
                  progress: Callable[[int], None]) -> workorders.BulkResult:
        return workorders.bulk_done(self.db, dept, barcodes, operator=operator, progress=progress)

    def _status_job(self, dept: str, operator: str, status: str, barcodes: list[str],
                    progress: Callable[[int], None]) -> workorders.BulkResult:
        return workorders.bulk_change_status(self.db, dept, status, barcodes, operator=operator, progress=progress)

    # -- export ----------------------------------------------------------------------------
    def action_export(self) -> None:
        """ctrl+s: the list as filtered, to a CSV or XLSX file named in a pop-up."""
        flt = self.filter
        if flt is None:
            self.result_line.error("Set Currently At to your department first (F10)")
            return
        if self.working:
            self.result_line.error(BUSY)
            return
        default = config.export_dir() / f"in-process-{flt.department}-{self.libdesk_app.clock():%Y-%m-%d}.xlsx"
        self.app.push_screen(PromptDialog(
            "Export Manage In Process Items", "File (.xlsx or .csv)", str(default),
            note=f"{self.total:,} rows: exactly the list's columns, as filtered now.", id="export-prompt"),
            partial(self.export_to, flt))

    def export_to(self, flt: InProcessFilter, path: str | None) -> None:
        """Export the list (as filtered when the pop-up opened) to ``path``, in a worker."""
        if not path:
            return
        self.begin_work("Export", self.total)
        self._export(path, flt)

    @work(thread=True, exclusive=True, group="in-process-export", exit_on_error=False,
          description="Manage In Process Items: export")
    def _export(self, path: str, flt: InProcessFilter) -> None:
        done = 0

        def progress(n: int) -> None:
            nonlocal done
            done += n
            self.post_message(self.WorkProgress(done, -1))

        try:
            written = exporting.export_rows(path, INPROCESS_COLUMNS, queries.inprocess_all(self.db, flt),
                                            progress=progress)
        except LibdeskError as exc:
            self.post_message(self.WorkFinished(f"Export failed: {exc.message}", "error", changed=False))
            return
        self.post_message(self.WorkFinished(f"Exported {written['rows']:,} rows to {written['path']}", "ok",
                                            changed=False))

    def worker_failed(self, worker: Worker[Any]) -> None:
        super().worker_failed(worker)
        if worker.group == "in-process-export":
            self.end_work()

    # -- row actions -------------------------------------------------------------------------
    @on(DataTable.RowSelected, "#inprocess")
    def _row_chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        row = self.highlighted
        if row is None:
            return
        self.choose_row_action(f"{row['barcode']} · {row['title']} · {row['status']}", ROW_ACTIONS,
                               self.action_row_action, chooser_id="inprocess-actions")

    def action_row_action(self, name: str) -> None:
        """A row action on the highlighted item alone."""
        row = self.highlighted
        dept = self.department
        if row is None or dept is None:
            return
        inst = self.db.institution
        place = inst.places[dept]
        wo = inst.work_order_types[place.work_order_type or ""]
        if name == "select":
            self.table.focus()
            self.action_toggle_row()
        elif name == "status":
            options: list[Option | None] = [Option(escape(s), id=s) for s in wo.statuses]
            chooser = Chooser(f"Change Status · {row['barcode']} (now {row['status'] or 'none'})", options,
                              current=row["status"], id="choose-row-status")
            self.app.push_screen(chooser, partial(self._row_status, row["barcode"]))
        elif name == "done":
            self._row_done(row["barcode"])
        elif name == "edit":
            item = {**row, "work_order_type": wo.code, "department": dept,
                    "process_name": f"{wo.name} Work Order ({row['status']})" if row["status"] else f"{wo.name} Work Order"}
            self.app.push_screen(ItemEditorDialog(inst, item), self._row_edited)
        elif name == "history":
            from screens.item_detail import ItemDetailScreen  # opened from rows only

            self.app.push_screen(ItemDetailScreen(self.db, row["barcode"], focus="history"))
        elif name == "slip":
            text = self.call_engine(slips.work_order_slip, self.db, row["barcode"])
            where = self.call_engine(slips.print_slip, text, row["barcode"]) if text is not None else None
            if where is not None:
                self.result_line.ok(f"Slip for {row['barcode']} {where}")

    def _row_status(self, barcode: str, status: str | None) -> None:
        dept = self.department
        if not status or dept is None:
            return
        result = self.call_engine(workorders.bulk_change_status, self.db, dept, status, [barcode],
                                  operator=self.libdesk_app.operator)
        if result is not None:
            self._one_item_result(barcode, result)

    def _row_done(self, barcode: str) -> None:
        dept = self.department
        if dept is None:
            return
        result = self.call_engine(workorders.bulk_done, self.db, dept, [barcode], operator=self.libdesk_app.operator)
        if result is not None:
            self._one_item_result(barcode, result)

    def _one_item_result(self, barcode: str, result: workorders.BulkResult) -> None:
        if result.failures:
            self.result_line.error(f"{barcode}: {result.failures[0][1]}")
        else:
            self.result_line.ok(f"{barcode} · {result.message}")
        self.reload()

    def _row_edited(self, form: EditorForm | None) -> None:
        if form is None:
            return
        app = self.libdesk_app
        result = self.call_engine(workorders.edit_item, self.db, form.barcode, form.work_order_type,
                                  form.department, operator=app.operator, at=app.currently_at)
        if result is not None:
            self.result_line.show(result.message, "warning")
            self.reload()

    # -- keys --------------------------------------------------------------------------------
    def on_key(self, event: events.Key) -> None:
        # Typing on the list (a scanner too) goes to the search box; space ticks rows.
        table = self.table
        if self.focused is table and event.is_printable and event.character and event.character != " ":
            event.stop()
            box = self.query_one("#filter-search", Input)
            box.value = event.character
            box.cursor_position = 1
            box.focus()

    def handle_scan(self, barcode: str) -> None:
        """A scan here searches the list for the item."""
        self.query_one("#filter-search", Input).value = barcode
        self.filters_changed()
        self.table.focus()

    def desk_commands(self) -> Iterable[DeskCommand]:
        yield DeskCommand("Done for the selected items", "Complete their work orders; grouped result (F8)",
                          self.action_bulk_done)
        yield DeskCommand("Work Order for the selected items", "Their type, managing department and note; "
                          "each item its own transaction (ctrl+w)", self.action_bulk_work_order)
        yield DeskCommand("Change Status of the selected items", "Move them to another status (F9)",
                          self.action_bulk_change_status)
        yield DeskCommand("Select all matching items", "Every item the search and filters match (ctrl+b)",
                          self.action_select_all)
        yield DeskCommand("Clear the selection", "Untick every row", self.clear_selection)
        yield DeskCommand("Export the in-process list", "To a CSV or XLSX file, as filtered (ctrl+s)",
                          self.action_export)
        yield DeskCommand("Edit Item (Physical Item Editor)", "The highlighted item (ctrl+y)",
                          partial(self.action_row_action, "edit"))
        yield DeskCommand("Item history", "The highlighted item's detail and history (ctrl+t)",
                          partial(self.action_row_action, "history"))

    # -- accessors ---------------------------------------------------------------------------
    @property
    def highlighted(self) -> dict[str, Any] | None:
        """The row under the cursor."""
        key = self.highlighted_key(self.table)
        return self.rows.get(key) if key is not None else None
