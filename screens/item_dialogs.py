"""The pop-ups of the item and request lists (Physical Items, item detail, In Process, Monitor).

Each pop-up only collects an answer and hands it back typed (``ModalScreen[...]``); the screen
that opened it calls the engine, which validates and decides (STYLE.md section 2). Here:

- :class:`ConfirmDialog`: yes / no, the safe answer focused first;
- :class:`PromptDialog`: one line of text (an expiry date, an export file name);
- :class:`RequestDialog`: Request (patron, pickup desk), the row action of Physical Items;
- :class:`ItemEditorDialog`: the Physical Item Editor (work-order type and department), with
  Alma's warning that it skips the status and the transit steps (SPEC W12);
- :class:`RequestEditDialog`: Edit a request (note; a work order's department, same type);
- :class:`EventsDialog`: a request's Audit Trail.

:func:`q5_explanation` and :func:`confirm_cancel` spell out what cancelling a request does at
its workflow step (SPEC Q5) before anything is cancelled: Transit Item asks twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, DataTable, Input, Label, Select, Static

from libdesk.institution import Institution
from libdesk.models import (
    IN_PROCESS,
    ON_HOLD_SHELF,
    PICKUP_FROM_SHELF,
    STEP_NAMES,
    TRANSIT_ITEM,
    WAITING,
    WAITING_FOR_REMOTE_STORAGE,
)
from screens.dialog import Dialog

STEP_CODES = {name: code for code, name in STEP_NAMES.items()}
"""A workflow step as lists show it ("Transit Item") -> its code ("transit_item")."""


# -- yes / no -------------------------------------------------------------------------------

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


# -- one line of text -------------------------------------------------------------------------

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



# -- Request (patron, pickup desk) --------------------------------------------------------------

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



# -- Physical Item Editor -----------------------------------------------------------------------

EDITOR_WARNING = (
    "The Physical Item Editor sets the process type and department directly. It cannot set a "
    "Status (which affects Analytics) and it bypasses the transit steps: the item is at once "
    "\"at\" the department. Prefer Scan In Items (item in hand) or the Work Order row action."
)
"""Alma's warning, as the seed gives it (SPEC W12)."""


@dataclass(frozen=True)
class EditorForm:
    """The answers of the Physical Item Editor."""

    barcode: str
    work_order_type: str
    department: str


class ItemEditorDialog(Dialog[EditorForm | None]):
    """Physical Item Editor: the item's fields, and Process Type + Department to set."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="editor-cancel"),
        Binding("ctrl+s", "submit", "Save item", id="editor-save"),
    ]

    AUTO_FOCUS = "#editor-type"

    def __init__(self, inst: Institution, item: dict[str, Any]) -> None:
        super().__init__(id="item-editor")
        self.inst = inst
        self.item = item
        """The item as :func:`libdesk.queries.item_show` gives it (or a search row)."""

    def compose(self) -> ComposeResult:
        item = self.item
        types = [(wo.name, wo.code) for wo in self.inst.work_order_types.values()]
        current_type = item.get("work_order_type")
        fields = [
            f"Title: {item.get('title') or ''}",
            f"Call number: {item.get('call_number') or ''} · Library: {item.get('library') or ''}",
            f"Process: {item.get('process_name') or item.get('process') or 'In place'}",
        ]
        with VerticalScroll(classes="dialog"):
            yield Label(f"Physical Item Editor · {item['barcode']}", classes="dialog-title", markup=False)
            yield Static("\n".join(fields), classes="editor-fields", markup=False)
            yield Static("⚠ " + EDITOR_WARNING, classes="dialog-warning", id="editor-warning", markup=False)
            yield Label("Process type (work-order type)", classes="field-label")
            yield Select(types, prompt="Choose a work-order type", id="editor-type",
                         value=current_type if current_type in self.inst.work_order_types else Select.NULL)
            yield Label("Department", classes="field-label")
            yield Select([], prompt="Choose the type first", id="editor-department")
            yield Static("", id="editor-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save item", variant="primary", id="save")
                yield Button("Cancel", id="cancel")
            yield Static("Tab next field · ctrl+s saves · Esc cancels (nothing changes)", classes="dialog-keys")

    def on_mount(self) -> None:
        current_type = self.item.get("work_order_type")
        if current_type in self.inst.work_order_types:
            self._offer_departments(current_type, self.item.get("department"))

    @on(Select.Changed, "#editor-type")
    def _type_changed(self, event: Select.Changed) -> None:
        type_code = event.value if isinstance(event.value, str) else None
        # Back to the item's own type: offer its own department again.
        current = self.item.get("department") if type_code == self.item.get("work_order_type") else None
        self._offer_departments(type_code, current)

    def _offer_departments(self, type_code: str | None, current: str | None = None) -> None:
        departments = self.query_one("#editor-department", Select)
        if type_code is None:
            departments.prompt = "Choose the type first"
            departments.set_options([])
            return
        departments.prompt = "Choose the department"
        choices = [(f"{d.name} ({d.code})", d.code) for d in self.inst.departments_of_type(type_code)]
        departments.set_options(choices)
        codes = [code for _, code in choices]
        if current in codes:
            departments.value = current
        elif len(choices) == 1:
            departments.value = choices[0][1]

    @on(Button.Pressed, "#save")
    def _save_pressed(self) -> None:
        self.action_submit()

    def action_submit(self) -> None:
        """Hand the answers back; type and department are required."""
        type_value = self.query_one("#editor-type", Select).value
        dept_value = self.query_one("#editor-department", Select).value
        error = self.query_one("#editor-error", Static)
        if not isinstance(type_value, str):
            error.update("Choose a work-order type.")
            self.query_one("#editor-type").focus()
            return
        if not isinstance(dept_value, str):
            error.update("Choose the department.")
            self.query_one("#editor-department").focus()
            return
        self.dismiss(EditorForm(self.item["barcode"], type_value, dept_value))



# -- Edit a request -----------------------------------------------------------------------------

@dataclass(frozen=True)
class RequestEdit:
    """The answers of Edit request: only what changed (None: leave it)."""

    request_id: int
    note: str | None
    department: str | None


class RequestEditDialog(Dialog[RequestEdit | None]):
    """Edit a request: its note; for a work order, its department (one of the same type)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="request-edit-cancel"),
        Binding("ctrl+s", "submit", "Save", id="request-edit-save"),
    ]

    AUTO_FOCUS = "#edit-note"

    def __init__(self, inst: Institution, request_id: int, *, note: str, work_order_type: str | None,
                 department: str | None, summary: str = "") -> None:
        super().__init__(id="request-edit")
        self.inst = inst
        self.request_id = request_id
        self.note = note
        self.work_order_type = work_order_type
        """None for a patron request (it has a pickup desk, not a department)."""
        self.department = department
        self.summary = summary
        """Which request, in words ("Technical Services work order · W09 · Title of W09")."""

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog"):
            yield Label(f"Edit request {self.request_id}", classes="dialog-title", markup=False)
            if self.summary:
                yield Static(self.summary, classes="dialog-note", markup=False)
            yield Label("Note", classes="field-label")
            yield Input(self.note, id="edit-note", select_on_focus=False)
            if self.work_order_type:
                choices = [(f"{d.name} ({d.code})", d.code) for d in self.inst.departments_of_type(self.work_order_type)]
                codes = {code for _, code in choices}
                wo = self.inst.work_order_types.get(self.work_order_type)
                yield Label(f"Managing department ({wo.name if wo else self.work_order_type} only)", markup=False,
                            classes="field-label")
                yield Select(choices, id="edit-department", allow_blank=False,
                             value=self.department if self.department in codes else choices[0][1])
            yield Static("", id="edit-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", variant="primary", id="save")
                yield Button("Cancel", id="cancel")
            yield Static("Tab next field · Enter in the note or ctrl+s saves · Esc cancels", classes="dialog-keys")

    @on(Input.Submitted, "#edit-note")
    @on(Button.Pressed, "#save")
    def _save_pressed(self) -> None:
        self.action_submit()

    def action_submit(self) -> None:
        """Hand back what changed; nothing changed is said, not submitted."""
        note = self.query_one("#edit-note", Input).value.strip()
        department: str | None = None
        if self.work_order_type:
            value = self.query_one("#edit-department", Select).value
            department = value if isinstance(value, str) and value != self.department else None
        new_note = note if note != (self.note or "") else None
        if new_note is None and department is None:
            self.query_one("#edit-error", Static).update("Nothing changed: edit the note or the department, or Esc.")
            return
        self.dismiss(RequestEdit(self.request_id, new_note, department))



# -- Audit Trail ----------------------------------------------------------------------------------

def action_words(action: str) -> str:
    """An event's action in words: "request_activated" -> "Request activated"."""
    return action.replace("_", " ").capitalize()


def describe_change(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """An event's change in one line: "status Pocket → Repair; department → CCWID"."""
    before, after = before or {}, after or {}
    parts = []
    for key in list(after) + [k for k in before if k not in after]:
        old, new = before.get(key), after.get(key)
        if key not in before:
            if new in (None, "", False):
                continue
            parts.append(f"{key} {_cell(new)}")
        else:
            parts.append(f"{key} {_cell(old) or '–'} → {_cell(new) or '–'}")
    return "; ".join(parts)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


class EventsDialog(Dialog[None]):
    """A list of history events (a request's Audit Trail): when, who, where, what changed."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter", "close", "Close", id="events-close"),
    ]

    AUTO_FOCUS = "DataTable"

    SCAN_CLOSES = True
    """A scan closes the audit trail and goes to the screen below (see screens.base.NoticePopup)."""

    def __init__(self, title: str, events: Sequence[dict[str, Any]], *, note: str = "") -> None:
        super().__init__(id="events")
        self.events_title = title
        self.events = list(events)
        """Events as :func:`libdesk.core.event_view` gives them, oldest first."""
        self.note = note

    def compose(self) -> ComposeResult:
        with Vertical(classes="events-dialog"):
            yield Label(self.events_title, classes="dialog-title", markup=False)
            if self.note:
                yield Static(self.note, classes="dialog-note", markup=False)
            yield DataTable(cursor_type="row", zebra_stripes=True)
            yield Static("", id="event-detail", markup=False)
            yield Static("↑↓ move · Enter or Esc closes", classes="dialog-keys")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("When", width=16)
        table.add_column("Operator", width=8)
        table.add_column("Place", width=9)
        table.add_column("Action", width=20)
        table.add_column("Change")
        for ev in self.events:
            change = describe_change(ev.get("before"), ev.get("after"))
            message = ev.get("message") or ""
            table.add_row(Text((ev.get("at") or "").replace("T", " ")[:16]), Text(ev.get("operator") or ""),
                          Text(ev.get("place") or ""), Text(action_words(ev.get("action") or "")),
                          Text(" · ".join(p for p in (change, message) if p)), key=str(ev.get("id")))
        if table.row_count:
            table.move_cursor(row=table.row_count - 1)

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        # The Change column is cut at the edge: the highlighted event's change in full.
        ev = next((e for e in self.events if str(e.get("id")) == event.row_key.value), None)
        if ev is not None:
            change = describe_change(ev.get("before"), ev.get("after"))
            self.query_one("#event-detail", Static).update(
                " · ".join(p for p in (change, ev.get("message") or "") if p))

    def action_close(self) -> None:
        self.dismiss(None)


# -- Cancel a request (SPEC Q5) -----------------------------------------------------------------

@dataclass(frozen=True)
class RequestInfo:
    """What the cancel confirmation needs to know about a request."""

    id: int
    kind: str
    """"patron" or "work_order"."""
    step: str
    """The workflow step's code ("transit_item")."""
    where: str
    """Its pickup desk or department, in words."""
    patron: str | None = None


_PULL_STEPS = (WAITING, PICKUP_FROM_SHELF, WAITING_FOR_REMOTE_STORAGE)


def q5_explanation(req: RequestInfo) -> str:
    """What cancelling ``req`` does at its workflow step (SPEC Q5), in the words of the seed."""
    step_name = STEP_NAMES.get(req.step, req.step)
    work_order = req.kind != "patron"
    what = "the request and its work order" if work_order else "the request"
    if req.step in _PULL_STEPS:
        return (f"Workflow step: {step_name}. Nothing has been done with the item yet.\n\n"
                f"Cancel cancels {what}; the item stays where it is.")
    if req.step == TRANSIT_ITEM and work_order:
        return (f"Workflow step: Transit Item. The item has already left its shelf and is on its way to "
                f"{req.where}.\n\n"
                "Do NOT cancel: let it arrive and mark the work order Done there; then it goes home or to "
                "its next request. Cancelling now cancels only the request: the item still travels to "
                f"{req.where} and must be marked Done there, or it bounces between the owning library and "
                "the department and no one knows where it belongs.")
    if req.step == TRANSIT_ITEM:
        for_whom = f" for patron {req.patron}" if req.patron else ""
        return (f"Workflow step: Transit Item. The item is on its way to {req.where}{for_whom}.\n\n"
                "Cancelling cancels only the request; the item keeps travelling, and is sent on (its next "
                "request, or home) wherever it is next scanned in.")
    if req.step == IN_PROCESS:
        return (f"Workflow step: In Process. The item is in the work order at {req.where}.\n\n"
                f"Cancel cancels only the request: the item stays in process at {req.where} until it is "
                "marked Done there.")
    if req.step == ON_HOLD_SHELF:
        return (f"Workflow step: On Hold Shelf at {req.where}.\n\n"
                "Cancel cancels the request; take the item off the hold shelf and scan it in at the desk "
                "to send it on.")
    return f"Workflow step: {step_name}.\n\nCancel cancels the request."


def confirm_cancel(app: App[Any], req: RequestInfo, then: Callable[[bool], None]) -> None:
    """Ask before cancelling ``req``: the Q5 explanation, and for Transit Item a second,
    explicit confirmation. Calls ``then(confirm)`` only if the operator agreed; ``confirm`` is
    the engine's flag (True after the second confirmation of a Transit Item cancel)."""
    in_transit = req.step == TRANSIT_ITEM

    def first(yes: bool | None) -> None:
        if not yes:
            return
        if not in_transit:
            then(False)
            return
        app.push_screen(ConfirmDialog(
            f"Really cancel request {req.id}?",
            f"The item is still in transit to {req.where}. Only the request is cancelled"
            + (f"; the item must still arrive and be marked Done at {req.where}." if req.kind != "patron"
               else "; the item is sent on wherever it is next scanned in."),
            yes="Yes, cancel the request only", no="No, keep it", danger=True, id="confirm-cancel-again"),
            second)

    def second(yes: bool | None) -> None:
        if yes:
            then(True)

    app.push_screen(ConfirmDialog(
        f"Cancel request {req.id}?", q5_explanation(req),
        yes="Cancel the request only…" if in_transit else "Cancel the request",
        no="Keep it" + (" (recommended)" if in_transit and req.kind != "patron" else ""),
        danger=True, id="confirm-cancel"), first)
