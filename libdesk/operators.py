"""Who may do what: the places an action touches, and operators' sign-in.

Permissions (W3, issue 14): an operator may act only at the places the institution file
gives them, and that holds for *every* place an action touches, not only the place the
operator says they are at (``--at``). Each engine action names what it touches through
:meth:`libdesk.core.Ctx.touch` before it changes anything; the check itself lives here,
once (:func:`check_places`). What each action touches:

=========================  ==========================================================
scan in, loan, return,     the place it happens at (``at``): a scan is the item in hand
receive, bulk status/Done
request place              the pickup desk (and ``at`` when given)
request activate, cancel,  the request's place: its department (work order) or its
expiry                     pickup desk (patron request)
request edit               the request's place (like placing a work order, it may send the
                           request on to any department of its type)
workorder --in-hand        an item in a process (transit, hold shelf, work order): where
                           it is meant to be now (below), which it leaves at once; any desk may send an item to any department's
                           work order (the normal flow), and a request placed without
                           the item in hand only joins the queue
physical item editor       the new department and the item's current department
missing / lost             where the item is meant to be: its department, its transit
                           destination, its hold shelf, else its home desk
borrowing                  the role ``borrowing``; receive, loan and return of a borrowed
                           item need ``borrowing_desk`` (or ``borrowing``) and their desk
=========================  ==========================================================

A refusal is raised before the action writes anything, and the action's transaction rolls
back, so a refused action leaves the database exactly as it was.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from libdesk.errors import NotPermitted
from libdesk.institution import Institution, Operator
from libdesk.models import HOLD_SHELF, TRANSIT, WORK_ORDER

BORROWING_ROLE = "borrowing"
"""Manages resource-sharing borrowing requests (every borrowing action)."""
BORROWING_DESK_ROLE = "borrowing_desk"
"""Receives, lends and returns borrowed items at a desk (a subset of ``borrowing``)."""
ADMIN_ROLE = "admin"


def check_places(inst: Institution, op: Operator, codes: Iterable[str | None], doing: str = "") -> None:
    """Raise NotPermitted unless ``op`` may act at every place in ``codes`` (None skipped).

    Raises:
        NotPermitted: naming the first place the operator may not act at.
    """
    for code in dict.fromkeys(c for c in codes if c is not None):
        if not op.may_act_at(code):
            what = f" ({doing})" if doing else ""
            raise NotPermitted(f"Operator {op.id} may not act at {inst.place_name(code)} ({code}){what}")


def check_role(op: Operator, role: str) -> None:
    """Raise NotPermitted unless ``op`` has ``role`` (an operator with every place, "*", has all roles).

    Raises:
        NotPermitted: the role is missing.
    """
    implied = {BORROWING_DESK_ROLE: (BORROWING_ROLE,)}.get(role, ())
    if role not in op.roles and not set(implied) & set(op.roles) and "*" not in op.places:
        what = {BORROWING_ROLE: "does not manage borrowing requests",
                BORROWING_DESK_ROLE: "does not handle borrowed items at the desk",
                ADMIN_ROLE: "is not an administrator"}.get(role, f"lacks the role {role!r}")
        raise NotPermitted(f"Operator {op.id} {what} (needs the role {role!r})")


def item_place(inst: Institution, item: dict[str, Any]) -> str | None:
    """Where an item is meant to be now: the place whose staff answer for it."""
    process = item["process_type"]
    if process == WORK_ORDER:
        return item["department"]
    if process == TRANSIT and item["transit_to"] in inst.places:
        return item["transit_to"]
    if process == HOLD_SHELF and item["hold_shelf"]:
        return item["hold_shelf"]
    return inst.home_desk(item["library"], item["location"]).code


def request_place(req: dict[str, Any]) -> str | None:
    """The place a request belongs to: its department (work order) or pickup desk (patron)."""
    return req["department"] or req["pickup"]
