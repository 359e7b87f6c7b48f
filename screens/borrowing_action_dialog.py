"""What one borrowing request action needs to know, if anything (:class:`ActionDialog`): a
desk (receive, return, scan in), a line of text (the lender's barcode, a rejection reason,
a partner's general message, a note), or nothing but "OK". As everywhere in the app, a
pop-up only collects an answer and hands it back typed; the screen that opened it calls
:mod:`libdesk.borrowing`, which decides and refuses (STYLE.md section 2)."""

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


# -- one action's answers -------------------------------------------------------------------------

@dataclass(frozen=True)
class ActionForm:
    """The answers of :class:`ActionDialog`."""

    desk: str | None
    """The desk chosen (None when the action needs none)."""
    text: str
    """The line typed, trimmed ("" when optional and left empty, or when there is none)."""


def desk_choices(inst: Institution) -> list[tuple[str, str]]:
    """Every circulation desk, for a Select (the engine refuses one the operator may not act at)."""
    return [(f"{p.name} ({p.code})", p.code) for p in inst.places.values() if p.is_desk]


class ActionDialog(Dialog[ActionForm | None]):
    """What a request action needs: a desk, a line of text, or only a confirmation."""


    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="borrowing-action-cancel"),
        Binding("ctrl+s", "submit", "OK", id="borrowing-action-ok"),
    ]

    def __init__(self, title: str, *, note: str = "", desks: list[tuple[str, str]] | None = None,
                 desk: str | None = None, text_label: str | None = None, text: str = "",
                 placeholder: str = "", ok: str = "OK", id: str | None = None) -> None:
        super().__init__(id=id)
        self.question = title
        """What is being done, e.g. "Receive · request 13 · A Grammar of Old Irish"."""
        self.note = note
        """What will happen, in a line or two."""
        self.desks = desks
        """The desks to choose from (None: no desk asked)."""
        self.desk = desk
        """The desk chosen first."""
        self.text_label = text_label
        """The text field's label (None: no text asked)."""
        self.text = text
        self.placeholder = placeholder
        self.ok_label = ok

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog"):
            yield Label(self.question, classes="dialog-title", markup=False)
            if self.note:
                yield Static(self.note, classes="dialog-note", markup=False)
            if self.desks is not None:
                known = {code for _, code in self.desks}
                with Horizontal(classes="field"):
                    yield Label("Desk")
                    yield Select(self.desks, prompt="Choose the desk", id="action-desk", compact=True,
                                 value=self.desk if self.desk in known else Select.NULL)
            if self.text_label is not None:
                with Horizontal(classes="field"):
                    yield Label(self.text_label, markup=False)
                    yield Input(self.text, placeholder=self.placeholder, id="action-text", compact=True,
                                select_on_focus=False)
            yield Static("", id="action-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.ok_label, variant="primary", id="ok")
                yield Button("Cancel", id="cancel")
            yield Static("Enter or ctrl+s: OK · Tab next field · Esc: cancel (nothing changes)",
                         classes="dialog-keys")

    def on_mount(self) -> None:
        if self.text_label is not None:
            self.query_one("#action-text").focus()
        elif self.desks is not None and self.desk is None:
            self.query_one("#action-desk").focus()
        else:
            self.query_one("#ok").focus()

    @on(Input.Submitted, "#action-text")
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        self.action_submit()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    def action_submit(self) -> None:
        """Hand the answers back; a desk, when asked, is required (the engine checks the rest)."""
        desk: str | None = None
        if self.desks is not None:
            value = self.query_one("#action-desk", Select).value
            if not isinstance(value, str):
                self.query_one("#action-error", Static).update("Choose the desk.")
                self.query_one("#action-desk").focus()
                return
            desk = value
        text = self.query_one("#action-text", Input).value.strip() if self.text_label is not None else ""
        self.dismiss(ActionForm(desk, text))

    def action_cancel(self) -> None:
        self.dismiss(None)
