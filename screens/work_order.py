"""The row action Work Order (Alma's "Work Order" from a row's ellipsis menu, SPEC W11).

A pop-up asking for the Process Type (work-order type), the Managing Department (only the
departments of that type are offered), a note, and "Do not pick from shelf" (ticked when the
item is in hand). It only collects the answers: the screen that opened it calls
:func:`libdesk.workorders.place_work_order`, which validates them and decides what happens.
Return Items opens it now; Physical Items search will open the same dialog.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from libdesk.institution import Institution
from screens.dialog import Dialog


@dataclass(frozen=True)
class WorkOrderForm:
    """The answers of the Work Order pop-up."""

    barcode: str
    work_order_type: str
    department: str
    note: str
    in_hand: bool
    """"Do not pick from shelf": the item is in hand and goes to the department at once."""


class WorkOrderDialog(Dialog[WorkOrderForm | None]):
    """Work Order: type, department of that type, note, Do not pick from shelf."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="work-order-cancel"),
        Binding("ctrl+s", "submit", "Submit", id="work-order-submit"),
    ]

    AUTO_FOCUS = "#type"

    def __init__(self, inst: Institution, barcode: str, title: str = "", *, in_hand: bool = True,
                 work_order_type: str | None = None) -> None:
        super().__init__(id="work-order")
        self.inst = inst
        self.barcode = barcode
        self.item_title = title
        """The item's title, shown so the worker checks it is the right book."""
        self.in_hand = in_hand
        self.initial_type = work_order_type

    def compose(self) -> ComposeResult:
        types = [(wo.name, wo.code) for wo in self.inst.work_order_types.values()]
        with VerticalScroll(classes="dialog"):
            yield Label(f"Work Order · {self.barcode}" + (f" · {self.item_title}" if self.item_title else ""),
                        classes="dialog-title", markup=False)
            yield Label("Process type", classes="field-label")
            yield Select(types, prompt="Choose a work-order type", id="type", compact=True,
                         value=self.initial_type if self.initial_type else Select.NULL)
            yield Label("Managing department", classes="field-label")
            yield Select([], prompt="Choose the type first", id="department", compact=True)
            yield Label("Note (what needs doing)", classes="field-label")
            yield Input(placeholder="e.g. spine detached; check edition", id="note", compact=True)
            yield Checkbox("Do not pick from shelf (the item is in hand)", value=self.in_hand, id="in-hand",
                           compact=True)
            yield Static("", id="work-order-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Submit", variant="primary", id="submit", compact=True)
                yield Button("Cancel", id="cancel", compact=True)
            yield Static("Tab next field · Enter opens a list (type to find) · ctrl+s or Enter in the note submits · "
                         "Esc cancels", classes="dialog-keys")

    def on_mount(self) -> None:
        if self.initial_type:
            self._offer_departments(self.initial_type)

    @on(Select.Changed, "#type")
    def _type_changed(self, event: Select.Changed) -> None:
        self._offer_departments(event.value if isinstance(event.value, str) else None)

    def _offer_departments(self, type_code: str | None) -> None:
        departments = self.query_one("#department", Select)
        if type_code is None:
            departments.prompt = "Choose the type first"
            departments.set_options([])
            return
        choices = [(f"{d.name} ({d.code})", d.code) for d in self.inst.departments_of_type(type_code)]
        departments.prompt = "Choose the managing department"
        departments.set_options(choices)
        if len(choices) == 1:
            departments.value = choices[0][1]

    @on(Input.Submitted, "#note")
    @on(Button.Pressed, "#submit")
    def _submit_pressed(self) -> None:
        self.action_submit()

    def action_submit(self) -> None:
        """Hand the answers back; type and department are required."""
        type_value = self.query_one("#type", Select).value
        dept_value = self.query_one("#department", Select).value
        error = self.query_one("#work-order-error", Static)
        if not isinstance(type_value, str):
            error.update("Choose a work-order type.")
            self.query_one("#type").focus()
            return
        if not isinstance(dept_value, str):
            error.update("Choose the managing department.")
            self.query_one("#department").focus()
            return
        self.dismiss(WorkOrderForm(
            barcode=self.barcode,
            work_order_type=type_value,
            department=dept_value,
            note=self.query_one("#note", Input).value.strip(),
            in_hand=self.query_one("#in-hand", Checkbox).value,
        ))
