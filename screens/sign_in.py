"""The secret prompt of a sign-in (issue 14): switching operator (ctrl+o) asks the new
operator's secret when the institution requires sign-in. The secret is typed hidden
(password input), checked by the engine (rate-limited there) and never kept."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from libdesk import operators
from libdesk.db import Database
from libdesk.errors import LibdeskError


class SecretDialog(ModalScreen[str | None]):
    """Ask ``operator``'s secret; dismisses with the operator id once it is right."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    SecretDialog { align: center middle; }
    SecretDialog > Vertical { width: 60; height: auto; border: thick $accent; padding: 1 2; background: $surface; }
    SecretDialog #error { color: $error; }
    """

    def __init__(self, db: Database, operator: str, *, locked: bool = False, **kw: Any) -> None:
        super().__init__(**kw)
        self.db = db
        self.operator = operator
        self.locked = locked
        """Signed out for idleness: escape does not close it; any operator may sign in."""

    def compose(self) -> ComposeResult:
        with Vertical():
            if self.locked:
                yield Label("Signed out after a while without use.")
                yield Input(value=self.operator, placeholder="operator", id="operator")
            else:
                yield Label(f"Sign in as {self.db.institution.operator(self.operator).name} ({self.operator})")
            yield Input(password=True, placeholder="PIN or passphrase", id="secret")
            yield Label("", id="error")

    def on_mount(self) -> None:
        self.query_one("#secret", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "secret":
            self.query_one("#secret", Input).focus()
            return
        secret, event.input.value = event.value, ""
        if self.locked:
            self.operator = self.query_one("#operator", Input).value.strip()
        try:
            operators.authenticate(self.db, self.operator, secret)
        except LibdeskError as exc:
            self.query_one("#error", Label).update(exc.message)
            return
        self.dismiss(self.operator)

    def action_cancel(self) -> None:
        if not self.locked:
            self.dismiss(None)
