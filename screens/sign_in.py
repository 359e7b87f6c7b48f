"""Signing in at the desk (issue 14): the sign-in screen and the secret prompt.

- :class:`SignInScreen`: with sign-in required (no ``sign_in = false``), the app opens on it
  when this workstation holds no valid ``libdesk login`` session and no ``LIBDESK_SECRET``,
  and comes back to it after ``idle_minutes`` without a key. Operator id and secret (typed
  hidden); the engine checks them (:func:`libdesk.operators.authenticate`: the scrypt hash,
  wrong secrets counted toward the lockout, as ``libdesk login``). Nothing else can be reached
  from it: Escape does nothing, the F-keys and the command palette are off, a scan is refused
  (not typed into a field). ctrl+q still quits.
- :class:`SecretDialog`: switching operator (ctrl+o) asks the new operator's secret.

A secret is never kept: the field is emptied at every try.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from libdesk import operators
from libdesk.db import Database
from libdesk.errors import LibdeskError
from screens.dialog import Dialog


class SignInScreen(ModalScreen[operators.Standing]):
    """Who is working: operator and secret; dismisses with the operator's
    :class:`~libdesk.operators.Standing` once the engine accepts them. Covers the whole screen: what the last operator had open is not shown."""

    BINDINGS = [Binding("escape", "nothing", show=False)]

    def __init__(self, db: Database, operator: str = "", *, reason: str = "", **kw: Any) -> None:
        super().__init__(**kw)
        self.db = db
        self.operator = operator if operator in db.institution.operators else ""
        """The operator id offered first (this workstation's last operator)."""
        self.reason = reason
        """Why the sign-in is shown (signed out after a while without use), or empty."""

    def compose(self) -> ComposeResult:
        inst = self.db.institution
        with Vertical(classes="dialog"):
            yield Label(f"libdesk · {inst.name}: sign in", classes="dialog-title", markup=False)
            if self.reason:
                yield Static(self.reason, classes="dialog-note", markup=False, id="reason")
            yield Label("Operator", classes="field-label")
            yield Input(value=self.operator, placeholder="operator id", id="operator")
            yield Label("Secret", classes="field-label")
            yield Input(password=True, placeholder="PIN or passphrase", id="secret")
            yield Label("", classes="dialog-error", id="error", markup=False)
            yield Static("Enter sign in · Tab next field · ctrl+q quit", classes="dialog-keys")

    def on_mount(self) -> None:
        self.query_one("#secret" if self.operator else "#operator", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        operator = self.query_one("#operator", Input).value.strip()
        secret_field = self.query_one("#secret", Input)
        if event.input.id == "operator" or not operator:
            (secret_field if operator else self.query_one("#operator", Input)).focus()
            return
        secret, secret_field.value = secret_field.value, ""
        if not secret:
            return
        try:
            held = operators.sign_in(self.db, operator, secret)
        except LibdeskError as exc:  # a wrong secret (counted), locked, disabled, unknown
            self.query_one("#error", Label).update(exc.message)
            return
        self.dismiss(held)

    def handle_scan(self, barcode: str) -> bool:
        """A scan before anyone signed in: used for nothing (never typed into the secret)."""
        self.query_one("#error", Label).update(f"Sign in first: {barcode} was not used")
        return False

    def action_nothing(self) -> None:
        """Escape: there is no way round the sign-in."""


class SecretDialog(Dialog[operators.Standing | None]):
    """Ask ``operator``'s secret; dismisses with their Standing once it is right."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, db: Database, operator: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.db = db
        self.operator = operator

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Sign in as {self.db.institution.operator(self.operator).name} ({self.operator})")
            yield Input(password=True, placeholder="PIN or passphrase", id="secret")
            yield Label("", id="error")

    def on_mount(self) -> None:
        self.query_one("#secret", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        secret, event.input.value = event.value, ""
        try:
            held = operators.sign_in(self.db, self.operator, secret)
        except LibdeskError as exc:
            self.query_one("#error", Label).update(exc.message)
            return
        self.dismiss(held)
