"""A new borrowing request (:class:`NewRequestDialog`): patron, citation, pickup desk, partners
to ask in order, a note; the seed's "create a new borrowing request for your patron"."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Input, Label, Select, Static

from libdesk.core import Result
from libdesk.errors import LibdeskError
from libdesk.institution import Institution


from screens.borrowing_action_dialog import desk_choices
from screens.dialog import Dialog


# -- a new borrowing request ----------------------------------------------------------------------

@dataclass(frozen=True)
class NewRequestForm:
    """The answers of :class:`NewRequestDialog` (the engine validates them)."""

    patron: str = ""
    title: str = ""
    author: str = ""
    identifier: str = ""
    pickup: str | None = None
    partners: str = ""
    """As typed: partner codes in order, separated by commas or spaces ("" : the consortium's)."""
    note: str = ""

    @property
    def partner_list(self) -> list[str] | None:
        """The partners to ask, in order; None: the institution's partners (the locate's default)."""
        codes = [code for code in self.partners.replace(",", " ").split() if code]
        return codes or None


class NewRequestDialog(Dialog[Result | None]):
    """New borrowing request: who, what, where to pick it up, which partners to ask.

    ``create`` is the screen's engine call: a refusal (unknown patron, unknown partner) is
    shown here in red and the pop-up stays, with the answers, to be corrected; the engine's
    result is handed back when it went through."""


    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="borrowing-new-cancel"),
        Binding("ctrl+s", "submit", "Submit", id="borrowing-new-submit"),
    ]

    AUTO_FOCUS = "#new-patron"

    FIELDS: ClassVar[list[tuple[str, str, str]]] = [
        ("patron", "Patron", "Patron id, e.g. P0001"),
        ("title", "Title", "Title of the book or article"),
        ("author", "Author", "optional"),
        ("identifier", "Identifier", "ISBN, OCLC number … (optional)"),
    ]
    """Text fields: name, label, placeholder."""

    def __init__(self, inst: Institution, create: Callable[[NewRequestForm], Result],
                 form: NewRequestForm | None = None) -> None:
        super().__init__(id="borrowing-new")
        self.inst = inst
        self.create = create
        """Makes the request (the engine call); raises LibdeskError when it refuses."""
        self.form = form or NewRequestForm()
        """The answers to start from."""

    def compose(self) -> ComposeResult:
        form = self.form
        desks = desk_choices(self.inst)
        partners = ", ".join(f"{p.code} ({p.name})" for p in self.inst.partners.values()) or "none"
        with VerticalScroll(classes="dialog"):
            yield Label("New borrowing request", classes="dialog-title")
            for name, label, placeholder in self.FIELDS:
                with Horizontal(classes="field"):
                    yield Label(label)
                    yield Input(getattr(form, name), placeholder=placeholder, id=f"new-{name}", compact=True,
                                select_on_focus=False)
            with Horizontal(classes="field"):
                yield Label("Pickup desk")
                yield Select(desks, prompt="Choose the pickup desk", id="new-pickup", compact=True,
                             value=form.pickup if form.pickup in {c for _, c in desks} else Select.NULL)
            with Horizontal(classes="field"):
                yield Label("Partners")
                yield Input(form.partners, placeholder="in order, e.g. BROWN, YALE (blank: the consortium's)",
                            id="new-partners", compact=True, select_on_focus=False)
            with Horizontal(classes="field"):
                yield Label("Note")
                yield Input(form.note, placeholder="staff note, optional (Active Note until dismissed)",
                            id="new-note", compact=True, select_on_focus=False)
            yield Static(f"Partners: {partners}. The locate forms the rota from them; with none, the "
                         "request is Cancelled by Staff and the patron told to try InterLibrary Loan.",
                         classes="dialog-note", markup=False)
            yield Static("", id="new-error", classes="dialog-error", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Submit", variant="primary", id="submit")
                yield Button("Cancel", id="cancel")
            yield Static("Enter or ctrl+s submits · Tab next field · Esc cancels", classes="dialog-keys")

    @on(Input.Submitted)
    def _enter_submits(self, event: Input.Submitted) -> None:
        # Enter submits from any field, as in any form; a required answer still missing is
        # named and gets the focus (a scanned patron card ends in Enter: the title is next).
        event.stop()
        self.action_submit()

    @on(Button.Pressed, "#submit")
    def _submit_pressed(self) -> None:
        self.action_submit()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    def action_submit(self) -> None:
        """Hand the answers back; patron, title and pickup desk are required."""
        values = {name: self.query_one(f"#new-{name}", Input).value.strip()
                  for name in ("patron", "title", "author", "identifier", "partners", "note")}
        pickup = self.query_one("#new-pickup", Select).value
        missing = next((label for name, label, _ in self.FIELDS[:2] if not values[name]), None)
        if missing is None and not isinstance(pickup, str):
            missing = "Pickup desk"
        if missing is not None:
            self.query_one("#new-error", Static).update(f"✗ {missing} is needed.")
            field = {"Patron": "#new-patron", "Title": "#new-title"}.get(missing, "#new-pickup")
            self.query_one(field).focus()
            return
        form = NewRequestForm(pickup=pickup if isinstance(pickup, str) else None, **values)
        try:
            result = self.create(form)
        except LibdeskError as exc:
            self.query_one("#new-error", Static).update(f"✗ {exc.message} (nothing was made)")
            return
        self.dismiss(result)

    def action_cancel(self) -> None:
        self.dismiss(None)
