"""One line of text: :class:`PromptDialog` (an expiry date, an export file name).
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, Label, Static

from screens.dialog import Dialog


class PromptDialog(Dialog[str | None]):
    """One line of text; Enter gives it back (trimmed), Esc gives None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="prompt-cancel"),
    ]

    AUTO_FOCUS = "#answer"

    def __init__(self, title: str, label: str, value: str = "", *, placeholder: str = "", note: str = "",
                 error: str = "", id: str | None = None) -> None:
        super().__init__(id=id)
        self.question, self.label, self.value = title, label, value
        self.placeholder = placeholder
        self.note = note
        """A line under the field (the format, what happens)."""
        self.error = error
        """Shown in red: why the last answer was refused."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question, classes="dialog-title", markup=False)
            yield Label(self.label, markup=False, classes="field-label")
            yield Input(self.value, placeholder=self.placeholder, id="answer", select_on_focus=False)
            if self.note:
                yield Static(self.note, classes="dialog-note", markup=False)
            yield Static(self.error, classes="dialog-error", id="prompt-error", markup=False)
            yield Static("Enter: OK · Esc: cancel", classes="dialog-keys")

    @on(Input.Submitted, "#answer")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if not text:
            self.query_one("#prompt-error", Static).update("Type something, or Esc to cancel.")
            return
        self.dismiss(text)
