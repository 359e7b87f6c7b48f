"""The row-action menu of a borrowing request, built from the actions its status allows
(``borrowing.show(...)["actions"]``, read from the engine's table, so the menu never offers
what the engine would refuse): staff actions first, then what the *partner* did (recorded by
staff: partners cannot reach a desk workstation), then its messages to dismiss."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.text import Text
from textual.widgets.option_list import Option

from libdesk import borrowing
from libdesk.institution import Institution


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


def partner_names(inst: Institution, codes: Iterable[str]) -> str:
    """Partner codes in words: "Yale University Library (YALE)"."""
    out = []
    for code in codes:
        partner = inst.partners.get(code)
        out.append(f"{partner.name} ({code})" if partner else code)
    return ", ".join(out)
