""":func:`q5_explanation` and :func:`confirm_cancel` spell out what cancelling a request does at
its workflow step (SPEC Q5) before anything is cancelled: Transit Item asks twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from textual.app import App

from libdesk.models import TRANSIT_ITEM
from libdesk.requests import cancel_explanation
from screens.item_dialogs.confirm import ConfirmDialog


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


def q5_explanation(req: RequestInfo) -> str:
    """What cancelling ``req`` does at its workflow step (SPEC Q5): the engine's words."""
    return cancel_explanation(req.step, work_order=req.kind != "patron", where=req.where, patron=req.patron)


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
