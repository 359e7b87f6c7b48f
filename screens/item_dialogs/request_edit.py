"""Edit a request: :class:`RequestEditDialog` (note; a work order's department, same type).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Input, Label, Select, Static

from libdesk.institution import Institution
from screens.dialog import Dialog


@dataclass(frozen=True)
class RequestEdit:
    """The answers of Edit request: only what changed (None: leave it)."""

    request_id: int
    note: str | None
    department: str | None


class RequestEditDialog(Dialog[RequestEdit | None]):
    """Edit a request: its note; for a work order, its department (one of the same type)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="request-edit-cancel"),
        Binding("ctrl+s", "submit", "Save", id="request-edit-save"),
    ]

    AUTO_FOCUS = "#edit-note"

    def __init__(self, inst: Institution, request_id: int, *, note: str, work_order_type: str | None,
                 department: str | None, summary: str = "") -> None:
        super().__init__(id="request-edit")
        self.inst = inst
        self.request_id = request_id
        self.note = note
        self.work_order_type = work_order_type
        """None for a patron request (it has a pickup desk, not a department)."""
        self.department = department
        self.summary = summary
        """Which request, in words ("Technical Services work order · W09 · Title of W09")."""

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog"):
            yield Label(f"Edit request {self.request_id}", classes="dialog-title", markup=False)
            if self.summary:
                yield Static(self.summary, classes="dialog-note", markup=False)
            yield Label("Note", classes="field-label")
            yield Input(self.note, id="edit-note", select_on_focus=False)
            if self.work_order_type:
                choices = [(f"{d.name} ({d.code})", d.code) for d in self.inst.departments_of_type(self.work_order_type)]
                codes = {code for _, code in choices}
                wo = self.inst.work_order_types.get(self.work_order_type)
                yield Label(f"Managing department ({wo.name if wo else self.work_order_type} only)", markup=False,
                            classes="field-label")
                yield Select(choices, id="edit-department", allow_blank=False,
                             value=self.department if self.department in codes else choices[0][1])
            yield Static("", id="edit-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", variant="primary", id="save")
                yield Button("Cancel", id="cancel")
            yield Static("Tab next field · Enter in the note or ctrl+s saves · Esc cancels", classes="dialog-keys")

    @on(Input.Submitted, "#edit-note")
    @on(Button.Pressed, "#save")
    def _save_pressed(self) -> None:
        self.action_submit()

    def action_submit(self) -> None:
        """Hand back what changed; nothing changed is said, not submitted."""
        note = self.query_one("#edit-note", Input).value.strip()
        department: str | None = None
        if self.work_order_type:
            value = self.query_one("#edit-department", Select).value
            department = value if isinstance(value, str) and value != self.department else None
        new_note = note if note != (self.note or "") else None
        if new_note is None and department is None:
            self.query_one("#edit-error", Static).update("Nothing changed: edit the note or the department, or Esc.")
            return
        self.dismiss(RequestEdit(self.request_id, new_note, department))
