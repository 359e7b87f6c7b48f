"""Return Items (Alma: Fulfillment > Return Items), SPEC W10-W11.

Scan a returned item: the loan is discharged and the result names the Next Step (hold shelf,
In Transit to a desk or department, reshelve). When a request waits for the item, a pop-up
says where to put it, as Alma's does; Enter or Escape closes it (and typing the next barcode
closes it too, so a scanner is never stopped by it). The recently-returned list keeps this
session's returns with their Next Step; its row action Work Order (ctrl+w, or Enter on the
list) opens the Work Order pop-up and places the work order through the engine.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.markup import escape
from textual.widgets import DataTable, Label, Static

from libdesk import circulation, workorders
from libdesk.core import Result
from libdesk.db import Database
from libdesk.errors import LibdeskError
from screens.base import DeskCommand, NoticePopup
from screens.scan_screen import ScanScreen
from screens.slip_offer import SLIP_BINDING, SlipOffer
from screens.widgets import DeskTable
from screens.widgets.result_banner import OUTCOME_CLASSES, describe_result, outcome_of
from screens.work_order import WorkOrderDialog, WorkOrderForm

REQUEST_STEPS = ("hold_shelf", "transit")
"""Next steps that fill a request: the pop-up shows them when a request waits."""


def request_waits(result: Result) -> bool:
    """Whether the returned item goes to fill a request (the result's item has its queue)."""
    return result.next_step in REQUEST_STEPS and bool((result.item or {}).get("requests"))


@dataclass
class Returned:
    """One row of the recently-returned list."""

    key: str
    barcode: str
    title: str
    next_step: str
    """The Next Step column: where the item goes."""


class DestinationPopup(NoticePopup):
    """Where to put the returned item: a request waits for it. Enter or Escape closes it, and
    so does the next barcode typed or scanned (which goes on to the scan field)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+k", "slip", "Print the slip", show=False, id="destination-slip"),
    ]

    def __init__(self, outcome: str, headline: str, message: str, item_line: str) -> None:
        # No fixed id: notices follow one another as fast as items are returned.
        super().__init__(classes="destination")
        self.outcome = outcome
        """The banner outcome (hold_shelf, transit), which colours the pop-up's border."""
        self.headline = headline
        """Where the item goes, big."""
        self.message = message
        """The engine's message (which patron's request)."""
        self.item_line = item_line
        """Barcode and title, to check it is the book in hand."""

    def compose(self) -> ComposeResult:
        with Vertical(classes=f"dialog {OUTCOME_CLASSES.get(self.outcome, '-info')}"):
            yield Label("A request is waiting for this item", classes="dialog-title")
            yield Static(self.headline, id="destination-headline", markup=False)
            yield Static(self.message, markup=False)
            yield Static(self.item_line, classes="dialog-note", markup=False)
            yield Static("Enter or Esc: OK (or scan the next item) · ctrl+k: slip", classes="dialog-keys")

    def action_slip(self) -> None:
        """ctrl+k: close the notice and print the item's slip (the screen below knows which)."""
        below = self.app.screen_stack[-2] if len(self.app.screen_stack) > 1 else None
        self.dismiss(None)
        if isinstance(below, SlipOffer):
            below.action_print_slip()


class ReturnItemsScreen(SlipOffer, ScanScreen):
    """Return Items: scan to return; the recently-returned list with its Next Step."""

    TITLE = "Return Items"
    BODY_ID = "return-body"
    PLACE_LINE = "return-place"
    CURSOR_LIST = "returned"
    SCAN_PROMPT = "Scan a returned item, then Enter"
    READY = "Ready: scan a returned item"
    BINDINGS: ClassVar[list[BindingType]] = [
        # priority: the scan field would take ctrl+w as "delete word"; a barcode needs no such edit.
        Binding("ctrl+w", "work_order", "Work Order", show=False, priority=True, id="return-work-order"),
        # priority: the scan field would take ctrl+u as "delete to the start"; a barcode needs no such edit.
        Binding("ctrl+u", "toggle_in_house", "In-house use", show=False, priority=True, id="return-in-house"),
        SLIP_BINDING,
        Binding("up", "cursor('up')", "Previous returned item", show=False, id="return-cursor-up"),
        Binding("down", "cursor('down')", "Next returned item", show=False, id="return-cursor-down"),
    ]
    HELP = """\
Scan each returned item at a **circulation desk**. The loan ends and the banner shows the
Next Step: hold shelf, in transit (to where), or reshelve. When a request waits, a pop-up
says where the item goes; Enter or Esc closes it.

The list keeps this session's returns. ↑/↓ pick a row; **ctrl+w** (or Enter on the list)
opens **Work Order** for it: type, managing department, note, and *Do not pick from shelf*
(ticked: the item is in hand and goes to the department now).

**ctrl+u** switches to **in-house use**: each scan then counts a use of the item in the
building (one history event) and changes nothing else; ctrl+u again goes back to returns.

When an item goes **in transit** or to the **hold shelf**, **ctrl+k** prints its slip
(destination or patron big, barcode, title) with `lp`, or saves it when there is no printer;
the palette's *Print slips automatically* prints every one at once.
"""

    def __init__(self, db: Database) -> None:
        super().__init__(id="return-items")
        self.db = db
        """The database the engine works on."""
        self.returned: dict[str, Returned] = {}
        """The list's rows by row key."""
        self._count = 0
        self.in_house = False
        """In-house use mode (ctrl+u): a scan registers a use instead of a return."""

    def compose_above(self) -> ComposeResult:
        yield Static(id="return-place")

    def compose_below(self) -> ComposeResult:
        yield Label("Recently returned · ↑↓ pick · ctrl+w Work Order", id="returned-title")
        yield DeskTable(id="returned", flex=("title",), cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.returned_table
        # Next Step first after the barcode: it is what the worker acts on (and an 80-column
        # terminal shows it whole); title and time follow.
        table.add_column("#", key="seq", width=4)
        table.add_column("Barcode", key="barcode", width=16)
        table.add_column("Next Step", key="next_step")
        table.add_column("Title", key="title", width=24)
        table.add_column("Time", key="time", width=8)
        self.watch(self.app, "currently_at", lambda _code: self._show_place(), init=False)
        self._show_place()

    def _show_place(self) -> None:
        place = self.libdesk_app.place
        if place is not None and place.is_desk and self.in_house:
            self.show_place(f"[b]IN-HOUSE USE[/b] at {escape(place.name)}: each scan counts a use, nothing else "
                            "changes · ctrl+u: back to returns", warning=True)
        elif place is not None and place.is_desk:
            self.show_place(f"Returning at [b]{escape(place.name)}[/b] · {escape(place.code)}", warning=False)
        else:
            self.show_place("Return Items works at a circulation desk: press F10 to choose one", warning=True)

    # -- scans ---------------------------------------------------------------------------
    def handle_scan(self, barcode: str) -> None:
        """Return one item at Currently At."""
        app = self.libdesk_app
        if app.currently_at is None:
            self.banner.show_error("Set Currently At first (F10): at which desk are you?", barcode)
            return
        if self.in_house:
            self._register_in_house_use(barcode)
            return
        at = app.currently_at
        result = self.scan_engine(barcode, lambda: circulation.return_item(self.db, barcode, at=at,
                                                                           operator=app.operator), catalogue=True)
        if result is None:
            return
        self.offer_slip(result)  # transit or hold slip: ctrl+k (or printed at once, auto_slips)
        self._add_row(result)
        if request_waits(result):
            headline, item_line = describe_result(result, self.db.institution)
            self.app.push_screen(DestinationPopup(outcome_of(result.next_step), headline, result.message, item_line))

    def _register_in_house_use(self, barcode: str) -> None:
        """In-house use mode: count a use of the item (the engine changes nothing else)."""
        app = self.libdesk_app
        result = self.scan_engine(barcode, lambda: circulation.register_in_house_use(
            self.db, barcode, at=app.currently_at or "", operator=app.operator))
        if result is None:
            return
        self._add_row(result, f"In-house use ({result.extra['in_house_uses']})")

    def action_toggle_in_house(self) -> None:
        """ctrl+u: in-house use mode on or off."""
        self.in_house = not self.in_house
        self._show_place()
        self.banner.show("info", "IN-HOUSE USE: scan each item used in the building" if self.in_house
                         else "RETURNS: scan a returned item")
        self.scan_field.focus()

    def _add_row(self, result: Result, next_step: str | None = None) -> None:
        self._count += 1
        key = str(self._count)
        item = result.item or {}
        headline, _ = describe_result(result, self.db.institution)
        row = Returned(key, result.barcode or "", item.get("title") or "", next_step or headline)
        self.returned[key] = row
        table = self.returned_table
        table.add_row(Text(key, justify="right"), Text(row.barcode), Text(row.next_step), Text(row.title),
                      Text(self.libdesk_app.clock().strftime("%H:%M:%S")), key=key)
        # DataTable only appends; sorting on the sequence number puts the newest first.
        table.sort("seq", key=lambda cell: int(cell.plain), reverse=True)
        table.move_cursor(row=0)

    # -- the row action ------------------------------------------------------------------
    @on(DataTable.RowSelected, "#returned")
    def _row_chosen(self, event: DataTable.RowSelected) -> None:
        self.action_work_order()

    def action_work_order(self) -> None:
        """Work Order for the highlighted returned item."""
        row = self.highlighted
        if row is None:
            self.banner.show_error("Return an item first: Work Order acts on a row of the returned list")
            return
        dialog = WorkOrderDialog(self.db.institution, row.barcode, row.title, in_hand=True)
        self.open_popup(dialog, partial(self.place_work_order, row))

    def place_work_order(self, row: Returned, form: WorkOrderForm | None) -> None:
        """Place the work order the pop-up asked for; the row's Next Step follows."""
        if form is None:
            return
        app = self.libdesk_app
        try:
            result = workorders.place_work_order(self.db, form.barcode, form.work_order_type, form.department,
                                                 operator=app.operator, note=form.note, in_hand=form.in_hand,
                                                 at=app.currently_at)
        except LibdeskError as exc:
            self.banner.show_error(exc.message, form.barcode)
            return
        self.banner.show_result(result, self.db.institution)
        headline, _ = describe_result(result, self.db.institution)
        row.next_step = headline if headline.startswith("WORK ORDER") else f"Work Order: {headline}"
        self.returned_table.update_cell(row.key, "next_step", Text(row.next_step))

    def desk_commands(self) -> Iterable[DeskCommand]:
        yield DeskCommand("Work Order for the highlighted returned item",
                          "Type, managing department, note, Do not pick from shelf (ctrl+w)", self.action_work_order)
        yield DeskCommand("In-house use: Off" if self.in_house else "In-house use: On",
                          "Scans count a use of the item in the building and change nothing else (ctrl+u)",
                          self.action_toggle_in_house)
        yield from self.slip_commands()

    @property
    def highlighted(self) -> Returned | None:
        """The returned item the list's cursor is on."""
        table = self.returned_table
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.returned.get(key or "")

    @property
    def returned_table(self) -> DataTable[Text]:
        return self.query_one("#returned", DataTable)

