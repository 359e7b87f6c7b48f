"""The pop-ups of Borrowing Requests (SPEC section B, seed 004), and its row-action menu.

As everywhere in the app, a pop-up only collects an answer and hands it back typed; the screen
that opened it calls :mod:`libdesk.borrowing`, which decides and refuses (STYLE.md section 2):

- :class:`NewRequestDialog`: a new borrowing request (patron, citation, pickup desk, partners
  to ask in order, a note), the seed's "create a new borrowing request for your patron";
- :class:`ActionDialog`: what one request action needs to know, if anything: a desk (receive,
  return, scan in), a line of text (the lender's barcode, a rejection reason, a partner's
  general message, a note), or nothing but "OK";
- :func:`action_menu`: the row-action menu of a request, built from the actions its status
  allows (``borrowing.show(...)["allowed"]``, the engine's list, so the menu never offers
  what the engine would refuse), staff actions first, then what the *partner* did (recorded
  by staff: partners cannot reach a desk workstation), then its messages to dismiss.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static
from textual.widgets.option_list import Option

from libdesk import borrowing
from libdesk.core import Result
from libdesk.errors import LibdeskError
from libdesk.institution import Institution

_DIALOG_CSS = """
    align: center middle;
    & > .dialog {
        width: 84;
        max-width: 96%;
        height: auto;
        max-height: 94%;
        padding: 0 2;
        border: thick $primary;
        background: $surface;
    }
    & .dialog-title { text-style: bold; margin: 1 0; width: 100%; }
    & .dialog-note { color: $text-muted; }
    & .dialog-keys { color: $text-muted; margin: 1 0 0 0; }
    & .dialog-error { color: $text-error; text-style: bold; height: auto; }
    & .dialog-buttons { height: auto; margin: 1 0 0 0; }
    & .dialog-buttons Button { margin: 0 2 0 0; }
    & .field { height: auto; margin: 0; }
    & .dialog-note { margin: 1 0 0 0; }
    & .field Label { width: 16; padding: 0 1 0 0; }
    & .field Input, & .field Select { width: 1fr; }
    & Input:focus, & Select:focus > SelectCurrent { background: $primary-muted; }
"""
"""What the pop-ups here share (the app's stylesheet styles ``.dialog`` too, and wins)."""


# -- the row-action menu --------------------------------------------------------------------------

SCAN_IN = "scan-in"
"""The menu's id for "scan the item in at a desk" (a row of the engine's table)."""
CLEANUP = "cleanup"
"""Scan in the temporary item of a completed request that did not come back properly (B8)."""
DETAILS = "details"
REPORT = "report"

_SCREEN_LABELS = {
    REPORT: "Open the report of requests not returned properly",
    DETAILS: "Details & audit trail  rota, messages, history (ctrl+t)",
}
"""The entries this screen adds to the engine's actions."""


def check_action_option(section: dict[str, Any], message_id: int | None = None) -> str | None:
    """The menu entry a check's action stands for (``dismiss`` on a message row: that message;
    the monthly check's Report: the report)."""
    if section.get("action") == "report":
        return REPORT
    option = section.get("transition")
    if option == "dismiss" and message_id is not None:
        return f"dismiss:{message_id}"
    return option


def action_label(name: str, b: dict[str, Any]) -> str:
    """A menu entry's words for request ``b`` (as :func:`libdesk.borrowing.show` gives it)."""
    if name in _SCREEN_LABELS:
        return _SCREEN_LABELS[name]
    if name in borrowing.TRANSITIONS:
        return borrowing.label(name, b)
    return name


def menu_names(b: dict[str, Any]) -> list[str]:
    """The menu's action ids for ``b``: the engine's, in its table's order."""
    return list(b.get("actions", []))


def action_menu(b: dict[str, Any], *, first: str | None = None, extra: Iterable[str] = (),
                details: bool = True) -> list[Option | None]:
    """The row-action menu of request ``b``: staff actions, the partner's (recorded by staff),
    each active message or note to dismiss, Details. ``first``: the check's recommended
    action, put at the top (the screen highlights it); ``extra``: entries the screen adds
    (the monthly check's Report); ``details``: offer Details (not on the detail itself)."""
    names = menu_names(b) + [name for name in extra if name not in menu_names(b)]
    messages = [m for m in b.get("messages", []) if m.get("active")]
    general = [m for m in messages if m.get("kind") == "message"]
    if len(general) <= 1 and "dismiss" in names:
        names.remove("dismiss")  # the one message is offered by itself below
    staff = [n for n in names if not _partner(n)]
    partner = [n for n in names if _partner(n)]
    dismiss = [(f"dismiss:{m['id']}", _dismiss_label(m)) for m in messages]
    entries: list[tuple[str, str]] = [(n, action_label(n, b)) for n in staff if n != "note"]
    entries += dismiss
    if "note" in staff:
        entries.append(("note", action_label("note", b)))
    options: list[Option | None] = []
    top = next(((ident, label) for ident, label in entries + [(n, action_label(n, b)) for n in partner]
                if ident == first), None)
    # Text, not markup: titles and messages may hold brackets ("[sound recording]").
    if top is not None:
        options += [Option(Text(f"▸ {top[1]}"), id=f"{top[0]}"), None]
    options += [Option(Text(label), id=ident) for ident, label in entries if ident != first]
    rest = [n for n in partner if n != first]
    if rest:
        who = b.get("current_partner") or "the partner"
        options += [None, Option(Text.assemble((f"Record for the partner {who}", "bold"),
                                               " (the history marks it as theirs)"), disabled=True)]
        options += [Option(Text(action_label(n, b)), id=n) for n in rest]
    if details:
        if options:
            options.append(None)
        options.append(Option(Text(action_label(DETAILS, b)), id=DETAILS))
    return options


def _partner(name: str) -> bool:
    """Recorded by staff for the partner (the engine's table says which)."""
    t = borrowing.TRANSITIONS.get(name)
    return t is not None and t.partner


def _dismiss_label(m: dict[str, Any]) -> str:
    text = m.get("text") or ""
    short = text if len(text) <= 36 else text[:35] + "…"
    if m.get("kind") == "message":
        return f"Dismiss message {m['id']} from {m.get('partner') or 'the partner'}: {short}"
    return f"Dismiss note {m['id']}: {short}"


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


class ActionDialog(ModalScreen[ActionForm | None]):
    """What a request action needs: a desk, a line of text, or only a confirmation."""

    DEFAULT_CSS = "ActionDialog {" + _DIALOG_CSS + "}"

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


class NewRequestDialog(ModalScreen[Result | None]):
    """New borrowing request: who, what, where to pick it up, which partners to ask.

    ``create`` is the screen's engine call: a refusal (unknown patron, unknown partner) is
    shown here in red and the pop-up stays, with the answers, to be corrected; the engine's
    result is handed back when it went through."""

    DEFAULT_CSS = "NewRequestDialog {" + _DIALOG_CSS + "}"

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


def partner_names(inst: Institution, codes: Iterable[str]) -> str:
    """Partner codes in words: "Yale University Library (YALE)"."""
    out = []
    for code in codes:
        partner = inst.partners.get(code)
        out.append(f"{partner.name} ({code})" if partner else code)
    return ", ".join(out)
