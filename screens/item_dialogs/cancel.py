""":func:`q5_explanation` and :func:`confirm_cancel` spell out what cancelling a request does at
its workflow step (SPEC Q5) before anything is cancelled: Transit Item asks twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from textual.app import App

from libdesk.models import (
    IN_PROCESS,
    ON_HOLD_SHELF,
    PICKUP_FROM_SHELF,
    STEP_NAMES,
    TRANSIT_ITEM,
    WAITING,
    WAITING_FOR_REMOTE_STORAGE,
)
from screens.item_dialogs.confirm import ConfirmDialog


STEP_CODES = {name: code for code, name in STEP_NAMES.items()}
"""A workflow step as lists show it ("Transit Item") -> its code ("transit_item")."""


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
