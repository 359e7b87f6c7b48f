"""Hold Shelf (Alma: Fulfillment > Manage Hold Shelf / Expired Hold Shelf), issue 12 item 6.

The hold shelf of the desk of Currently At (:func:`libdesk.circulation.hold_shelf`): what
waits for whom, since when and until when (the pickup expiry, ``hold_shelf_days`` in the
institution file), borrowed (resource-sharing) items included; and, apart, the items nobody
will collect: expired on the shelf, or their request cancelled, each with the action that
clears it (next request, reshelve, send home, return to lender).

Clearing is :func:`libdesk.circulation.clear_hold_shelf`, one transaction with its history
events: scan the item as you take it off the shelf, or pick its row (↑/↓) and press ctrl+x.
The banner says where it goes next, big, and the lists are read again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.markup import escape
from textual.message import Message
from textual.widgets import DataTable, Label, Static
from textual.worker import get_current_worker

from libdesk import circulation
from libdesk.db import Database
from libdesk.errors import LibdeskError
from screens.base import DeskCommand
from screens.list_base import ListScreen
from screens.scan_screen import ScanScreen
from screens.widgets import DeskTable
from screens.widgets.result_line import ResultLine

WAITING_COLUMNS: list[tuple[str, str, int | None]] = [
    ("patron", "Patron", 8), ("barcode", "Barcode", 14), ("since", "Since", 10), ("until", "Until", 10),
    ("title", "Title", 24), ("from", "Borrowed from", 16), ("call_number", "Call number", 12),
]
"""(key, header, width) of the waiting list: who first, then which item, since and until."""

EXPIRED_COLUMNS: list[tuple[str, str, int | None]] = [
    ("barcode", "Barcode", 14), ("clear", "Clear by", 16), ("patron", "Patron", 8), ("until", "Until", 10),
    ("why", "Why", 9), ("title", "Title", 24), ("from", "Borrowed from", 16),
]
"""The expired list: the barcode and what clears it first (an 80-column terminal shows them)."""


class HoldShelfScreen(ScanScreen, ListScreen):
    """Hold Shelf: the desk's waiting items and those to take off the shelf."""

    @dataclass
    class Loaded(Message, bubble=False):
        """The hold shelf was read (posted by the load worker)."""

        generation: int
        rows: list[dict[str, Any]]
        error: str | None = None

    TITLE = "Hold Shelf"
    BODY_ID = "hold-body"
    PLACE_LINE = "hold-place"
    CURSOR_LIST = "hold-expired"  # ↑/↓ move the off-the-shelf list
    SCAN_PROMPT = "Scan an item you take off the shelf, then Enter"
    READY = "Ready: scan an expired item to clear it"
    SUPPORTS: ClassVar[frozenset[str]] = frozenset({"refresh"})
    BINDINGS: ClassVar[list[BindingType]] = [
        # priority: the scan field would take ctrl+x as "cut"; a barcode needs no such edit.
        Binding("ctrl+x", "clear_highlighted", "Clear", priority=True, id="hold-clear"),
        Binding("up", "cursor('up')", "Previous expired item", show=False, id="hold-cursor-up"),
        Binding("down", "cursor('down')", "Next expired item", show=False, id="hold-cursor-down"),
    ]
    HELP = """\
The **hold shelf** of your circulation desk (**Currently At**, F10): every item waiting for
a patron, with **since** when and **until** when it may be picked up (the institution's
pickup time), items borrowed from a partner library included.

Below it, the items to take **off the shelf**: not picked up in time (**expired**) or their
request cancelled. Each says what clears it: the **next request** in its queue, **reshelve**,
**send home** (another library's item), or **return to lender** (a borrowed item).

Take the item off the shelf and **scan** it, or pick its row with ↑/↓ and press **ctrl+x**:
the patron's request is closed as not picked up (the patron is told), and the banner says
where the item goes. An item still within its pickup time is not cleared: lend it instead.
"""

    def __init__(self, db: Database) -> None:
        super().__init__(id="hold-shelf")
        self.db = db
        """The database the engine works on."""
        self.desk_code: str | None = None
        """The desk whose shelf is listed."""
        self.rows: dict[str, dict[str, Any]] = {}
        """Every item on the shelf, by barcode."""
        self._generation = 0

    def compose_above(self) -> ComposeResult:
        yield Static(id="hold-place")

    def compose_below(self) -> ComposeResult:
        yield Label("Waiting for pickup", id="hold-waiting-title", classes="hold-title")
        yield DeskTable(id="hold-waiting", flex=("title",), cursor_type="none", zebra_stripes=True)
        yield Label("Off the shelf", id="hold-expired-title", classes="hold-title")
        yield DeskTable(id="hold-expired", flex=("title",), cursor_type="row", zebra_stripes=True)
        yield ResultLine(id="hold-result")

    def on_mount(self) -> None:
        for table, columns in ((self.waiting_table, WAITING_COLUMNS), (self.expired_table, EXPIRED_COLUMNS)):
            table.can_focus = False  # the scan field keeps the focus; ↑/↓ move the expired list
            for key, header, width in columns:
                table.add_column(header, key=key, width=width)
        self.watch(self.app, "currently_at", lambda _code: self._place_changed(), init=False)
        self._show_place()

    def on_screen_resume(self) -> None:
        self.reload()
        self.scan_field.focus()

    def _place_changed(self) -> None:
        self.banner.reset()
        self._show_place()
        self.reload()

    def _show_place(self) -> None:
        place = self.libdesk_app.place
        if place is None or not place.is_desk:
            self.show_place("The hold shelf is a circulation desk's: press F10 to choose yours", warning=True)
            return
        days = self.db.institution.policy.hold_shelf_days
        self.show_place(f"Hold shelf of [b]{escape(place.name)}[/b] ({escape(place.code)}) · pickup time "
                        f"{days} day{'s' if days != 1 else ''}", warning=False)

    # -- loading -----------------------------------------------------------------------------
    def refresh_list(self) -> None:
        """F5: read the hold shelf again."""
        self.reload()

    def reload(self) -> None:
        """Read the hold shelf of the desk of Currently At, in a worker."""
        place = self.libdesk_app.place
        self._generation += 1
        if place is None or not place.is_desk:
            self.desk_code = None
            self._fill([])
            return
        self.desk_code = place.code
        self._load(self._generation, place.code)

    @work(thread=True, exclusive=True, group="hold-shelf-load", exit_on_error=False, description="Hold Shelf")
    def _load(self, generation: int, desk: str) -> None:
        try:
            rows = circulation.hold_shelf(self.db, desk)
        except LibdeskError as exc:
            self.post_message(self.Loaded(generation, [], exc.message))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(self.Loaded(generation, rows))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        if message.generation != self._generation:
            return
        if message.error:
            self.result_line.error(message.error)
            return
        self._fill(message.rows)

    def _fill(self, rows: list[dict[str, Any]]) -> None:
        self.rows = {r["barcode"]: r for r in rows}
        waiting = [r for r in rows if r["clear"] is None]
        off = [r for r in rows if r["clear"] is not None]
        table = self.waiting_table
        table.clear()
        for r in waiting:
            table.add_row(Text(r["patron"] or ""), Text(r["barcode"]), Text((r["since"] or "")[:10]),
                          Text(r["until"] or ""), Text(r["title"] or ""), Text(r["borrowed_from"] or ""),
                          Text(r["call_number"] or ""), key=r["barcode"])
        table = self.expired_table
        kept = self.highlighted_key(table)
        table.clear()
        warn = self.theme_style("text-warning", bold=True)
        for r in off:
            why = Text("cancelled") if r["cancelled"] else Text("expired", style=warn)
            table.add_row(Text(r["barcode"]), Text(r["clear_name"] or "", style="bold"), Text(r["patron"] or ""),
                          Text(r["until"] or ""), why, Text(r["title"] or ""), Text(r["borrowed_from"] or ""),
                          key=r["barcode"])
        self.move_to_key(table, kept)
        self.query_one("#hold-waiting-title", Label).update(
            f"Waiting for pickup: {len(waiting)} item{'s' if len(waiting) != 1 else ''}")
        self.query_one("#hold-expired-title", Label).update(
            f"Off the shelf (expired, cancelled): {len(off)}" + (" · ↑↓ pick · ctrl+x or a scan clears" if off else ""))

    # -- clearing ----------------------------------------------------------------------------
    def handle_scan(self, barcode: str) -> None:
        """An item taken off the shelf: clear it (the engine refuses one still waiting)."""
        self.clear(barcode)

    def action_clear_highlighted(self) -> None:
        """ctrl+x: clear the highlighted item of the off-the-shelf list."""
        key = self.highlighted_key(self.expired_table)
        if key is None:
            self.banner.show_error("Nothing to clear: no item on this shelf is expired or cancelled")
            return
        self.clear(key)

    def clear(self, barcode: str) -> None:
        """Take ``barcode`` off the hold shelf through the engine; the banner says where it goes."""
        app = self.libdesk_app
        place = app.place
        if place is None or not place.is_desk:
            self.banner.show_error("Clear the hold shelf at a circulation desk: press F10 to choose yours", barcode)
            return
        at = place.code
        if self.scan_engine(barcode, lambda: circulation.clear_hold_shelf(self.db, barcode, at=at,
                                                                          operator=app.operator)) is not None:
            self.reload()

    def desk_commands(self) -> Iterable[DeskCommand]:
        yield DeskCommand("Clear the highlighted item off the hold shelf",
                          "Next request, reshelve, send home or return to lender (ctrl+x)",
                          self.action_clear_highlighted)

    # -- accessors ---------------------------------------------------------------------------
    @property
    def waiting_table(self) -> DataTable[Text]:
        return self.query_one("#hold-waiting", DataTable)

    @property
    def expired_table(self) -> DataTable[Text]:
        return self.query_one("#hold-expired", DataTable)
