"""One borrowing request (:class:`BorrowingDetailScreen`): its fields, rota and current partner,
general messages and notes (Dismiss), and its audit trail, partner actions marked as the
partner's."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import (
    DataTable,
    Label,
    Static,
)

from libdesk import borrowing
from libdesk.db import Database
from libdesk.errors import LibdeskError
from screens.base import DeskCommand
from screens.borrowing_actions import RequestActionsScreen
from screens.borrowing_menu import partner_names
from screens.item_dialogs import (
    action_words,
)
from screens.widgets import DeskTable, DeskFooter, DeskHeader
from screens.widgets.result_line import ResultLine


class BorrowingDetailScreen(RequestActionsScreen):
    """One borrowing request: its fields, rota and current partner, general messages and notes
    (Dismiss), and its audit trail, partner actions marked as the partner's."""


    TITLE = "Borrowing Request"
    AUTO_FOCUS = "#bdetail-messages"
    SUPPORTS: ClassVar[frozenset[str]] = frozenset({"refresh"})
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", show=False, id="bdetail-back"),
        Binding("delete", "cancel_request", "Cancel request", show=False, id="bdetail-cancel"),
    ]
    HELP = """\
One borrowing request: its citation, patron and pickup desk, the **rota** (the partners asked
in turn; the current one in brackets), its item, its **general messages and notes**, and its
**audit trail**, oldest first. Actions a partner took (recorded by staff for them) are marked
**Partner**.

**Enter** opens the request's actions (on a message: Dismiss it first). **Del** cancels.
Esc goes back.
"""

    def __init__(self, db: Database, borrowing_id: int) -> None:
        super().__init__(id="borrowing-detail")
        self.db = db
        """The database the engine works on."""
        self.borrowing_id = borrowing_id
        """The request shown."""
        self.request: dict[str, Any] = {}
        """The request as :func:`libdesk.borrowing.show` gives it."""
        self.history: list[dict[str, Any]] = []
        """Its audit trail, oldest first (:func:`libdesk.borrowing.borrowing_history`)."""

    def compose(self) -> ComposeResult:
        yield DeskHeader()
        with Vertical(id="bdetail-body"):
            yield Static(id="bdetail-fields")
            yield Label("General messages and notes", id="bdetail-messages-title", classes="bdetail-title")
            yield DeskTable(id="bdetail-messages", flex=("text",), cursor_type="row", zebra_stripes=True)
            yield Label("Audit trail", id="bdetail-history-title", classes="bdetail-title")
            yield DeskTable(id="bdetail-history", flex=("change",), cursor_type="row", zebra_stripes=True)
            yield Static("", id="bdetail-event", markup=False)
            yield ResultLine(id="bdetail-result")
            yield Static("Enter actions (on a message: Dismiss) · Del Cancel · Tab · Esc back", classes="list-keys")
        yield DeskFooter()

    def on_mount(self) -> None:
        messages = self.messages_table
        messages.add_column("#", key="id", width=3)
        messages.add_column("Kind", key="kind", width=15)
        messages.add_column("From", key="from", width=9)
        messages.add_column("At", key="at", width=10)
        messages.add_column("State", key="state", width=19)
        messages.add_column("Text", key="text", width=46)
        history = self.history_table
        history.add_column("When", key="at", width=16)
        history.add_column("By", key="by", width=7)
        history.add_column("Operator", key="operator", width=8)
        history.add_column("Place", key="place", width=8)
        history.add_column("Action", key="action", width=20)
        history.add_column("Barcode", key="barcode", width=8)
        history.add_column("Change", key="change", width=32)  # in full on the line under the list
        self.load()
        if not self.messages_table.row_count:
            self.history_table.focus()

    def on_screen_resume(self) -> None:
        self.load()

    def refresh_list(self) -> None:
        """F5: read the request again."""
        self.load()

    def action_finished(self) -> None:
        self.load()

    def load(self) -> None:
        """Read the request and its history (a few indexed queries) and show them."""
        try:
            self.request = borrowing.show(self.db, self.borrowing_id)
            self.history = borrowing.borrowing_history(self.db, self.borrowing_id)
        except LibdeskError as exc:
            self.result_line.error(exc.message)
            return
        self.title = f"Borrowing Request {self.borrowing_id}"
        self._show_fields()
        self._show_messages()
        self._show_history()
        self._show_line()

    def _show_fields(self) -> None:
        # Text, not markup: titles, identifiers and codes may hold brackets.
        b = self.request
        inst = self.db.institution
        since = (b["status_at"] or "").replace("T", " ")[:16]
        cancel = f" · cancelled by {b['cancel_by']}" if b["cancel_by"] else ""
        citation = b["title"] + (f" / {b['author']}" if b["author"] else "") + (
            f" [{b['identifier']}]" if b["identifier"] else "")
        rota: list[Any] = []
        for n, code in enumerate(b["rota"]):
            if n:
                rota.append(" → ")
            current = n == b["current_partner_index"] and b["current_partner"]
            rota.append((f"[{code}]", "bold reverse") if current else code)
        if not rota:
            rota = ["(none yet: the locate forms it)" if b["status"] == borrowing.LOCATE_IN_PROCESS else "(none)"]
        partner = (partner_names(inst, [b["current_partner"]]), "bold") if b["current_partner"] else "none"
        if b["item"]:
            item = f"{b['item']['barcode']}: {b['item']['process_name']}"
        elif b["item_barcode"]:
            item = b["item_barcode"] + (" (removed from the catalogue)" if b["item_removed"] else " (not received here)")
        else:
            item = "none yet"
        text = Text.assemble(
            (f"Request {b['id']} · {b['status_name']}", "bold"), f" since {since}{cancel}\n",
            citation, "\n",
            "Patron ", (b["patron"], "bold"),
            f" · pickup {inst.place_name(b['pickup'])} ({b['pickup']}) · created by {b['creator']} on "
            f"{(b['created_at'] or '')[:10]}\n",
            "Rota ", *rota, " · current partner ", partner, "\n",
            f"Item {item}\n",
            f"Next: {', '.join(b['allowed']) or 'nothing (final)'}",
        )
        self.query_one("#bdetail-fields", Static).update(text)

    def _show_messages(self) -> None:
        table = self.messages_table
        keep, row_index = self.highlighted_key(table), table.cursor_row
        table.clear()
        warning = self.theme_style("text-warning", bold=True)
        messages = self.request["messages"]
        for m in messages:
            general = m["kind"] == "message"
            state = Text("ACTIVE", style=warning) if m["active"] else Text(
                f"dismissed by {m['dismissed_by']}")
            table.add_row(Text(str(m["id"]), justify="right"),
                          Text("General message" if general else "Note"),
                          Text((m["partner"] or "") if general else m["recorded_by"]),
                          Text((m["at"] or "")[:10]), state, Text(m["text"]), key=str(m["id"]))
        self.move_to_key(table, keep, default=row_index)
        active = sum(1 for m in messages if m["active"])
        title = ("General messages and notes: none" if not messages else
                 f"General messages and notes: {len(messages)}, {active} active · Enter: Dismiss")
        self.query_one("#bdetail-messages-title", Label).update(title)
        table.display = bool(messages)

    def _show_history(self) -> None:
        table = self.history_table
        keep = self.highlighted_key(table)
        table.clear()
        accent = self.theme_style("text-accent", bold=True)
        for ev in self.history:
            theirs = ev["action"].startswith("partner_")
            by = Text("Partner", style=accent) if theirs else Text("Staff")
            action = Text(("◆ " if theirs else "") + action_words(ev["action"]), style=accent if theirs else "")
            change = ev["change"]
            table.add_row(Text((ev["at"] or "").replace("T", " ")[:16]), by, Text(ev["operator"] or ""),
                          Text(ev["place"] or ""), action, Text(ev["barcode"] or ""),
                          Text(" · ".join(p for p in (ev["message"] or "", change) if p)), key=str(ev["id"]))
        if keep is not None:
            self.move_to_key(table, keep)
        elif table.row_count:
            table.move_cursor(row=table.row_count - 1, animate=False)
        partners = sum(1 for ev in self.history if ev["action"].startswith("partner_"))
        theirs = f" · ◆ {partners} recorded for the partner" if partners else ""
        self.query_one("#bdetail-history-title", Label).update(
            f"Audit trail: {len(self.history)} events, oldest first{theirs}")

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_line()

    def on_descendant_focus(self) -> None:
        self._show_line()

    def _show_line(self) -> None:
        """Under the lists, in full: the highlighted message, or event, of the list with the focus."""
        line = ""
        if self.focused is self.messages_table:
            key = self.highlighted_key(self.messages_table)
            m = next((m for m in self.request.get("messages", []) if str(m["id"]) == key), None)
            if m is not None:
                who = f"General message from {m['partner']}" if m["kind"] == "message" else f"Note by {m['recorded_by']}"
                line = f"{who}, {(m['at'] or '')[:10]}: {m['text']}"
        else:
            key = self.highlighted_key(self.history_table)
            ev = next((e for e in self.history if str(e["id"]) == key), None)
            if ev is not None:
                change = ev["change"]
                line = " · ".join(p for p in (ev["message"] or "", change) if p)
        self.query_one("#bdetail-event", Static).update(line)

    @on(DataTable.RowSelected, "#bdetail-messages")
    def _message_chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        key = event.row_key.value
        message = next((m for m in self.request.get("messages", []) if str(m["id"]) == key), None)
        first = f"dismiss:{key}" if message is not None and message["active"] else None
        self.open_actions(self.borrowing_id, first=first, details=False,
                          hint=message["text"] if message is not None else "")

    @on(DataTable.RowSelected, "#bdetail-history")
    def _event_chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.open_actions(self.borrowing_id, details=False)

    def action_cancel_request(self) -> None:
        """Del: cancel the request (by the patron or by staff)."""
        if self.request:
            self.do_request_action("cancel", self.request)

    def action_back(self) -> None:
        """Esc: back to the list."""
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    def show_report(self) -> None:
        self.result_line.error("The report is on the Borrowing Requests screen (Esc, then its last tab)")

    def desk_commands(self) -> Iterable[DeskCommand]:
        yield DeskCommand("Actions of this borrowing request", "What its status allows (Enter)",
                          partial(self.open_actions, self.borrowing_id, details=False))
        yield DeskCommand("Cancel this borrowing request", "By the patron or by staff (Del)",
                          self.action_cancel_request)

    # -- accessors ---------------------------------------------------------------------------
    @property
    def messages_table(self) -> DataTable[Text]:
        return self.query_one("#bdetail-messages", DataTable)

    @property
    def history_table(self) -> DataTable[Text]:
        return self.query_one("#bdetail-history", DataTable)
