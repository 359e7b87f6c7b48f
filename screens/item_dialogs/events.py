"""A request's Audit Trail: :class:`EventsDialog`, and the words for an event's action and change.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Label, Static

from libdesk.core import action_words, describe_change  # the engine's words: one place
from screens.dialog import Dialog


class EventsDialog(Dialog[None]):
    """A list of history events (a request's Audit Trail): when, who, where, what changed."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter", "close", "Close", id="events-close"),
    ]

    AUTO_FOCUS = "DataTable"

    SCAN_CLOSES = True
    """A scan closes the audit trail and goes to the screen below (see screens.base.NoticePopup)."""

    def __init__(self, title: str, events: Sequence[dict[str, Any]], *, note: str = "") -> None:
        super().__init__(id="events")
        self.events_title = title
        self.events = list(events)
        """Events as :func:`libdesk.core.event_view` gives them, oldest first."""
        self.note = note

    def compose(self) -> ComposeResult:
        with Vertical(classes="events-dialog"):
            yield Label(self.events_title, classes="dialog-title", markup=False)
            if self.note:
                yield Static(self.note, classes="dialog-note", markup=False)
            yield DataTable(cursor_type="row", zebra_stripes=True)
            yield Static("", id="event-detail", markup=False)
            yield Static("↑↓ move · Enter or Esc closes", classes="dialog-keys")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("When", width=16)
        table.add_column("Operator", width=8)
        table.add_column("Place", width=9)
        table.add_column("Action", width=20)
        table.add_column("Change")
        for ev in self.events:
            change = describe_change(ev.get("before"), ev.get("after"))
            message = ev.get("message") or ""
            table.add_row(Text((ev.get("at") or "").replace("T", " ")[:16]), Text(ev.get("operator") or ""),
                          Text(ev.get("place") or ""), Text(action_words(ev.get("action") or "")),
                          Text(" · ".join(p for p in (change, message) if p)), key=str(ev.get("id")))
        if table.row_count:
            table.move_cursor(row=table.row_count - 1)

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        # The Change column is cut at the edge: the highlighted event's change in full.
        ev = next((e for e in self.events if str(e.get("id")) == event.row_key.value), None)
        if ev is not None:
            change = describe_change(ev.get("before"), ev.get("after"))
            self.query_one("#event-detail", Static).update(
                " · ".join(p for p in (change, ev.get("message") or "") if p))

    def action_close(self) -> None:
        self.dismiss(None)
