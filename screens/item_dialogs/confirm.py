"""Yes / no: :class:`ConfirmDialog`, the safe answer focused first.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Label, Static

from screens.dialog import Dialog


class ConfirmDialog(Dialog[bool]):
    """A question with two answers; the safe one (No) has the focus; Esc is No."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "answer(False)", "No", id="confirm-no"),
        Binding("left,up", "app.focus_previous", "Previous button", show=False, id="confirm-previous"),
        Binding("right,down", "app.focus_next", "Next button", show=False, id="confirm-next"),
    ]

    AUTO_FOCUS = "#no"

    def __init__(self, title: str, text: str, *, yes: str = "Yes", no: str = "No", danger: bool = False,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.question = title
        """The question, e.g. "Cancel request 12?"."""
        self.text = text
        """What answering yes does, in full."""
        self.yes_label, self.no_label = yes, no
        self.danger = danger
        """Whether yes is hard to undo (red border, red button)."""

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog" + (" -danger" if self.danger else "")):
            yield Label(self.question, classes="dialog-title", markup=False)
            yield Static(self.text, classes="dialog-body", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.no_label, id="no", variant="primary" if self.danger else "default")
                yield Button(self.yes_label, id="yes", variant="error" if self.danger else "primary")
            yield Static("←→ choose · Enter answers · Esc: no", classes="dialog-keys")

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
