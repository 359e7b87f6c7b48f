"""Pick From Shelf (Alma: Fulfillment > Pick From Shelf), SPEC L5, seed 000.

The pick list of the library of Currently At (:func:`libdesk.circulation.picklist`): the
requests and not-in-hand work orders whose item waits on the shelf to be pulled, in shelf
(call number) order; the remote-storage requests (Waiting for Remote Storage) listed
separately. A remote-storage desk (the Depository) sees its own locations' items.

Scan each item as it comes off the shelf: the scan is a Scan In at the desk
(:func:`libdesk.scan.scan_in` with Currently At), which sends the picked item on (hold
shelf here, or In Transit to the pickup desk or the work order's department); the banner says
where, big, and the list is read again. Only items on the list are scanned here: anything
else in hand goes to Scan In Items (so a loaned item is never discharged by mistake).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.markup import escape
from textual.message import Message
from textual.widgets import DataTable, Label, Static
from textual.worker import get_current_worker

from libdesk import circulation, scan
from libdesk.db import Database
from libdesk.errors import LibdeskError
from screens.base import DeskCommand
from screens.list_base import ListScreen
from screens.scan_screen import ScanScreen
from screens.widgets import DeskTable
from screens.widgets.result_line import ResultLine

COLUMNS: list[tuple[str, str, int | None]] = [
    ("call_number", "Call number", 11), ("barcode", "Barcode", 14), ("title", "Title", 18),
    ("location", "Location", 10), ("request", "Request", 18), ("destination", "Send to", 9),
    ("placed_at", "Placed", 10), ("note", "Note", 12),
]
"""(key, header, width) of both lists."""


class PickListScreen(ScanScreen, ListScreen):
    """Pick From Shelf: the library's pick list; a scan marks an item picked and sends it on."""

    @dataclass
    class Loaded(Message, bubble=False):
        """The pick list was read (posted by the load worker)."""

        generation: int
        library: str
        shelf: list[dict[str, Any]]
        """Pickup From Shelf, in shelf order."""
        remote: list[dict[str, Any]]
        """Waiting for Remote Storage."""
        error: str | None = None

    TITLE = "Pick From Shelf"
    BODY_ID = "pick-body"
    PLACE_LINE = "pick-place"
    SCAN_PROMPT = "Scan each item you pull from the shelf, then Enter"
    READY = "Ready: scan an item from the list"
    SUPPORTS: ClassVar[frozenset[str]] = frozenset({"refresh"})
    HELP = """\
The requests waiting to be pulled from your library's shelves, in **shelf order** (call
number), and, separately, those **waiting for remote storage**. The library is the one of
your **Currently At** (F10).

Take each item off the shelf and **scan** it at your circulation desk: it is sent on at once
(the banner says where: the hold shelf here, or in transit to the pickup desk or to the work
order's department) and drops off the list. Only items on the list are scanned here; an item
in hand for another reason goes to Scan In Items (F2).
"""

    def __init__(self, db: Database) -> None:
        super().__init__(id="pick-list")
        self.db = db
        """The database the engine works on."""
        self.library: str | None = None
        """The library whose shelves the list covers."""
        self.listed: dict[str, dict[str, Any]] = {}
        """Every request on the list, by barcode."""
        self._generation = 0

    def compose_above(self) -> ComposeResult:
        yield Static(id="pick-place")

    def compose_below(self) -> ComposeResult:
        yield Label("Pick From Shelf", id="pick-shelf-title", classes="pick-title")
        yield DeskTable(id="pick-shelf", flex=("title",), cursor_type="none", zebra_stripes=True)
        yield Label("Waiting for Remote Storage", id="pick-remote-title", classes="pick-title")
        yield DeskTable(id="pick-remote", flex=("title",), cursor_type="none", zebra_stripes=True)
        yield ResultLine(id="pick-result")

    def on_mount(self) -> None:
        for table in (self.shelf_table, self.remote_table):
            # The lists never take the focus: the scan field keeps it (the wheel still scrolls).
            table.can_focus = False
            for key, header, width in COLUMNS:
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
        if place is None:
            self.show_place("Set Currently At (F10): the pick list is your library's", warning=True)
            return
        inst = self.db.institution
        library = inst.libraries[place.library]
        if place.is_desk:
            self.show_place(f"Pick list of [b]{escape(library.name)}[/b] ({escape(library.code)}) · scanning at "
                            f"{escape(place.name)} ({escape(place.code)})", warning=False)
        else:
            self.show_place(f"Pick list of {escape(library.name)} ({escape(library.code)}). Scanning picked items "
                            "needs a circulation desk: press F10 to choose one", warning=True)

    # -- loading -----------------------------------------------------------------------------
    def refresh_list(self) -> None:
        """F5: read the pick list again."""
        self.reload()

    def reload(self) -> None:
        """Read the pick list of the library of Currently At, in a worker."""
        place = self.libdesk_app.place
        self._generation += 1
        if place is None:
            self.library = None
            self._fill([], [])
            return
        self.library = place.library
        self._load(self._generation, place.library)

    @work(thread=True, exclusive=True, group="pick-list-load", exit_on_error=False, description="Pick From Shelf")
    def _load(self, generation: int, library: str) -> None:
        try:
            out = circulation.picklist(self.db, library)
        except LibdeskError as exc:
            self.post_message(self.Loaded(generation, library, [], [], exc.message))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(self.Loaded(generation, library, out["pick_from_shelf"],
                                          out["waiting_for_remote_storage"]))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        if message.generation != self._generation:
            return
        if message.error:
            self.result_line.error(message.error)
            return
        self._fill(message.shelf, message.remote)

    def _fill(self, shelf: list[dict[str, Any]], remote: list[dict[str, Any]]) -> None:
        self.listed = {}
        for table, rows in ((self.shelf_table, shelf), (self.remote_table, remote)):
            table.clear()
            for row in rows:
                self.listed.setdefault(row["barcode"], row)
                table.add_row(*self._cells(row), key=str(row["id"]))
        library = self.db.institution.libraries.get(self.library or "")
        name = f" · {library.name}" if library else ""
        self.query_one("#pick-shelf-title", Label).update(
            f"Pick From Shelf{name}: {len(shelf)} item{'s' if len(shelf) != 1 else ''}, in shelf order")
        self.query_one("#pick-remote-title", Label).update(
            f"Waiting for Remote Storage: {len(remote)} item{'s' if len(remote) != 1 else ''}")

    def _cells(self, row: dict[str, Any]) -> list[Text]:
        if row["kind"] == "patron":
            request = f"Patron {row['patron']}"
        else:
            request = f"Work order ({row['work_order_type']})"
        return [Text(row["call_number"] or ""), Text(row["barcode"]), Text(row["title"] or ""),
                Text(row["location"] or ""), Text(request), Text(row["destination"] or ""),
                Text((row["placed_at"] or "")[:10]), Text(row["note"] or "")]

    # -- scanning ----------------------------------------------------------------------------
    def handle_scan(self, barcode: str) -> None:
        """An item pulled from the shelf: Scan In at the desk sends it on (one transaction)."""
        app = self.libdesk_app
        place = app.place
        if place is None or not place.is_desk:
            self.banner.show_error("Scan picked items at a circulation desk: press F10 to choose yours", barcode)
            return
        if barcode not in self.listed:
            self.banner.show_error(f"{barcode} is not on this pick list (F5 reads it again); "
                                   "an item in hand for another reason goes to Scan In Items (F2)", barcode)
            return
        at = place.code
        if self.scan_engine(barcode, lambda: scan.scan_in(self.db, barcode, at=at, operator=app.operator)) is not None:
            self.reload()

    def desk_commands(self) -> Iterable[DeskCommand]:
        yield self.clear_banner_command()

    # -- accessors ---------------------------------------------------------------------------
    @property
    def shelf_table(self) -> DataTable[Text]:
        return self.query_one("#pick-shelf", DataTable)

    @property
    def remote_table(self) -> DataTable[Text]:
        return self.query_one("#pick-remote", DataTable)
