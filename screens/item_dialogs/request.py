"""Request (patron, pickup desk): :class:`RequestDialog`, the row action of Physical Items.
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
class RequestForm:
    """The answers of the Request pop-up."""

    barcode: str
    patron: str
    pickup: str
    """The pickup desk's code."""


class RequestDialog(Dialog[RequestForm | None]):
    """Request: which patron, picked up at which circulation desk."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="request-cancel"),
        Binding("ctrl+s", "submit", "Submit", id="request-submit"),
    ]

    AUTO_FOCUS = "#patron"

    def __init__(self, inst: Institution, barcode: str, title: str = "", *, pickup: str | None = None) -> None:
        super().__init__(id="request")
        self.inst = inst
        self.barcode = barcode
        self.item_title = title
        """Shown so the worker checks it is the right book."""
        self.pickup = pickup
        """The desk offered first (Currently At when it is a desk, else the item's home desk)."""

    def compose(self) -> ComposeResult:
        desks = [(f"{p.name} ({p.code})", p.code) for p in self.inst.places.values() if p.is_desk]
        known = {code for _, code in desks}
        with VerticalScroll(classes="dialog"):
            yield Label(f"Request · {self.barcode}" + (f" · {self.item_title}" if self.item_title else ""),
                        classes="dialog-title", markup=False)
            yield Label("Patron", classes="field-label")
            yield Input(placeholder="Patron id, e.g. P0001", id="patron")
            yield Label("Pickup location", classes="field-label")
            yield Select(desks, prompt="Choose the pickup desk", id="pickup",
                         value=self.pickup if self.pickup in known else Select.NULL)
            yield Static("", id="request-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Submit", variant="primary", id="submit")
                yield Button("Cancel", id="cancel")
            yield Static("Tab next field · Enter in the patron field or ctrl+s submits · Esc cancels",
                         classes="dialog-keys")

    @on(Input.Submitted, "#patron")
    @on(Button.Pressed, "#submit")
    def _submit_pressed(self) -> None:
        self.action_submit()

    def action_submit(self) -> None:
        """Hand the answers back; both are required (the engine checks the patron exists)."""
        patron = self.query_one("#patron", Input).value.strip()
        pickup = self.query_one("#pickup", Select).value
        error = self.query_one("#request-error", Static)
        if not patron:
            error.update("Type the patron's id.")
            self.query_one("#patron").focus()
            return
        if not isinstance(pickup, str):
            error.update("Choose the pickup desk.")
            self.query_one("#pickup").focus()
            return
        self.dismiss(RequestForm(self.barcode, patron, pickup))
