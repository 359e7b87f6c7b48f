"""Request queues: place a patron request, activate (force), cancel, edit, expiry (Q1-Q6).

Queue order is :func:`libdesk.core.queue_statement` (Q1). Every change to a queue is an
audit-trail event on the request and its item (Q6).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import bindparam, select

from libdesk.core import (
    Ctx,
    Result,
    action,
    event_t,
    event_view,
    item_t,
    known_id,
    queue_statement,
    request_t,
    request_view,
)
from libdesk.db import Database
from libdesk.operators import request_place
from libdesk.errors import InvalidInput, NotFound, NotPermitted, WrongState
from libdesk.models import (
    CANCELLED,
    IN_PROCESS,
    LOAN,
    LOST,
    MISSING,
    ON_HOLD_SHELF,
    PATRON,
    PICKUP_FROM_SHELF,
    STEP_NAMES,
    TRANSIT_ITEM,
    WAITING,
    WAITING_FOR_REMOTE_STORAGE,
    Patron,
    table,
)
from libdesk.routing import notify

patron_t = table(Patron)
_SELECT_PATRON = select(patron_t).where(patron_t.c.id == bindparam("id"))


def patron(ctx: Ctx, patron_id: str, *, for_new_activity: bool = True) -> dict[str, Any]:
    """The patron record.

    Raises:
        NotFound: unknown patron.
        NotPermitted: a pseudopatron or inactive patron, for a new loan or request.
    """
    row = ctx.conn.execute(_SELECT_PATRON, {"id": patron_id}).first()
    if row is None:
        raise NotFound(f"No patron {patron_id!r}")
    rec = dict(row._mapping)
    if for_new_activity and rec["pseudo"]:
        raise NotPermitted(f"{patron_id} is a migrated pseudopatron: no new loans or requests can be made for it")
    if for_new_activity and not rec["active"]:
        raise NotPermitted(f"Patron {patron_id} is not active")
    return rec


def refuse_borrowed(item: dict[str, Any], what: str) -> None:
    """A borrowed (resource-sharing) item belongs to its lender: it is handled on Borrowing
    Requests only.

    Raises:
        WrongState: the item is a temporary resource-sharing item.
    """
    if item.get("borrowing_id") is not None:
        raise WrongState(f"Item {item['barcode']} is borrowed from a partner (borrowing request "
                         f"{item['borrowing_id']}): it cannot be {what}; use Borrowing Requests")


def _is_pseudo(ctx: Ctx, patron_id: str | None) -> bool:
    """Loans to a migrated pseudopatron are staff holdings: they are never recalled."""
    if patron_id is None:
        return False
    row = ctx.conn.execute(_SELECT_PATRON, {"id": patron_id}).first()
    return bool(row and row.pseudo)


def place_request(db: Database, barcode: str, patron_id: str, pickup: str, *, operator: str,
                  at: str | None = None) -> Result:
    """Place a patron request for pickup at a desk. On a loaned item it recalls the loan
    (Q3: the due date moves to no later than today + recall_days, and a notice is recorded).

    Raises:
        NotFound: unknown barcode, patron or pickup desk.
        NotPermitted: pickup is not a desk; pseudopatron.
        WrongState: item missing/lost, already on loan to this patron, or already requested by them.
    """
    with action(db, operator, at) as ctx:
        item = ctx.item(barcode)
        pickup_place = ctx.inst.desk(pickup)
        ctx.touch(pickup_place.code, doing="the request's pickup desk")
        who = patron(ctx, patron_id)
        if item["process_type"] in (MISSING, LOST):
            raise WrongState(f"Item {barcode} is {item['process_type']}; it cannot be requested")
        refuse_borrowed(item, "requested")
        if item["loan_patron"] == patron_id:
            raise WrongState(f"Item {barcode} is already on loan to {patron_id}")
        queue = ctx.queue(item["id"])
        if any(r["kind"] == PATRON and r["patron"] == patron_id for r in queue):
            raise WrongState(f"Patron {patron_id} already has an active request for {barcode}")
        req = ctx.insert_request(item, kind=PATRON, patron=who["id"], pickup=pickup_place.code, step=WAITING,
                                 message=f"patron request, pickup {pickup_place.code}")
        message = f"Request {req['id']} placed for patron {patron_id}, pickup at {pickup_place.name}"
        if item["process_type"] == LOAN and not _is_pseudo(ctx, item["loan_patron"]):
            due = item["loan_due"]
            recalled = ctx.today + timedelta(days=ctx.inst.policy.recall_days)
            new_due = min(due, recalled) if due else recalled
            if new_due != due:  # a second request does not recall (or notify) again
                ctx.update_item(item, "recall", loan_due=new_due, message=f"recalled for request {req['id']}")
                notify(ctx, item["loan_patron"], "recall", item, req,
                       f"{item['title']} has been recalled; please return it by {new_due.isoformat()}")
                message += f"; loan recalled, now due {new_due.isoformat()}"
        position = [r["id"] for r in ctx.queue(item["id"])].index(req["id"]) + 1
        message += f" (place {position} in queue)"
        return Result(message, barcode=barcode, item=ctx.view(item), extra={"request": request_view(ctx.inst, ctx.request(req["id"]))})


def list_requests(db: Database, barcode: str) -> list[dict[str, Any]]:
    """The item's queue, in order."""
    with db.read() as conn:
        row = conn.execute(select(item_t.c.id).where(item_t.c.barcode == barcode)).first()
        if row is None:
            raise NotFound(f"No item with barcode {barcode!r}")
        rows = conn.execute(queue_statement(db.institution), {"item_id": row.id}).all()
        return [request_view(db.institution, dict(r._mapping)) for r in rows]


def _active_request(ctx: Ctx, request_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    req = ctx.request(request_id)
    ctx.touch(request_place(req), doing=f"request {request_id} belongs there")
    if not req["active"]:
        raise WrongState(f"Request {request_id} is already {req['step']}")
    return req, ctx.item_by_id(req["item_id"])


def activate(db: Database, request_id: int, *, operator: str, at: str | None = None) -> Result:
    """Force a request to the front of its queue (Q2). It never recalls a loan.

    Raises:
        NotFound: unknown request. WrongState: not active, or already forced.
    """
    with action(db, operator, at) as ctx:
        req, item = _active_request(ctx, request_id)
        if req["forced"]:
            raise WrongState(f"Request {request_id} is already forced")
        ranks = [r["forced_rank"] or 0 for r in ctx.queue(item["id"]) if r["forced"]]
        ctx.update_request(req, "request_activated", item=item, forced=True, forced_rank=max(ranks, default=0) + 1,
                           message="forced to the front of the queue")
        position = [r["id"] for r in ctx.queue(item["id"])].index(request_id) + 1
        if position == 1:
            message = f"Request {request_id} activated: Forced, first in the queue"
        else:
            message = (f"Request {request_id} activated: Forced, place {position} in the queue "
                       "(behind requests forced before it)")
        if item["process_type"] == LOAN:
            message += f" (no recall: the item stays on loan to {item['loan_patron']} until returned)"
        return Result(message, barcode=item["barcode"], item=ctx.view(item),
                      extra={"request": request_view(ctx.inst, ctx.request(request_id))})


def cancel(db: Database, request_id: int, *, operator: str, at: str | None = None, confirm: bool = False) -> Result:
    """Cancel a request, by its workflow step (Q5).

    - Waiting, Pickup From Shelf, Waiting for Remote Storage: the request (and with it the
      work order) is cancelled; the item stays where it is.
    - Transit Item: refused, because the item is already on its way and must arrive and be
      marked Done; with ``confirm`` only the request is cancelled and the message says so.
    - In Process: only the request is cancelled; the item stays in process until Done.
    - On Hold Shelf: the request is cancelled; the item must be taken off the hold shelf and
      scanned in at the desk, which routes it on.

    Raises:
        NotFound: unknown request. WrongState: not active; Transit Item without confirm.
    """
    with action(db, operator, at) as ctx:
        req, item = _active_request(ctx, request_id)
        step = req["step"]
        dest = ctx.place_name(req["department"] or req["pickup"])
        if step == TRANSIT_ITEM and not confirm:
            if req["kind"] == PATRON:
                raise WrongState(
                    f"Request {request_id} is in Transit Item: the item is on its way to {dest} for patron "
                    f"{req['patron']}. To cancel the request anyway, confirm; the item is then sent on from "
                    "wherever it is next scanned")
            raise WrongState(
                f"Request {request_id} is in Transit Item: the item is on its way to {dest}. Let it arrive and "
                "mark it Done there (cancelling now would leave it bouncing between desks); "
                "to cancel only the request anyway, confirm"
            )
        ctx.update_request(req, "request_cancelled", item=item, step=CANCELLED, active=False, closed_at=ctx.now,
                           message=f"cancelled at step {step}")
        if req["kind"] == PATRON:
            notify(ctx, req["patron"], "cancellation", item, req, f"Your request for {item['title']} was cancelled")
        if step in (WAITING, PICKUP_FROM_SHELF, WAITING_FOR_REMOTE_STORAGE):
            message = f"Request {request_id} cancelled; the item stays where it is"
        elif step == TRANSIT_ITEM and req["kind"] == PATRON:
            message = (f"Request {request_id} cancelled: the item was in transit to {dest}; scan it in wherever it "
                       "arrives and it is sent on (next request or home)")
        elif step == TRANSIT_ITEM:
            message = (f"Request {request_id} cancelled (request only): the item is still in transit to {dest} "
                       "and must arrive and be marked Done there before it goes home")
        elif step == IN_PROCESS:
            message = (f"Request {request_id} cancelled (request only): the item stays in process at {dest} "
                       "until it is marked Done")
            location = ctx.inst.locations.get(item["location"])
            if location is not None and location.remote_storage:
                desk = ctx.inst.home_desk(item["library"], item["location"])
                message += (f". If it never left remote storage (Do not pick from shelf by mistake), {desk.name} "
                            f"corrects it back to In place (libdesk correct {item['barcode']} --at {desk.code})")
        elif step == ON_HOLD_SHELF:
            message = (f"Request {request_id} cancelled: take the item off the hold shelf at {dest} and scan it in "
                       "to send it on")
        else:
            message = f"Request {request_id} cancelled"
        return Result(message, barcode=item["barcode"], item=ctx.view(item),
                      extra={"request": request_view(ctx.inst, ctx.request(request_id))})


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{text!r} is not a date (use YYYY-MM-DD)") from None


def set_expiry(db: Database, request_id: int, expiry: date | str, *, operator: str, at: str | None = None) -> Result:
    """Update a request's expiry date (W16: nothing happens at expiry; lists flag it).

    Raises:
        NotFound, WrongState, InvalidInput (not a date).
    """
    new = parse_date(expiry) if isinstance(expiry, str) else expiry
    with action(db, operator, at) as ctx:
        req, item = _active_request(ctx, request_id)
        ctx.update_request(req, "request_expiry", item=item, expiry=new, message="expiry date updated")
        return Result(f"Request {request_id} now expires {new.isoformat()}", barcode=item["barcode"],
                      item=ctx.view(item), extra={"request": request_view(ctx.inst, ctx.request(request_id))})


def edit(db: Database, request_id: int, *, operator: str, at: str | None = None, note: str | None = None,
         department: str | None = None) -> Result:
    """Edit a request: its note, or (work orders) its department, to one of the same type.

    Raises:
        NotFound, WrongState (not active; in process at its department already),
        InvalidInput (department of another type; nothing to change).
    """
    with action(db, operator, at) as ctx:
        req, item = _active_request(ctx, request_id)
        changes: dict[str, Any] = {}
        if note is not None:
            changes["note"] = note
        if department is not None:
            if req["kind"] == PATRON:
                raise InvalidInput("A patron request has a pickup desk, not a department")
            dept = ctx.inst.department(department)
            if dept.work_order_type != req["work_order_type"]:
                raise InvalidInput(
                    f"{dept.name} ({dept.code}) runs {dept.work_order_type}, not {req['work_order_type']}: "
                    "choose a department of the same type")
            if req["step"] in (IN_PROCESS, ON_HOLD_SHELF):
                raise WrongState(f"The item is already in process at {req['department']}: scan it in at "
                                 f"{dept.code} to transfer it there")
            changes["department"] = dept.code
        if not changes:
            raise InvalidInput("Nothing to change: give a note or a department")
        ctx.update_request(req, "request_edited", item=item, **changes)
        if "department" in changes and req["step"] == TRANSIT_ITEM and item["current_request_id"] == req["id"]:
            ctx.update_item(item, "transit", transit_to=changes["department"], message="request edited")
        return Result(f"Request {request_id} updated", barcode=item["barcode"], item=ctx.view(item),
                      extra={"request": request_view(ctx.inst, ctx.request(request_id))})


def audit_trail(db: Database, request_id: int) -> list[dict[str, Any]]:
    """The request's audit trail, oldest first (Monitor's Audit Trail, SPEC L3): every event on
    the request, and every event on its item while the request was active, from its placing
    to its closing, so staff "see when it entered or left a particular status" (seed 000).
    Item events are marked ``"on": "item"``, the request's own ``"on": "request"``.

    Raises:
        NotFound: unknown request.
    """
    known_id(request_id, f"No request with id {request_id}")
    with db.read() as conn:
        req = conn.execute(select(request_t.c.item_id, request_t.c.active)
                           .where(request_t.c.id == request_id)).first()
        if req is None:
            raise NotFound(f"No request with id {request_id}")
        own = [dict(r._mapping) for r in
               conn.execute(select(event_t).where(event_t.c.request_id == request_id).order_by(event_t.c.id))]
        item_events: list[dict[str, Any]] = []
        if own:
            # The window is by event id (the order things happened in), not by time: two
            # events in the same second keep their order.
            # Item events only: another request's events on the same item are that request's.
            window = select(event_t).where(event_t.c.item_id == req.item_id, event_t.c.id > own[0]["id"],
                                           event_t.c.request_id.is_(None))
            if not req.active:
                window = window.where(event_t.c.id < own[-1]["id"])
            item_events = [dict(r._mapping) for r in conn.execute(window.order_by(event_t.c.id))]
        rows = sorted([(e, "request") for e in own] + [(e, "item") for e in item_events], key=lambda p: p[0]["id"])
        return [{**event_view(e), "on": on} for e, on in rows]


_PULL_STEPS = (WAITING, PICKUP_FROM_SHELF, WAITING_FOR_REMOTE_STORAGE)


def cancel_explanation(step: str, *, work_order: bool, where: str, patron: str | None = None) -> str:
    """What cancelling a request at workflow ``step`` does (SPEC Q5), in the words of the seed,
    for the face that asks before :func:`cancel` (``where``: its pickup desk or department, in
    words)."""
    step_name = STEP_NAMES.get(step, step)
    what = "the request and its work order" if work_order else "the request"
    if step in _PULL_STEPS:
        return (f"Workflow step: {step_name}. Nothing has been done with the item yet.\n\n"
                f"Cancel cancels {what}; the item stays where it is.")
    if step == TRANSIT_ITEM and work_order:
        return (f"Workflow step: Transit Item. The item has already left its shelf and is on its way to "
                f"{where}.\n\n"
                "Do NOT cancel: let it arrive and mark the work order Done there; then it goes home or to "
                "its next request. Cancelling now cancels only the request: the item still travels to "
                f"{where} and must be marked Done there, or it bounces between the owning library and "
                "the department and no one knows where it belongs.")
    if step == TRANSIT_ITEM:
        for_whom = f" for patron {patron}" if patron else ""
        return (f"Workflow step: Transit Item. The item is on its way to {where}{for_whom}.\n\n"
                "Cancelling cancels only the request; the item keeps travelling, and is sent on (its next "
                "request, or home) wherever it is next scanned in.")
    if step == IN_PROCESS:
        return (f"Workflow step: In Process. The item is in the work order at {where}.\n\n"
                f"Cancel cancels only the request: the item stays in process at {where} until it is "
                "marked Done there.")
    if step == ON_HOLD_SHELF:
        return (f"Workflow step: On Hold Shelf at {where}.\n\n"
                "Cancel cancels the request; take the item off the hold shelf and scan it in at the desk "
                "to send it on.")
    return f"Workflow step: {step_name}.\n\nCancel cancels the request."
