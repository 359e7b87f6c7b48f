"""Item detail: an item's fields, its request queue and its history (Alma: the item record's
Requests tab and the Physical Item Editor's Item History), seed 000 "Check an Item's Status
and History".

- Every field :func:`libdesk.queries.item_show` gives, the process named as Alma names it.
- The request queue in queue order (Q1), with **Activate** (force to the front, Q2:
  :func:`libdesk.requests.activate`), **Cancel** (:func:`libdesk.requests.cancel`; the
  confirmation spells out what cancelling does at the request's workflow step, Q5, and a
  Transit Item cancel needs a second, explicit confirmation) and **Update Expiry**
  (:func:`libdesk.requests.set_expiry`, W16).
- The history (:func:`libdesk.queries.item_history`), oldest first, with the operator of each
  change and, for changes to a request, the request's creator (W15: the creator never
  changes; the operators who touched it are in the history).

The screen is opened from a row (Physical Items History / Queue, In Process, Monitor) and Esc
goes back. Its reads are a handful of indexed queries on one item, so they run in the handler.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Label, Static

from libdesk import queries, requests
from libdesk.db import Database
from libdesk.errors import LibdeskError
from screens.base import DeskCommand
from screens.item_dialogs.cancel import RequestInfo, confirm_cancel
from screens.item_dialogs.events import action_words, describe_change
from screens.item_dialogs.prompt import PromptDialog
from screens.list_base import ListScreen
from screens.widgets import DeskTable, DeskFooter, DeskHeader
from screens.widgets.result_line import ResultLine

QUEUE_ACTIONS: list[tuple[str, str]] = [
    ("activate", "Activate         ctrl+f  Forced, first in the queue (no recall)"),
    ("cancel", "Cancel…          Del     depends on the workflow step"),
    ("expiry", "Update Expiry…   ctrl+e  a new expiry date"),
]
"""The queue's row-action menu: action name, label."""


class ItemDetailScreen(ListScreen):
    """One item: fields, request queue (Activate, Cancel, Update Expiry), history."""

    TITLE = "Item Detail"
    SUPPORTS: ClassVar[frozenset[str]] = frozenset({"refresh"})
    BINDINGS: ClassVar[list[BindingType]] = [
        # Shown in the footer, in this order, before the app's keys (screens.widgets.desk_footer).
        Binding("ctrl+f", "queue_action('activate')", "Activate", id="detail-activate",
                tooltip="Activate the highlighted request (Forced)"),
        Binding("delete", "queue_action('cancel')", "Cancel", id="detail-cancel",
                tooltip="Cancel the highlighted request"),
        Binding("ctrl+e", "queue_action('expiry')", "Expiry", id="detail-expiry",
                tooltip="Update the highlighted request's expiry date"),
        Binding("escape", "back", "Back", id="detail-back", tooltip="Back to the list you came from"),
    ]
    HELP = """\
The item's fields, its **request queue** in order (forced requests first, then by the
queue policy) and its **history**: every change with when, who (operator), where, and for
a request, who created it (the creator never changes).

On the queue (Tab moves between the queue and the history), **Enter** opens a request's
actions:

- **Activate** (ctrl+f): the request is Forced: it goes ahead of every request that is not,
  and behind the ones forced before it (the result line says its place). A loan is never
  recalled.
- **Cancel** (Del): what it does depends on the request's workflow step. *Pickup From
  Shelf* / *Waiting for Remote Storage* / waiting: the request and its work order are
  cancelled and the item stays where it is. *Transit Item*: don't; let the item arrive and
  mark it Done (cancelling anyway needs a second confirmation and cancels only the
  request). *In Process*: only the request is cancelled; the item stays until Done.
- **Update Expiry** (ctrl+e): a new expiry date (nothing happens at expiry; lists flag it).

Esc goes back.
"""

    def __init__(self, db: Database, barcode: str, *, focus: str = "queue") -> None:
        super().__init__(id="item-detail")
        self.db = db
        """The database the engine works on."""
        self.barcode = barcode
        """The item shown."""
        self.initial_focus = focus
        """"queue" or "history": which list has the focus when the screen opens."""
        self.item: dict[str, Any] = {}
        """The item as :func:`libdesk.queries.item_show` gives it."""
        self.history: list[dict[str, Any]] = []
        """Its events, oldest first."""
        self.fields: dict[str, str] = {}
        """The fields as shown (label -> value)."""

    def compose(self) -> ComposeResult:
        yield DeskHeader()
        with Vertical(id="detail-body"):
            yield Static(id="detail-fields")
            yield Label("Request queue", id="detail-queue-title", classes="detail-title")
            yield DeskTable(id="detail-queue", flex=("note",), cursor_type="row", zebra_stripes=True)
            yield Label("History", id="detail-history-title", classes="detail-title")
            yield DeskTable(id="detail-history", flex=("change",), cursor_type="row", zebra_stripes=True)
            yield Static("", id="detail-event", markup=False)
            yield ResultLine(id="detail-result")
        yield DeskFooter()

    def on_mount(self) -> None:
        queue = self.queue_table
        queue.add_column("#", key="pos", width=2)
        queue.add_column("Request", key="id", width=7)
        queue.add_column("Kind", key="kind", width=18)
        queue.add_column("Workflow step", key="step", width=17)
        queue.add_column("To", key="where", width=9)
        queue.add_column("Patron", key="patron", width=6)
        queue.add_column("Creator", key="creator", width=7)
        queue.add_column("Placed", key="placed", width=10)
        queue.add_column("Expiry", key="expiry", width=10)
        queue.add_column("Note", key="note")
        history = self.history_table
        history.add_column("When", key="at", width=16)
        history.add_column("Operator", key="operator", width=8)
        history.add_column("Place", key="place", width=8)
        history.add_column("Action", key="action", width=22)
        history.add_column("Request (creator)", key="request", width=17)
        history.add_column("Change", key="change")
        self.load()
        target = self.history_table if self.initial_focus == "history" else self.queue_table
        if target is self.queue_table and not self.queue_table.row_count:
            target = self.history_table
        target.focus()
        if target is self.history_table and self.history_table.row_count:
            self.history_table.move_cursor(row=self.history_table.row_count - 1)

    def on_screen_resume(self) -> None:
        if self.item:
            self.load()

    # -- reading -------------------------------------------------------------------------
    def refresh_list(self) -> None:
        """F5: read the item again."""
        self.load()

    def handle_scan(self, barcode: str) -> None:
        """A scan here shows the scanned item instead (an unknown barcode leaves this one)."""
        self.load(barcode)

    def load(self, barcode: str | None = None) -> None:
        """Read the item (``barcode``, else the one shown), its queue and its history, and show them."""
        barcode = barcode or self.barcode
        try:
            item = queries.item_show(self.db, barcode)
            history = queries.item_history(self.db, barcode)
        except LibdeskError as exc:
            self.result_line.error(exc.message)
            return
        self.barcode, self.item, self.history = barcode, item, history
        self._show_fields()
        self._show_queue()
        self._show_history()

    def _show_fields(self) -> None:
        inst = self.db.institution
        item = self.item
        wo = inst.work_order_types.get(item["work_order_type"] or "")
        library = inst.libraries.get(item["library"])
        location = inst.locations.get(item["location"])
        loan = item["loan"]
        since = item["in_department_since"]
        left = [
            ("Barcode", item["barcode"]),
            ("Title", item["title"]),
            ("Author", item["author"]),
            ("Call number", item["call_number"]),
            ("Material type", item["material_type"]),
            ("Library", f"{library.name} ({item['library']})" if library else item["library"]),
            ("Location", f"{location.name} ({item['location']})" if location else item["location"]),
            ("Home", f"{inst.place_name(item['home'])} ({item['home']})"),
        ]
        right = [
            ("Status", "In place" if item["base_status"] == "in_place" else "Not in place"),
            ("Process type", item["process_name"]),
            ("Work-order type", wo.name if wo else "–"),
            ("Department", f"{inst.place_name(item['department'])} ({item['department']})" if item["department"]
             else "–"),
            ("Work-order status", item["status"] or "–"),
            ("In transit to", inst.place_name(item["transit_to"]) if item["transit_to"] else "–"),
            ("Loan", f"{loan['patron']}, due {loan['due']}" if loan else "–"),
            ("In department since", since.replace("T", " ")[:16] if since else "–"),
        ]
        self.fields = {label: value or "–" for label, value in left + right}
        grid = Table.grid(padding=(0, 2), expand=True)
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(ratio=1, overflow="ellipsis", no_wrap=True)
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(ratio=1, overflow="ellipsis", no_wrap=True)
        for (l_label, l_value), (r_label, r_value) in zip(left, right):
            value = Text(r_value or "–")
            if r_label == "Process type" and item["process_type"]:
                value.stylize(self.theme_style("text-warning", bold=True))
            grid.add_row(l_label, Text(l_value or "–"), r_label, value)
        self.query_one("#detail-fields", Static).update(grid)

    def _show_queue(self) -> None:
        table = self.queue_table
        keep = self.highlighted_key(table)
        row_index = table.cursor_row  # a cancelled request's row is gone: stay at its place
        table.clear()
        for position, req in enumerate(self.item["requests"], start=1):
            # Codes keep the row on one line; the department's name is in the fields above.
            kind = "Patron request" if req["kind"] == "patron" else f"Work order ({req['work_order_type']})"
            where_code = req["pickup"] or req["department"]
            pos = Text(str(position), justify="right")
            if req["forced"]:
                kind = f"{kind} · Forced"
                pos.stylize("bold")
            table.add_row(pos, Text(str(req["id"])), Text(kind), Text(req["step_name"]), Text(where_code or "–"),
                          Text(req["patron"] or ""), Text(req["creator"] or ""),
                          Text((req["placed_at"] or "")[:10]), Text(req["expiry"] or ""), Text(req["note"] or ""),
                          key=str(req["id"]))
        self.move_to_key(table, keep, default=row_index)
        count = table.row_count
        table.display = count > 0
        self.query_one("#detail-queue-title", Label).update(
            # The queue's keys are in the footer (Activate, Cancel, Expiry, Back); Enter and Tab here,
            # on a line that is there anyway (at 80x24 a keys line of its own fell off the screen).
            f"Request queue: {count} active request{'s' if count != 1 else ''}, in order · Enter actions · "
            "Tab history" if count else "Request queue: no active requests")

    def _creators(self) -> dict[int, str]:
        """Request id -> creator: the operator who placed it (W15: it never changes)."""
        creators = {ev["request_id"]: ev["operator"] for ev in self.history
                    if ev["action"] == "request_placed" and ev["request_id"] is not None}
        creators.update({req["id"]: req["creator"] for req in self.item["requests"]})
        return creators

    def _show_history(self) -> None:
        table = self.history_table
        at_end = table.row_count == 0 or table.cursor_row >= table.row_count - 1
        table.clear()
        creators = self._creators()
        for ev in self.history:
            req_id = ev["request_id"]
            request = f"{req_id} ({creators.get(req_id, '?')})" if req_id is not None else ""
            change = describe_change(ev["before"], ev["after"])
            table.add_row(Text((ev["at"] or "").replace("T", " ")[:16]), Text(ev["operator"] or ""),
                          Text(ev["place"] or ""), Text(action_words(ev["action"])), Text(request),
                          Text(" · ".join(p for p in (change, ev["message"]) if p)), key=str(ev["id"]))
        if at_end and table.row_count:
            table.move_cursor(row=table.row_count - 1)
        count = table.row_count
        self.query_one("#detail-history-title", Label).update(
            f"History: {count} change{'s' if count != 1 else ''}, oldest first (operator; request creator)")

    @on(DataTable.RowHighlighted, "#detail-history")
    def _event_highlighted(self, event: DataTable.RowHighlighted) -> None:
        # The Change column is cut at the screen's edge: the highlighted change in full below.
        key = event.row_key.value
        ev = next((e for e in self.history if str(e["id"]) == key), None)
        if ev is None:
            return
        change = describe_change(ev["before"], ev["after"])
        self.query_one("#detail-event", Static).update(
            f"{action_words(ev['action'])}: " + " · ".join(p for p in (change, ev["message"]) if p))

    # -- queue actions -----------------------------------------------------------------------
    @on(DataTable.RowSelected, "#detail-queue")
    def _queue_row_chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        req = self.highlighted_request
        if req is None:
            return
        self.choose_row_action(f"Request {req['id']} · {req['step_name']}", QUEUE_ACTIONS, self.action_queue_action,
                               chooser_id="request-actions")

    def action_queue_action(self, name: str) -> None:
        """Activate / Cancel / Update Expiry on the highlighted request."""
        req = self.highlighted_request
        if req is None:
            self.result_line.error("No request: the queue is empty")
            return
        if name == "activate":
            self.desk_action(requests.activate, req["id"], then=self.load)
        elif name == "cancel":
            inst = self.db.institution
            info = RequestInfo(req["id"], req["kind"], req["step"],
                               inst.place_name(req["department"] or req["pickup"]), req["patron"])
            confirm_cancel(self.app, info, partial(self.cancel_request, req["id"]))
        elif name == "expiry":
            self.app.push_screen(PromptDialog(
                f"Update Expiry · request {req['id']}", "New expiry date (YYYY-MM-DD)", req["expiry"] or "",
                note="Nothing happens at expiry: lists flag the item as overdue after it.", id="expiry-prompt"),
                partial(self.set_expiry, req["id"]))

    def cancel_request(self, request_id: int, confirm: bool) -> None:
        """Cancel after the operator agreed (``confirm``: the second Transit Item confirmation)."""
        self.desk_action(requests.cancel, request_id, confirm=confirm, then=self.load)

    def set_expiry(self, request_id: int, text: str | None) -> None:
        """Update Expiry with the date typed (the engine checks it is a date)."""
        if text is None:
            return
        self.desk_action(requests.set_expiry, request_id, text, then=self.load)

    def action_back(self) -> None:
        """Esc: back to the list this item was opened from."""
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    def desk_commands(self) -> Iterable[DeskCommand]:
        yield DeskCommand("Activate the highlighted request", "Forced, first in the queue (ctrl+f)",
                          partial(self.action_queue_action, "activate"))
        yield DeskCommand("Cancel the highlighted request", "Explains what cancelling does at its step (Del)",
                          partial(self.action_queue_action, "cancel"))
        yield DeskCommand("Update Expiry of the highlighted request", "A new expiry date (ctrl+e)",
                          partial(self.action_queue_action, "expiry"))
        yield DeskCommand("Back", "To the list this item was opened from (Esc)", self.action_back)

    # -- accessors -------------------------------------------------------------------------
    @property
    def highlighted_request(self) -> dict[str, Any] | None:
        """The queue row under the cursor, as the engine gives it."""
        key = self.highlighted_key(self.queue_table)
        if key is None:
            return None
        return next((r for r in self.item.get("requests", []) if str(r["id"]) == key), None)

    @property
    def queue_table(self) -> DataTable[Text]:
        return self.query_one("#detail-queue", DataTable)

    @property
    def history_table(self) -> DataTable[Text]:
        return self.query_one("#detail-history", DataTable)

