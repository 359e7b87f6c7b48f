"""Receiving (Alma: Acquisitions > Receive), SPEC W13.

The list of items awaiting receipt at the current department (a receiving department of
the item's library). *Keep in Department* with a status puts a received item in the
department's work order (the type and department come from Currently At; only the status
is chosen, F9); without it, the engine sends the item to its first request or In Transit
home. Receive by scanning the item, or pick rows (ctrl+t marks one, ctrl+a marks all) and
press ctrl+s: the marked rows, or the highlighted one when none is marked.

The list is read in a worker (it can be long); one scanned or highlighted item is received
synchronously (one transaction); several marked items are received in a worker, one
transaction each, and the list follows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.markup import escape
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Checkbox, DataTable, Label, Static

from libdesk import receiving
from libdesk.core import Result
from libdesk.db import Database
from libdesk.errors import LibdeskError
from screens.base import DeskCommand
from screens.scan_screen import ScanScreen
from screens.widgets import DeskTable
from screens.widgets.result_banner import describe_result

MAX_ROWS = 500
"""Rows shown at once (STYLE.md section 6); the count above the list says how many wait."""
MARK = "✓"


@dataclass(frozen=True)
class ReceiveOutcome:
    """One item of a bulk receive: its result, or the error that left it untouched."""

    barcode: str
    result: Result | None
    error: str | None


@dataclass(frozen=True)
class ReceiveOptions:
    """How to receive: the place, the operator, Keep in Department and its status."""

    at: str | None
    operator: str
    keep_in_department: bool
    status: str | None


def receive_item(db: Database, barcode: str, options: ReceiveOptions) -> Result:
    """Receive one item with ``options`` (the engine decides what happens).

    Raises:
        LibdeskError: no Currently At, or whatever :func:`libdesk.receiving.receive` raises.
    """
    if options.at is None:
        raise LibdeskError("Set Currently At first (F10): your receiving department")
    return receiving.receive(db, barcode, at=options.at, operator=options.operator,
                             keep_in_department=options.keep_in_department, status=options.status)


class ReceivingScreen(ScanScreen):
    """Receiving: items awaiting receipt here; Keep in Department with a status."""

    class AwaitingLoaded(Message):
        """The worker read the awaiting list (or the error saying why there is none)."""

        def __init__(self, at: str, rows: list[dict[str, Any]], error: str | None) -> None:
            super().__init__()
            self.at = at
            """The department the list is for (a late answer for another place is dropped)."""
            self.rows = rows
            """Items awaiting receipt, in title order."""
            self.error = error
            """Why there is no list (not a receiving department), or None."""

    class BulkReceived(Message):
        """The worker received the marked items."""

        def __init__(self, outcomes: list[ReceiveOutcome]) -> None:
            super().__init__()
            self.outcomes = outcomes
            """Each item's result or error, in the order they were received."""

    TITLE = "Receiving"
    BODY_ID = "receiving-body"
    CURSOR_LIST = "awaiting"
    SCAN_PROMPT = "Scan an item to receive it, then Enter"
    READY = "Ready: scan an item, or mark rows (ctrl+t) and press ctrl+s"
    SUPPORTS: ClassVar[frozenset[str]] = frozenset({"refresh", "status"})
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "receive", "Receive", show=False, id="receive"),
        Binding("ctrl+t", "mark", "Mark / unmark the highlighted item", show=False, id="receive-mark"),
        # priority: in the scan field ctrl+a / ctrl+k are editing keys (Home is there for that).
        Binding("ctrl+a", "mark_all", "Mark all / none", show=False, priority=True, id="receive-mark-all"),
        Binding("ctrl+k", "toggle_keep", "Keep in Department", show=False, priority=True, id="keep-in-department"),
        Binding("up", "cursor('up')", "Previous item", show=False, id="receive-cursor-up"),
        Binding("down", "cursor('down')", "Next item", show=False, id="receive-cursor-down"),
    ]
    HELP = """\
Receive new acquisitions at a **receiving department** (Currently At, F10).

**Keep in Department** (ctrl+k) keeps the received item here in a work order with the
status you choose (F9); without it the item goes In Transit to its library (or to a request).

Receive an item by **scanning** it, or pick rows with ↑/↓, mark them with **ctrl+t** (or
**ctrl+a** for all) and press **ctrl+s**: the marked items are received, or the highlighted
one if none is marked. F5 reads the list again.
"""

    keep_in_department: reactive[bool] = reactive(False, init=False)
    """Keep in Department: received items stay here in a work order (status: the sticky one)."""

    def __init__(self, db: Database) -> None:
        super().__init__(id="receiving")
        self.db = db
        """The database the engine works on."""
        self.rows: dict[str, dict[str, Any]] = {}
        """The awaiting items on the list, by barcode."""
        self.marked: set[str] = set()
        """Barcodes marked for receiving."""
        self.total = 0
        """How many items await receipt (the list shows at most MAX_ROWS)."""

    def compose_above(self) -> ComposeResult:
        yield Static(id="receiving-place")
        with Horizontal(id="receive-options"):
            yield Checkbox("Keep in Department (ctrl+k)", id="keep")
            yield Label(id="receive-status")

    def compose_below(self) -> ComposeResult:
        yield Label("", id="awaiting-title")
        yield DeskTable(id="awaiting", flex=("title",), cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one("#keep", Checkbox).can_focus = False  # Tab goes scan field <-> list only
        self.query_one("#keep", Checkbox).BUTTON_INNER = "X" if self.keep_in_department else " "
        table = self.awaiting_table
        table.add_column(MARK, key="mark", width=1)
        table.add_column("Barcode", key="barcode", width=16)
        # Fits 80 columns; the library is always the department's own (receiving.awaiting).
        table.add_column("Title", key="title", width=23)
        table.add_column("Author", key="author", width=14)
        table.add_column("Call number", key="call_number", width=12)
        self.watch(self.app, "currently_at", lambda _code: self._place_changed(), init=False)
        self.watch(self.app, "status", lambda _status: self._show_options(), init=False)
        self._place_changed()

    def _place_changed(self) -> None:
        place = self.libdesk_app.place
        label = self.query_one("#receiving-place", Static)
        if place is None:
            label.update("Currently At is not set: press F10 to choose your receiving department")
        else:
            label.update(f"Receiving at [b]{escape(place.name)}[/b] · {escape(place.code)}")
        self._show_options()
        self.refresh_list()

    def _show_options(self) -> None:
        status = self.query_one("#receive-status", Label)
        place = self.libdesk_app.place
        if not self.keep_in_department or place is None or not place.is_department:
            status.update("Received items go on: In Transit home, or to a request")
        else:
            wo = self.db.institution.work_order_types[place.work_order_type or ""]
            chosen = self.libdesk_app.status or f"{wo.statuses[0]} (first)"
            status.update(f"Status [b]{escape(chosen)}[/b] · F9")
        self.refresh_bindings()
        self.app.refresh_bindings()

    def supports(self, action: str) -> bool:
        if action == "status":
            return self.keep_in_department
        return super().supports(action)

    def watch_keep_in_department(self, keep: bool) -> None:
        box = self.query_one("#keep", Checkbox)
        # Textual's checkbox shows an X in both states (only its colour changes): an empty box
        # when off, so the state reads without colour (issue 12, item 5).
        box.BUTTON_INNER = "X" if keep else " "
        box.value = keep
        box.refresh()
        self._show_options()

    @on(Checkbox.Changed, "#keep")
    def _keep_clicked(self, event: Checkbox.Changed) -> None:
        self.keep_in_department = event.value
        self.scan_field.focus()

    # -- the list ------------------------------------------------------------------------
    def refresh_list(self) -> None:
        """F5: read the awaiting list again (in a worker)."""
        place = self.libdesk_app.place
        if place is None:
            self._fill([], "Choose a receiving department (F10)")
            return
        self.query_one("#awaiting-title", Label).update("Reading the list…")
        self.load_awaiting(place.code)

    @on(AwaitingLoaded)
    def _loaded(self, message: AwaitingLoaded) -> None:
        if message.at != self.libdesk_app.currently_at:
            return  # Currently At changed while reading: a newer list is on its way
        self._fill(message.rows, message.error)

    def _fill(self, rows: list[dict[str, Any]], error: str | None) -> None:
        table = self.awaiting_table
        table.clear()
        self.rows = {row["barcode"]: row for row in rows[:MAX_ROWS]}
        self.marked &= set(self.rows)
        self.total = len(rows)
        for row in self.rows.values():
            table.add_row(*self._cells(row), key=row["barcode"])
        self._show_count(error)

    def _cells(self, row: dict[str, Any]) -> list[Text]:
        return [Text(MARK if row["barcode"] in self.marked else ""), Text(row["barcode"]), Text(row["title"] or ""),
                Text(row["author"] or ""), Text(row["call_number"] or "")]

    def _show_count(self, error: str | None = None) -> None:
        title = self.query_one("#awaiting-title", Label)
        if error:
            title.update(Text(error))
            title.add_class("-warning")
            return
        title.remove_class("-warning")
        shown = f"{len(self.rows)} of {self.total}" if self.total > len(self.rows) else str(self.total)
        marked = f" · {len(self.marked)} marked" if self.marked else ""
        title.update(Text(f"Awaiting receipt: {shown}{marked} · ctrl+t mark · ctrl+a all · ctrl+s receive"))

    def _remove(self, barcode: str) -> None:
        if barcode in self.rows:
            del self.rows[barcode]
            self.marked.discard(barcode)
            self.total -= 1
            self.awaiting_table.remove_row(barcode)

    # -- receiving -----------------------------------------------------------------------
    def handle_scan(self, barcode: str) -> None:
        """Receive the scanned item with the current Keep in Department and status."""
        self.receive_one(barcode)

    def receive_one(self, barcode: str) -> None:
        """Receive one item now (one transaction) and take it off the list."""
        options = self._receive_options()
        if self.scan_engine(barcode, lambda: receive_item(self.db, barcode, options)) is None:
            return
        self._remove(barcode)
        self._show_count()

    def _receive_options(self) -> ReceiveOptions:
        """Where, who and how, read once on the UI thread (workers never read reactives)."""
        app = self.libdesk_app
        keep = self.keep_in_department
        return ReceiveOptions(app.currently_at, app.operator, keep, app.status if keep else None)

    def action_receive(self) -> None:
        """ctrl+s: receive the marked items, or the highlighted one."""
        if self.marked:
            barcodes = [b for b in self.rows if b in self.marked]
            self.banner.show("info", f"Receiving {len(barcodes)} items…")
            self.receive_marked(barcodes, self._receive_options())
            return
        barcode = self.highlighted
        if barcode is None:
            self.banner.show_error("Nothing to receive: the list is empty")
            return
        self.receive_one(barcode)

    @on(BulkReceived)
    def _bulk_done(self, message: BulkReceived) -> None:
        received = [o for o in message.outcomes if o.result is not None]
        failed = [o for o in message.outcomes if o.error is not None]
        for outcome in received:
            self._remove(outcome.barcode)
        groups = Counter(describe_result(o.result, self.db.institution)[0] for o in received if o.result)
        summary = ", ".join(f"{n} × {where}" for where, n in groups.most_common())
        if failed:
            first = failed[0]
            self.banner.show("error", f"✗ {len(failed)} not received; {len(received)} received",
                             f"{first.barcode}: {first.error}" + (f" (and {len(failed) - 1} more)" if len(failed) > 1
                                                                  else ""), summary)
        else:
            self.banner.show("info", f"RECEIVED {len(received)} ITEMS", summary)
        self._show_count()

    def action_mark(self) -> None:
        """ctrl+t: mark or unmark the highlighted item."""
        barcode = self.highlighted
        if barcode is None:
            return
        self.marked ^= {barcode}
        self.awaiting_table.update_cell(barcode, "mark", Text(MARK if barcode in self.marked else ""))
        self._show_count()

    def action_mark_all(self) -> None:
        """ctrl+a: mark every listed item, or none when all are marked."""
        self.marked = set() if self.marked >= set(self.rows) else set(self.rows)
        for barcode in self.rows:
            self.awaiting_table.update_cell(barcode, "mark", Text(MARK if barcode in self.marked else ""))
        self._show_count()

    def action_toggle_keep(self) -> None:
        """ctrl+k: Keep in Department on / off."""
        self.keep_in_department = not self.keep_in_department

    @on(DataTable.RowSelected, "#awaiting")
    def _row_clicked(self, event: DataTable.RowSelected) -> None:
        self.action_mark()

    def desk_commands(self) -> Iterable[DeskCommand]:
        yield DeskCommand("Receive", "The marked items, or the highlighted one (ctrl+s)", self.action_receive)
        yield DeskCommand("Mark or unmark the highlighted item", "For receiving several at once (ctrl+t)",
                          self.action_mark)
        yield DeskCommand("Mark all awaiting items", "Or none, when all are marked (ctrl+a)", self.action_mark_all)
        yield DeskCommand(f"Keep in Department: {'off' if self.keep_in_department else 'on'}",
                          "Received items stay here in a work order with the status (ctrl+k)",
                          self.action_toggle_keep)

    # -- workers -------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="receiving-load", exit_on_error=False)
    def load_awaiting(self, at: str) -> None:
        """Read the awaiting list for ``at`` (a thread: the list can be long)."""
        try:
            rows = receiving.awaiting(self.db, at)
        except LibdeskError as exc:
            self.post_message(self.AwaitingLoaded(at, [], exc.message))
            return
        self.post_message(self.AwaitingLoaded(at, rows, None))

    @work(thread=True, exclusive=True, group="receiving-bulk", exit_on_error=False)
    def receive_marked(self, barcodes: list[str], options: ReceiveOptions) -> None:
        """Receive several items, one transaction each; a failure does not stop the rest."""
        outcomes: list[ReceiveOutcome] = []
        for barcode in barcodes:
            try:
                outcomes.append(ReceiveOutcome(barcode, receive_item(self.db, barcode, options), None))
            except LibdeskError as exc:
                outcomes.append(ReceiveOutcome(barcode, None, exc.message))
        self.post_message(self.BulkReceived(outcomes))

    # -- accessors -----------------------------------------------------------------------
    @property
    def highlighted(self) -> str | None:
        """The barcode under the list's cursor."""
        table = self.awaiting_table
        if table.row_count == 0:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    @property
    def awaiting_table(self) -> DataTable[Text]:
        return self.query_one("#awaiting", DataTable)
