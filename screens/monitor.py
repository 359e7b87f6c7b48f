"""Monitor Requests & Item Processes (Alma: Fulfillment > Monitor Requests & Item Processes),
seed 000 "Resource Request Monitoring", SPEC L3/L4.

Library-wide, so large: the facets on the left narrow it, in the seed's recommended order
(Request/Process Type, Owner, Pickup Location, then Material Type, Workflow Step or Request
Date). Each facet value shows its count over what the other chosen facets match; choosing a
value narrows the list and every count, choosing it again widens back
(:func:`libdesk.queries.monitor` returns rows, total and facets in one call).

The row actions are Alma's: **Cancel** (Q5: the confirmation spells out what cancelling does
at the request's workflow step; Transit Item asks twice), **Edit** (note; a work order's
department, of the same type), **Update Expiry**, **Audit Trail**; and the item's detail.
Export (ctrl+s) writes the list as narrowed (:func:`libdesk.queries.monitor_all`).

Reads run in a thread worker, a page of rows at a time (newest first, keyset on the request
id); moving to the end reads the next page.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Label, Static
from textual.worker import Worker

from libdesk import config, exporting, queries, requests
from libdesk.db import Database
from libdesk.errors import LibdeskError
from libdesk.models import STEP_NAMES
from libdesk.queries import MONITOR_COLUMNS, MONITOR_FACETS, REQUEST_DATE_BUCKETS
from screens.base import DeskCommand
from screens.item_dialogs.cancel import RequestInfo, confirm_cancel
from screens.item_dialogs.events import EventsDialog
from screens.item_dialogs.prompt import PromptDialog
from screens.item_dialogs.request_edit import RequestEdit, RequestEditDialog
from screens.paged_list import Page, PagedListScreen
from screens.widgets import DeskTable, DeskFooter, DeskHeader
from screens.widgets.facet_list import FacetList
from screens.widgets.result_line import ResultLine

FACET_TITLES = {
    "type": "Request / process type",
    "owner": "Owner",
    "pickup": "Pickup location",
    "material_type": "Material type",
    "step": "Workflow step",
    "requested": "Request date",
}
"""The facets as the sidebar names them, in the seed's order of narrowing."""
assert tuple(FACET_TITLES) == MONITOR_FACETS, "a facet of the engine has no title here"

WIDTHS = {"id": 7, "type": 11, "barcode": 14, "title": 12, "owner": 5, "pickup": 9, "material_type": 8,
          "step": 15, "placed": 10, "expiry": 10, "creator": 7, "note": 10}
"""Column widths (headers on two lines; a longer value ends in "…"); the columns are exactly the
export's (MONITOR_COLUMNS), in its order. Title and Note take what a wider terminal leaves
(DeskTable flex); on a narrower one the list scrolls sideways (←→) to the later ones."""

ROW_ACTIONS: list[tuple[str, str]] = [
    ("cancel", "Cancel…          Del     depends on the workflow step"),
    ("edit", "Edit…            ctrl+y  note; department of the same type"),
    ("expiry", "Update Expiry…   ctrl+e  a new expiry date"),
    ("audit", "Audit Trail      ctrl+t  every change to the request"),
    ("item", "Item detail      ctrl+g  the item, its queue and history"),
]
"""The row-action menu: action name, label."""


class MonitorScreen(PagedListScreen):
    """Monitor Requests & Item Processes: facets with counts, the requests, their actions."""

    @dataclass
    class Exported(Message, bubble=False):
        """An export ended (``error`` when it failed)."""

        message: str
        error: bool = False

    TITLE = "Monitor Requests & Item Processes"
    PAGED_TABLE = "monitor"
    LOAD_GROUP = "monitor-load"
    LOAD_DESCRIPTION = "Monitor Requests & Item Processes: a page"
    AUTO_FOCUS = "FacetList"
    SUPPORTS: ClassVar[frozenset[str]] = frozenset({"refresh"})
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("delete", "row_action('cancel')", "Cancel request", show=False, id="monitor-cancel"),
        Binding("ctrl+y", "row_action('edit')", "Edit request", show=False, id="monitor-edit"),
        Binding("ctrl+e", "row_action('expiry')", "Update expiry", show=False, id="monitor-expiry"),
        Binding("ctrl+t", "row_action('audit')", "Audit trail", show=False, id="monitor-audit"),
        Binding("ctrl+g", "row_action('item')", "Item detail", show=False, id="monitor-item"),
        Binding("ctrl+s", "export", "Export", show=False, id="monitor-export"),
    ]
    HELP = """\
Every active request and work order in the library. Narrow it with the **facets** on the
left (Enter on a value; Enter again on a ticked value widens back), best in this order:
*Request / process type*, *Owner*, *Pickup location*, then *Material type*, *Workflow
step* or *Request date*. Each count is what you would get by choosing that value.

Tab moves to the list. **Enter** on a request opens its actions:

- **Cancel** (Del): what it does depends on the workflow step. Not yet acted on: the
  request and its work order are cancelled, the item stays. *Transit Item*: don't; let the
  item arrive and mark it Done (cancelling anyway asks twice and cancels only the request).
  *In Process*: only the request is cancelled; the item stays until Done.
- **Edit** (ctrl+y): the note; a work order's department (one of the same type).
- **Update Expiry** (ctrl+e), **Audit Trail** (ctrl+t), the **item** (ctrl+g).

**ctrl+s** exports the list as narrowed to a .csv or .xlsx file.
"""

    def __init__(self, db: Database) -> None:
        super().__init__(id="monitor")
        self.db = db
        """The database the engine works on."""
        self.filters: dict[str, str] = {}
        """The chosen facet values (facet -> value); ``rows`` are by request id (as text), newest first."""
        self.facets: dict[str, dict[str, int]] = {}
        """The counts per facet value."""
        self._exporting = False

    def compose(self) -> ComposeResult:
        yield DeskHeader()
        with Horizontal(id="monitor-body"):
            with Vertical(id="monitor-facets"):
                yield Label("Facets · Enter narrows", classes="monitor-title")
                yield FacetList(id="facets")
            with Vertical(id="monitor-main"):
                yield Label("", id="monitor-count", classes="monitor-title")
                yield DeskTable(id="monitor", flex=("title", "note"), compact=True, cursor_type="row",
                                zebra_stripes=True, header_height=2)
                yield ResultLine(id="monitor-result")
                yield Static("Enter row actions · Del Cancel · ctrl+y Edit · ctrl+e Expiry · ctrl+t Audit Trail · "
                             "ctrl+g item · ctrl+s export · Tab facets/list", classes="list-keys")
        yield DeskFooter()

    def on_mount(self) -> None:
        table = self.table
        for key, header in MONITOR_COLUMNS:
            table.add_column(header, key=key, width=WIDTHS.get(key))
        self.watch_table_scroll()

    def on_screen_resume(self) -> None:
        # Back from a pop-up or another screen: requests may have moved on.
        self.reload()

    # -- facets ------------------------------------------------------------------------------
    def facet_label(self, facet: str, value: str) -> str:
        """A facet value in desk words."""
        inst = self.db.institution
        if facet == "type":
            if value == "patron":
                return "Patron request"
            wo = inst.work_order_types.get(value)
            return f"{wo.name} ({value})" if wo else value
        if facet == "owner":
            lib = inst.libraries.get(value)
            return f"{lib.name} ({value})" if lib else value
        if facet == "pickup":
            return f"{inst.place_name(value)} ({value})" if value in inst.places else value
        if facet == "step":
            return STEP_NAMES.get(value, value)
        return value

    @on(FacetList.Chosen)
    def _facet_chosen(self, event: FacetList.Chosen) -> None:
        event.stop()
        self.choose_facet(event.facet, event.value)

    def choose_facet(self, facet: str | None, value: str | None) -> None:
        """Narrow by ``facet`` = ``value``; the same again widens back; None clears every facet."""
        if facet is None:
            self.filters = {}
        elif self.filters.get(facet) == value:
            del self.filters[facet]
        elif value is not None:
            self.filters[facet] = value
        self.reload(keep_rows=False)

    # -- loading -----------------------------------------------------------------------------
    def refresh_list(self) -> None:
        """F5: read the list and the counts again."""
        self.reload()

    def page_query(self) -> dict[str, str]:
        return dict(self.filters)

    def fetch_page(self, query: dict[str, str], after: int | None, limit: int) -> Page:
        first = after is None
        out = queries.monitor(self.db, dict(query), after=after, limit=limit, facets=first)
        return Page(out["rows"], out["total"], out["next_after"], out.get("facets") if first else None)

    def row_key(self, row: dict[str, Any]) -> str:
        return str(row["id"])

    def page_shown(self, page: Page, append: bool) -> None:
        if page.extra is not None:
            self.facets = page.extra
            chosen: dict[str, str | None] = dict(self.filters)
            self.facet_list.show_facets(FACET_TITLES, self.facets, chosen, self.facet_label,
                                        order={"requested": REQUEST_DATE_BUCKETS,
                                               "step": tuple(STEP_NAMES)})
        self._show_count()

    def row_cells(self, row: dict[str, Any]) -> list[Text]:
        cells = []
        for key, _ in MONITOR_COLUMNS:
            value = row.get(key)
            cell = Text("" if value is None else str(value))
            if key == "id":
                cell.justify = "right"
            if key == "step" and row.get("step_code") == "transit_item":
                cell.stylize(self.theme_style("text-warning"))
            if key == "expiry" and row.get("overdue"):  # the engine's rule
                cell.stylize(self.theme_style("text-error", bold=True))
            cells.append(cell)
        return cells

    def _show_count(self) -> None:
        shown = len(self.rows)
        narrowed = " · ".join(f"{FACET_TITLES[f]}: {self.facet_label(f, v)}" for f, v in self.filters.items())
        if self.total == 0:
            text = "No active requests" + (" match" if self.filters else "")
        else:
            text = f"Requests 1–{shown:,} of {self.total:,}, newest first"
        if narrowed:
            text += f" · {narrowed}"
        self.query_one("#monitor-count", Label).update(text)

    def worker_failed(self, worker: Worker[Any]) -> None:
        super().worker_failed(worker)
        if worker.group == "monitor-export":
            self._exporting = False

    # -- row actions -------------------------------------------------------------------------
    @on(DataTable.RowSelected, "#monitor")
    def _row_chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        row = self.highlighted
        if row is None:
            return
        self.choose_row_action(f"Request {row['id']} · {row['barcode']} · {row['step']}", ROW_ACTIONS,
                               self.action_row_action, chooser_id="monitor-actions")

    def action_row_action(self, name: str) -> None:
        """A row action on the highlighted request."""
        row = self.highlighted
        if row is None:
            self.result_line.error("No request highlighted: narrow the list and pick a row")
            return
        inst = self.db.institution
        request_id = int(row["id"])
        is_patron = row["type"] == "patron"
        if name == "cancel":
            info = RequestInfo(request_id, "patron" if is_patron else "work_order",
                               row["step_code"], inst.place_name(row["pickup"]))
            confirm_cancel(self.app, info, partial(self.cancel_request, request_id))
        elif name == "edit":
            summary = f"{self.facet_label('type', row['type'])} · {row['barcode']} · {row['title']}"
            self.app.push_screen(RequestEditDialog(
                inst, request_id, note=row["note"] or "", work_order_type=None if is_patron else row["type"],
                department=None if is_patron else row["pickup"], summary=summary), self.edit_request)
        elif name == "expiry":
            self.app.push_screen(PromptDialog(
                f"Update Expiry · request {request_id}", "New expiry date (YYYY-MM-DD)", row["expiry"] or "",
                note="Nothing happens at expiry: lists flag the item as overdue after it.", id="expiry-prompt"),
                partial(self.set_expiry, request_id))
        elif name == "audit":
            events = self.call_engine(requests.audit_trail, self.db, request_id)
            if events is not None:
                self.app.push_screen(EventsDialog(
                    f"Audit Trail · request {request_id} · {row['barcode']}", events,
                    note=f"Created by {row['creator']} on {row['placed']}; every later change below."))
        elif name == "item":
            from screens.item_detail import ItemDetailScreen  # opened from rows only

            self.app.push_screen(ItemDetailScreen(self.db, row["barcode"]))

    def cancel_request(self, request_id: int, confirm: bool) -> None:
        """Cancel after the operator agreed (``confirm``: the second Transit Item confirmation)."""
        self.desk_action(requests.cancel, request_id, confirm=confirm, then=self.reload)

    def edit_request(self, form: RequestEdit | None) -> None:
        """Edit with what changed (the engine refuses a department of another type)."""
        if form is None:
            return
        self.desk_action(requests.edit, form.request_id, note=form.note, department=form.department,
                         then=self.reload)

    def set_expiry(self, request_id: int, text: str | None) -> None:
        """Update Expiry with the date typed (the engine checks it is a date)."""
        if text is None:
            return
        self.desk_action(requests.set_expiry, request_id, text, then=self.reload)

    # -- export ------------------------------------------------------------------------------
    def action_export(self) -> None:
        """ctrl+s: the list as narrowed, to a CSV or XLSX file named in a pop-up."""
        if self._exporting:
            self.result_line.error("Wait: the last export is still running")
            return
        default = config.export_dir() / f"monitor-{self.libdesk_app.clock():%Y-%m-%d}.xlsx"
        self.app.push_screen(PromptDialog(
            "Export Monitor Requests & Item Processes", "File (.xlsx or .csv)", str(default),
            note=f"{self.total:,} requests: exactly the list's columns, as narrowed now.", id="export-prompt"),
            partial(self.export_to, dict(self.filters)))

    def export_to(self, filters: dict[str, str], path: str | None) -> None:
        """Export the list (as narrowed when the pop-up opened) to ``path``, in a worker."""
        if not path:
            return
        self._exporting = True
        self.result_line.show(f"Exporting {self.total:,} requests…", "info")
        self._export(path, filters)

    @work(thread=True, exclusive=True, group="monitor-export", exit_on_error=False,
          description="Monitor Requests & Item Processes: export")
    def _export(self, path: str, filters: dict[str, str]) -> None:
        try:
            written = exporting.export_rows(path, MONITOR_COLUMNS, queries.monitor_all(self.db, dict(filters)))
        except LibdeskError as exc:
            self.post_message(self.Exported(f"Export failed: {exc.message}", error=True))
            return
        self.post_message(self.Exported(f"Exported {written['rows']:,} requests to {written['path']}"))

    @on(Exported)
    def _exported(self, message: Exported) -> None:
        self._exporting = False
        if message.error:
            self.result_line.error(message.message)
            self.notify(message.message, severity="error")
        else:
            self.result_line.ok(message.message)

    def desk_commands(self) -> Iterable[DeskCommand]:
        yield DeskCommand("Cancel the highlighted request", "Explains what cancelling does at its step (Del)",
                          partial(self.action_row_action, "cancel"))
        yield DeskCommand("Edit the highlighted request", "Note; a work order's department (ctrl+y)",
                          partial(self.action_row_action, "edit"))
        yield DeskCommand("Update Expiry of the highlighted request", "A new expiry date (ctrl+e)",
                          partial(self.action_row_action, "expiry"))
        yield DeskCommand("Audit Trail of the highlighted request", "Every change to it (ctrl+t)",
                          partial(self.action_row_action, "audit"))
        yield DeskCommand("Item detail of the highlighted request", "The item, its queue and history (ctrl+g)",
                          partial(self.action_row_action, "item"))
        yield DeskCommand("Clear all facets", "Every active request again", partial(self.choose_facet, None, None))
        yield DeskCommand("Export the monitor list", "To a CSV or XLSX file, as narrowed (ctrl+s)",
                          self.action_export)

    # -- accessors ---------------------------------------------------------------------------
    @property
    def highlighted(self) -> dict[str, Any] | None:
        """The row under the cursor."""
        key = self.highlighted_key(self.table)
        return self.rows.get(key) if key is not None else None

    @property
    def facet_list(self) -> FacetList:
        return self.query_one(FacetList)

