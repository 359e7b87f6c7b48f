"""The Physical Item Editor: :class:`ItemEditorDialog` (work-order type and department), with
Alma's warning that it skips the status and the transit steps (SPEC W12).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Label, Select, Static

from libdesk.institution import Institution
from screens.dialog import Dialog


EDITOR_WARNING = (
    "The Physical Item Editor sets the process type and department directly. It cannot set a "
    "Status (which affects Analytics) and it bypasses the transit steps: the item is at once "
    "\"at\" the department. Prefer Scan In Items (item in hand) or the Work Order row action."
)
"""Alma's warning, as the seed gives it (SPEC W12)."""


@dataclass(frozen=True)
class EditorForm:
    """The answers of the Physical Item Editor."""

    barcode: str
    work_order_type: str
    department: str


class ItemEditorDialog(Dialog[EditorForm | None]):
    """Physical Item Editor: the item's fields, and Process Type + Department to set."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="editor-cancel"),
        Binding("ctrl+s", "submit", "Save item", id="editor-save"),
    ]

    AUTO_FOCUS = "#editor-type"

    def __init__(self, inst: Institution, item: dict[str, Any]) -> None:
        super().__init__(id="item-editor")
        self.inst = inst
        self.item = item
        """The item as :func:`libdesk.queries.item_show` gives it (or a search row)."""

    def compose(self) -> ComposeResult:
        item = self.item
        types = [(wo.name, wo.code) for wo in self.inst.work_order_types.values()]
        current_type = item.get("work_order_type")
        fields = [
            f"Title: {item.get('title') or ''}",
            f"Call number: {item.get('call_number') or ''} · Library: {item.get('library') or ''}",
            f"Process: {item.get('process_name') or item.get('process') or 'In place'}",
        ]
        with VerticalScroll(classes="dialog"):
            yield Label(f"Physical Item Editor · {item['barcode']}", classes="dialog-title", markup=False)
            yield Static("\n".join(fields), classes="editor-fields", markup=False)
            yield Static("⚠ " + EDITOR_WARNING, classes="dialog-warning", id="editor-warning", markup=False)
            yield Label("Process type (work-order type)", classes="field-label")
            yield Select(types, prompt="Choose a work-order type", id="editor-type",
                         value=current_type if current_type in self.inst.work_order_types else Select.NULL)
            yield Label("Department", classes="field-label")
            yield Select([], prompt="Choose the type first", id="editor-department")
            yield Static("", id="editor-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save item", variant="primary", id="save")
                yield Button("Cancel", id="cancel")
            yield Static("Tab next field · ctrl+s saves · Esc cancels (nothing changes)", classes="dialog-keys")

    def on_mount(self) -> None:
        current_type = self.item.get("work_order_type")
        if current_type in self.inst.work_order_types:
            self._offer_departments(current_type, self.item.get("department"))

    @on(Select.Changed, "#editor-type")
    def _type_changed(self, event: Select.Changed) -> None:
        type_code = event.value if isinstance(event.value, str) else None
        # Back to the item's own type: offer its own department again.
        current = self.item.get("department") if type_code == self.item.get("work_order_type") else None
        self._offer_departments(type_code, current)

    def _offer_departments(self, type_code: str | None, current: str | None = None) -> None:
        departments = self.query_one("#editor-department", Select)
        if type_code is None:
            departments.prompt = "Choose the type first"
            departments.set_options([])
            return
        departments.prompt = "Choose the department"
        choices = [(f"{d.name} ({d.code})", d.code) for d in self.inst.departments_of_type(type_code)]
        departments.set_options(choices)
        codes = [code for _, code in choices]
        if current in codes:
            departments.value = current
        elif len(choices) == 1:
            departments.value = choices[0][1]

    @on(Button.Pressed, "#save")
    def _save_pressed(self) -> None:
        self.action_submit()

    def action_submit(self) -> None:
        """Hand the answers back; type and department are required."""
        type_value = self.query_one("#editor-type", Select).value
        dept_value = self.query_one("#editor-department", Select).value
        error = self.query_one("#editor-error", Static)
        if not isinstance(type_value, str):
            error.update("Choose a work-order type.")
            self.query_one("#editor-type").focus()
            return
        if not isinstance(dept_value, str):
            error.update("Choose the department.")
            self.query_one("#editor-department").focus()
            return
        self.dismiss(EditorForm(self.item["barcode"], type_value, dept_value))
