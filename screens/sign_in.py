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

    def __init__(self, db: Database, operator: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.db = db
        self.operator = operator

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Sign in as {self.db.institution.operator(self.operator).name} ({self.operator})")
            yield Input(password=True, placeholder="PIN or passphrase", id="secret")
            yield Label("", id="error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        secret, event.input.value = event.value, ""
        try:
            operators.authenticate(self.db, self.operator, secret)
        except LibdeskError as exc:
            self.query_one("#error", Label).update(exc.message)
            return
        self.dismiss(self.operator)

    def action_cancel(self) -> None:
        self.dismiss(None)
