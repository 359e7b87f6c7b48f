"""Choosers: the small pop-ups that change who and where (operator, Currently At, status).

Each is a :class:`Chooser` (a modal list: arrows move, Enter chooses, Escape keeps things as
they were) built from the institution by one of the ``*_chooser`` functions. They offer only
what the engine would accept: the places the operator may act at (``Operator.may_act_at``),
the statuses of the department's work-order type. The app applies the choice and saves it.
"""

from __future__ import annotations

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.markup import escape
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from libdesk.institution import Institution
from screens.dialog import Dialog

KEEP = ""
"""The option id that means "no value" (e.g. no status: keep the item's own)."""

ChoiceList = list[Option | None]
"""Options; ``None`` is a separator."""


class Chooser(Dialog[str | None]):
    """Choose one option; dismisses with its id, or None when cancelled."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="chooser-cancel"),
    ]

    AUTO_FOCUS = "OptionList"

    def __init__(self, title: str, options: ChoiceList, *, current: str | None = None, note: str = "",
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.chooser_title = title
        """The question, e.g. "Currently At: where are you working?"."""
        self.options = options
        self.current = current
        """The id to highlight first (the present value)."""
        self.note = note
        """A line under the list (what the choice changes)."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.chooser_title, classes="dialog-title", markup=False)
            yield OptionList(*self.options)
            if self.note:
                yield Static(self.note, classes="dialog-note", markup=False)
            yield Static("↑↓ move · Enter choose · Esc cancel", classes="dialog-keys")

    LIST_MOST = 18
    """The most rows the list takes; on a short terminal it takes what the rest leaves."""

    def on_resize(self, event: events.Resize) -> None:
        # The dialog may take 90% of the height (libdesk.tcss); the title (with its margins),
        # the note, the keys line (with its margin) and the border always stay in view, and
        # the list scrolls in what is left: at 24 lines the keys line was pushed out.
        around = 3 + (self.note.count("\n") + 1 if self.note else 0) + 2 + 2
        room = int(event.size.height * 0.9) - around
        self.query_one(OptionList).styles.max_height = max(3, min(self.LIST_MOST, room))

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        if self.current is not None:
            try:
                options.highlighted = options.get_option_index(self.current)
            except Exception:  # an unknown current value: leave the first option highlighted
                pass

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)


def _heading(text: str) -> Option:
    return Option(f"[b]{text}[/b]", disabled=True)


def place_chooser(inst: Institution, operator: str, current: str | None) -> Chooser:
    """Currently At: the desks and departments this operator may act at (W3)."""
    op = inst.operator(operator)
    desks = [p for p in inst.places.values() if p.is_desk and op.may_act_at(p.code)]
    departments = [p for p in inst.places.values() if p.is_department and op.may_act_at(p.code)]
    options: ChoiceList = []
    if desks:
        options.append(_heading("Circulation desks"))
        options += [Option(escape(f"  {p.name} ({p.code})"), id=p.code) for p in desks]
    # Departments under their work-order type: the line, then its neighbourhoods (seed 000).
    for wo in inst.work_order_types.values():
        mine = [p for p in departments if p.work_order_type == wo.code]
        if not mine:
            continue
        if options:
            options.append(None)
        options.append(_heading(escape(f"{wo.name} departments")))
        options += [Option(escape(f"  {p.name} ({p.code})"), id=p.code) for p in mine]
    note = "" if options else f"Operator {op.id} may not act anywhere: ask an administrator."
    return Chooser(f"Currently At: where is {op.name} ({op.id}) working?", options, current=current, note=note,
                   id="choose-place")


def status_chooser(inst: Institution, department: str, current: str | None) -> Chooser:
    """Set Status To: the statuses of the department's work-order type, in order."""
    dept = inst.department(department)
    wo = inst.work_order_types[dept.work_order_type or ""]
    options: ChoiceList = [Option("(none: keep the item's status, or the first one)", id=KEEP), None]
    options += [Option(escape(status), id=status) for status in wo.statuses]
    return Chooser(f"Set Status To ({wo.name}, {dept.name})", options, current=current or KEEP,
                   note="Sticky: it stays until you change it.", id="choose-status")


def operator_chooser(inst: Institution, current: str) -> Chooser:
    """Operator switch: everyone in the institution file."""
    options: ChoiceList = [Option(escape(f"{op.name} ({op.id})"), id=op.id) for op in inst.operators.values()]
    return Chooser("Who is working at this workstation?", options, current=current,
                   note="Each action is recorded under this operator.", id="choose-operator")
