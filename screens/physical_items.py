"""Physical Items search (Alma: the persistent search, type Physical Items), seed 000.

One box: a barcode, a barcode prefix ending in ``*``, or words of the title, author or call
number (:func:`libdesk.queries.search`). The results show what the seed's "quick snapshot"
asks for: the base status, the process type as Alma shows it ("Technical Services Work Order
(Cataloging)"), the department and the number of requests. The row actions are Alma's:

- **Work Order** (ctrl+w): the Work Order pop-up, then :func:`libdesk.workorders.place_work_order`
  (SPEC W11; not in hand by default: the item is on the shelf, so it goes on the pick list);
- **Request** (ctrl+n): patron and pickup desk, then :func:`libdesk.requests.place_request`;
- **Edit Item** (ctrl+y): the Physical Item Editor with Alma's warning that it skips the status
  and the transit steps, then :func:`libdesk.workorders.edit_item` (W12);
- **History** (ctrl+t) and **Queue** (ctrl+g): the item detail screen.

Enter on a row opens the row-action menu (Alma's ellipsis). The search runs in a thread
worker; the row actions are single transactions and run in the handler.

Multi-select as in Manage In Process Items (:class:`~screens.bulk_list.BulkListScreen`): space
ticks the highlighted row; ctrl+b selects *all matching* (every item the search matches, not
only the rows shown: :func:`libdesk.queries.search_barcodes`). With rows ticked, ctrl+w gives
them all a work order: the pop-up asks once and :func:`libdesk.workorders.place_work_orders`
runs in the bulk worker, with a progress bar and the grouped result (seed 000, "using sets").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Input, Label, ProgressBar, Static
from textual.worker import get_current_worker

from libdesk import circulation, queries, requests, workorders
from libdesk.db import Database
from libdesk.errors import LibdeskError
from screens.base import DeskCommand
from screens.bulk_list import BulkListScreen
from screens.item_dialogs.item_editor import EditorForm, ItemEditorDialog
from screens.item_dialogs.request import RequestDialog, RequestForm
from screens.widgets import DeskFooter, DeskHeader, DeskTable
from screens.widgets.result_line import ResultLine
from screens.work_order import WorkOrderDialog, WorkOrderForm

SEARCH_LIMIT = 50
"""Rows a search shows: the person refines the words rather than scroll (queries.search)."""

COLUMNS: list[tuple[str, str, int | None]] = [
    ("sel", "✓", 1), ("barcode", "Barcode", 14), ("title", "Title", 13), ("call_number", "Call number", 11),
    ("library", "Lib.", 4), ("base_status", "Status", 12), ("process", "Process type", 31),
    ("department", "Dept.", 8), ("requests", "Req.", 4),
]
"""(row key, header, width) of the results table: 120 columns wide in all; a long process
type is cut short here and shown whole in the item detail. ``sel`` shows the ticked rows."""

ROW_ACTIONS: list[tuple[str, str]] = [
    ("work_order", "Work Order   ctrl+w  send the item to a department"),
    ("request", "Request      ctrl+n  for a patron, picked up at a desk"),
    ("renew", "Renew loan   ctrl+d  due today + loan days (not if requested)"),
    ("edit_item", "Edit Item    ctrl+y  Physical Item Editor"),
    ("history", "History      ctrl+t  every change, with operator"),
    ("queue", "Queue        ctrl+g  the item's requests in order"),
    ("select", "Select / unselect    space"),
]
"""The row-action menu (Alma's ellipsis): action name, label."""


class PhysicalItemsScreen(BulkListScreen):
    """Physical Items search: the box, the results, the row actions, the multi-selection."""

    @dataclass
    class Results(Message, bubble=False):
        """A search finished (posted by the search worker)."""

        generation: int
        """Which search: an older one's results are dropped."""
        query: str
        rows: list[dict[str, Any]]
        """Rows as :func:`libdesk.queries.search` gives them."""
        error: str | None = None
        """The engine's refusal (an empty search), else None."""

    @dataclass
    class Counted(Message, bubble=False):
        """How many items a search matches in all, when it shows only the first rows."""

        generation: int
        total: int

    TITLE = "Physical Items"
    AUTO_FOCUS = "#search"
    SUPPORTS: ClassVar[frozenset[str]] = frozenset({"refresh"})
    BINDINGS: ClassVar[list[BindingType]] = [
        # priority: the search box would take ctrl+w as "delete word" (as on Return Items).
        Binding("ctrl+w", "work_order", "Work Order", show=False, priority=True, id="items-work-order"),
        Binding("space", "toggle_row", "Select row", show=False, id="items-select"),
        Binding("ctrl+b", "select_all", "Select all matching", show=False, id="items-select-all"),
        Binding("ctrl+n", "row_action('request')", "Request", show=False, id="items-request"),
        Binding("ctrl+y", "row_action('edit_item')", "Edit Item", show=False, id="items-edit"),
        Binding("ctrl+t", "row_action('history')", "History", show=False, id="items-history"),
        Binding("ctrl+g", "row_action('queue')", "Queue", show=False, id="items-queue"),
        Binding("ctrl+d", "row_action('renew')", "Renew loan", show=False, id="items-renew"),
    ]
    HELP = """\
Find an item by **barcode**, by a barcode **prefix** ending in `*` (`3204400*`), or by
**words** of its title, author or call number; Enter searches. A scan searches too.

The list shows each item's status, its process type as Alma shows it, its department and
how many requests wait for it. **Enter** on a row opens its actions:

- **Work Order** (ctrl+w): type, managing department, note, *Do not pick from shelf*.
  Unticked, the item goes on its library's pick list and travels to the department.
- **Request** (ctrl+n): a patron request, picked up at a desk (a loaned item is recalled).
- **Edit Item** (ctrl+y): the Physical Item Editor. It skips the status and the transit
  steps; prefer Scan In Items or Work Order.
- **History** (ctrl+t) and **Queue** (ctrl+g): the item's detail, history and requests.
- **Renew loan** (ctrl+d, "due"): a loaned item is due today + the loan days again, at a
  circulation desk; refused while a request waits for it, or after the institution's renewals.

**Several items at once**, as in Manage In Process Items:

- **space** ticks the highlighted row; **ctrl+b** selects *all matching* items (every item
  the search matches, not only the rows shown); ctrl+b again clears.
- **ctrl+w** with rows ticked gives every ticked item the work order (asked once); each item
  is its own transaction, and the result groups where they go next.

↓ from the box goes to the list; typing on the list starts a new search.
"""

    def __init__(self, db: Database) -> None:
        super().__init__(id="physical-items")
        self.db = db
        """The database the engine works on."""
        self.query_text = ""
        """The last search run (F5 and returning to the screen run it again)."""
        self._summary = "Type a barcode or words and press Enter"
        self._generation = 0
        self._focus_results = False

    def compose(self) -> ComposeResult:
        yield DeskHeader()
        with Vertical(id="items-body"):
            yield Input(placeholder="Barcode, prefix* or words of title / author / call number, then Enter",
                        id="search", select_on_focus=False)
            yield Label(self._summary, id="items-count")
            yield DeskTable(id="items", flex=("title",), cursor_type="row", zebra_stripes=True)
            with Horizontal(id="items-work"):
                yield Label("", id="work-label")
                yield ProgressBar(id="work-progress", show_eta=False)
            yield ResultLine(id="items-result")
            yield Static("Enter on a row: actions · space select · ctrl+b all matching · ctrl+w Work Order · "
                         "ctrl+n Request · ctrl+y Edit Item · ctrl+t History · ctrl+g Queue", id="items-keys",
                         classes="list-keys")
        yield DeskFooter()

    def on_mount(self) -> None:
        table = self.table
        for key, header, width in COLUMNS:
            table.add_column(header, key=key, width=width)

    def on_screen_resume(self) -> None:
        offer = getattr(self.app, "search_offer", None)
        if offer:  # F4 from a "barcode not found": search for it (a mistyped or damaged barcode)
            self.app.search_offer = None  # type: ignore[attr-defined]
            self.search_box.value = offer
            self.search_box.focus()
            self.run_search(offer)
            return
        # Back from a pop-up, another screen or the item detail: show the items as they are now.
        if self.query_text and not self.working:
            self.run_search(self.query_text)

    # -- searching -----------------------------------------------------------------------
    @on(Input.Submitted, "#search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if not text:
            self.result_line.error("Type a barcode, a prefix ending in * or some words first")
            return
        self.run_search(text, focus_results=True)

    def handle_scan(self, barcode: str) -> None:
        """A scan here looks the item up."""
        self.search_box.value = barcode
        self.run_search(barcode, focus_results=True)

    def refresh_list(self) -> None:
        """F5: run the search again."""
        if self.query_text:
            self.run_search(self.query_text)

    def run_search(self, text: str, *, focus_results: bool = False) -> None:
        """Search in a worker; the results replace the table when they arrive. Another search
        than the last is another list: the selection is cleared."""
        if text != self.query_text:
            self.clear_selection()
        self.query_text = text
        self._generation += 1
        self._focus_results = focus_results
        self._search(self._generation, text)

    @work(thread=True, exclusive=True, group="physical-items-load", exit_on_error=False,
          description="Physical Items search")
    def _search(self, generation: int, text: str) -> None:
        try:
            rows = queries.search(self.db, text, limit=SEARCH_LIMIT)
        except LibdeskError as exc:
            self.post_message(self.Results(generation, text, [], exc.message))
            return
        if get_current_worker().is_cancelled:
            return
        self.post_message(self.Results(generation, text, rows))
        if len(rows) >= SEARCH_LIMIT:  # the rows shown are the first ones only: how many in all
            total = queries.search_count(self.db, text)
            if not get_current_worker().is_cancelled:
                self.post_message(self.Counted(generation, total))

    @on(Results)
    def _show_results(self, message: Results) -> None:
        if message.generation != self._generation:
            return  # a newer search is on its way
        if message.error:
            self.result_line.error(message.error)
            return
        table = self.table
        keep = self.highlighted_key(table)
        table.clear()
        self.rows = {row["barcode"]: row for row in message.rows}
        self.total = len(message.rows)
        for row in message.rows:
            table.add_row(*self._cells(row), key=row["barcode"])
        self.move_to_key(table, keep)
        count = len(message.rows)
        if count == 0:
            self._summary = f"No items match {message.query!r}"
        elif count >= SEARCH_LIMIT:
            self._summary = f"The first {count} items matching {message.query!r}: add words to narrow"
        else:
            self._summary = f"{count} item{'s' if count != 1 else ''} matching {message.query!r}"
        self.show_count()
        if self._focus_results and count:
            table.focus()
        self._focus_results = False

    @on(Counted)
    def _counted(self, message: Counted) -> None:
        if message.generation != self._generation:
            return
        self.total = message.total
        self._summary = (f"The first {len(self.rows)} of {message.total:,} items matching {self.query_text!r}: "
                         "add words to narrow")
        self.show_count()

    def show_count(self) -> None:
        """The results line: how many items, and how many are selected."""
        self.query_one("#items-count", Label).update(self._summary + self.selection_words())

    def _cells(self, row: dict[str, Any]) -> list[Text]:
        process = Text(row["process"] or "")
        if row["base_status"] != "In place":
            process.stylize(self.theme_style("text-warning"))
        requests_cell = Text(str(row["requests"]), justify="right")
        if row["requests"]:
            requests_cell.stylize("bold")
        return [self.tick(row["barcode"]), Text(row["barcode"]), Text(row["title"] or ""), Text(row["call_number"] or ""),
                Text(row["library"] or ""), Text(row["base_status"]), process, Text(row["department"] or ""),
                requests_cell]

    # -- keys between the box and the list ---------------------------------------------------
    def on_key(self, event: events.Key) -> None:
        table = self.table
        if self.focused is self.search_box and event.key == "down" and table.row_count:
            event.stop()
            table.focus()
        elif self.focused is table and event.is_printable and event.character and event.character != " ":
            # Typing (or a scanner) on the list starts a new search in the box; space ticks rows.
            event.stop()
            box = self.search_box
            box.value = event.character
            box.cursor_position = len(box.value)
            box.focus()

    # -- row actions -----------------------------------------------------------------------
    @on(DataTable.RowSelected, "#items")
    def _row_chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_row_menu()

    def action_row_menu(self) -> None:
        """Enter: the row-action menu for the highlighted item."""
        row = self.highlighted
        if row is None:
            return
        self.choose_row_action(f"{row['barcode']} · {row['title']}", ROW_ACTIONS, self.action_row_action,
                               chooser_id="item-actions")

    def action_work_order(self) -> None:
        """ctrl+w: a work order for the ticked items (each its own transaction), else for the
        highlighted one."""
        if self.selection_count:
            self.action_bulk_work_order()
        else:
            self.action_row_action("work_order")

    def action_row_action(self, name: str) -> None:
        """Run a row action on the highlighted item."""
        row = self.highlighted
        if row is None:
            self.result_line.error("Search first: the row actions act on the highlighted item")
            return
        inst = self.db.institution
        if name == "select":
            self.table.focus()
            self.action_toggle_row()
        elif name == "work_order":
            self.app.push_screen(WorkOrderDialog(inst, row["barcode"], row["title"], in_hand=False),
                                 self.place_work_order)
        elif name == "request":
            place = self.libdesk_app.place
            pickup = place.code if place is not None and place.is_desk else self._home_desk(row)
            self.app.push_screen(RequestDialog(inst, row["barcode"], row["title"], pickup=pickup), self.place_request)
        elif name == "edit_item":
            self.app.push_screen(ItemEditorDialog(inst, row), self.edit_item)
        elif name == "renew":
            place = self.libdesk_app.place
            if place is None or not place.is_desk:
                self.result_line.error("Renew at a circulation desk: press F10 to choose yours")
                return
            self.desk_action(circulation.renew, row["barcode"], then=self.refresh_list)
        elif name in ("history", "queue"):
            from screens.item_detail import ItemDetailScreen  # opened from here only

            self.app.push_screen(ItemDetailScreen(self.db, row["barcode"], focus=name))

    def _home_desk(self, row: dict[str, Any]) -> str | None:
        try:
            return self.db.institution.home_desk(row["library"], row["location"]).code
        except LibdeskError:
            return None

    def place_work_order(self, form: WorkOrderForm | None) -> None:
        """The Work Order pop-up's answers, to the engine (W11)."""
        if form is None:
            return
        self.desk_action(workorders.place_work_order, form.barcode, form.work_order_type, form.department,
                         note=form.note, in_hand=form.in_hand, then=self.refresh_list)

    def place_request(self, form: RequestForm | None) -> None:
        """The Request pop-up's answers, to the engine (Q3: a loaned item is recalled)."""
        if form is None:
            return
        self.desk_action(requests.place_request, form.barcode, form.patron, form.pickup, then=self.refresh_list)

    def edit_item(self, form: EditorForm | None) -> None:
        """The Physical Item Editor's answers, to the engine (W12)."""
        if form is None:
            return
        app = self.libdesk_app
        result = self.call_engine(workorders.edit_item, self.db, form.barcode, form.work_order_type,
                                  form.department, operator=app.operator, at=app.currently_at)
        if result is not None:
            self.result_line.show(result.message, "warning")
            self.refresh_list()

    # -- the multi-selection (the rest is BulkListScreen's) ----------------------------------------
    def can_select(self) -> bool:
        return bool(self.query_text)

    def matching(self) -> Callable[[], list[str]]:
        return partial(queries.search_barcodes, self.db, self.query_text)

    def after_bulk(self) -> None:
        self.refresh_list()

    def desk_commands(self) -> Iterable[DeskCommand]:
        yield DeskCommand("Work Order for the highlighted item", "Type, department, note, pick from shelf (ctrl+w)",
                          partial(self.action_row_action, "work_order"))
        yield DeskCommand("Work Order for the selected items", "Their type, managing department and note; "
                          "each item its own transaction (ctrl+w)", self.action_bulk_work_order)
        yield DeskCommand("Select all matching items", "Every item the search matches (ctrl+b)",
                          self.action_select_all)
        yield DeskCommand("Clear the selection", "Untick every row", self.clear_selection)
        yield DeskCommand("Request the highlighted item", "For a patron, picked up at a desk (ctrl+n)",
                          partial(self.action_row_action, "request"))
        yield DeskCommand("Edit Item (Physical Item Editor)", "Type and department directly; skips status and "
                          "transit (ctrl+y)", partial(self.action_row_action, "edit_item"))
        yield DeskCommand("Item history", "Every change to the highlighted item, with operator (ctrl+t)",
                          partial(self.action_row_action, "history"))
        yield DeskCommand("Item request queue", "The highlighted item's requests in order (ctrl+g)",
                          partial(self.action_row_action, "queue"))
        yield DeskCommand("Renew the highlighted loan", "Due today + loan days; not while requested (ctrl+d)",
                          partial(self.action_row_action, "renew"))
        yield DeskCommand("New search", "Back to the search box", self.search_box.focus)

    # -- accessors -------------------------------------------------------------------------
    @property
    def highlighted(self) -> dict[str, Any] | None:
        """The result row under the cursor."""
        key = self.highlighted_key(self.table)
        return self.rows.get(key) if key is not None else None

    @property
    def search_box(self) -> Input:
        return self.query_one("#search", Input)

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#items", DataTable)
