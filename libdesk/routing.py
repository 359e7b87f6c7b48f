"""Where an item goes next: the destination rule shared by Scan In, Return, Done and Receive.

W5: the first request in the queue (forced first, then policy and time) decides. A patron
request sends the item to its pickup desk (or onto the hold shelf when it is already there);
a work-order request sends it to its department (or starts the work order when it is already
there). No request: home, which is the owning library's desk, or the remote-storage desk for
remote-storage items; an item already at a desk of its home library is In place (reshelve).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from libdesk.core import Ctx
from libdesk.errors import InvalidInput
from libdesk.institution import Place
from libdesk.models import (
    COMPLETED,
    HOLD_SHELF,
    IN_PROCESS,
    ON_HOLD_SHELF,
    PATRON,
    TRANSIT,
    TRANSIT_ITEM,
    WAITING,
    WORK_ORDER,
    Notice,
    table,
)

_INSERT_NOTICE = table(Notice).insert()

# Every field an item's process uses, cleared; an update passes this and overrides some.
NO_PROCESS: dict[str, Any] = {
    "process_type": None, "work_order_type": None, "department": None, "status": None,
    "transit_to": None, "hold_shelf": None, "current_request_id": None, "wo_since": None,
}


@dataclass
class Routed:
    next_step: str
    """hold_shelf | transit | reshelve | in_process"""
    destination: str | None
    message: str


def status_for(ctx: Ctx, dept: Place, status: str | None) -> str:
    """Validate a status for the department's work-order type (first status when None).

    Raises:
        InvalidInput: the status is not one of the type's statuses.
    """
    wo_type = ctx.inst.work_order_type(dept.work_order_type or "")
    if status is None:
        return wo_type.statuses[0]
    if status not in wo_type.statuses:
        raise InvalidInput(
            f"{status!r} is not a status of {wo_type.name} ({dept.code}): {', '.join(wo_type.statuses)}"
        )
    return status


def start_work_order(ctx: Ctx, item: dict[str, Any], dept: Place, status: str | None,
                     req: dict[str, Any] | None, action: str = "work_order_started") -> Routed:
    """Put the item in a work order at ``dept`` (arrival, W1/W13/W14); the serving work-order
    request becomes In Process and its expiry is arrival + Days in Department (W16)."""
    status = status_for(ctx, dept, status)
    expiry = ctx.today + timedelta(days=dept.days or 0)
    wo_type = dept.work_order_type
    if req is None:
        req = ctx.insert_request(item, kind="work_order", work_order_type=wo_type, department=dept.code,
                                 step=IN_PROCESS, expiry=expiry, message=f"work order at {dept.code}")
    else:
        ctx.update_request(req, "request_in_process", item=item, step=IN_PROCESS, expiry=expiry,
                           department=dept.code, message=f"arrived at {dept.code}")
    ctx.update_item(item, action, **{**NO_PROCESS, "process_type": WORK_ORDER, "work_order_type": wo_type,
                                     "department": dept.code, "status": status,
                                     "current_request_id": req["id"], "wo_since": ctx.now},
                    message=f"{dept.code}: {status}")
    type_name = ctx.inst.work_order_types[wo_type].name if wo_type else ""
    return Routed("in_process", dept.code, f"In {type_name} work order at {dept.name}: {status}")


def serve(ctx: Ctx, item: dict[str, Any], req: dict[str, Any], at: Place | None) -> Routed:
    """Send a free item to fill ``req``."""
    if req["kind"] == PATRON:
        pickup = ctx.inst.place(req["pickup"])
        if at is not None and at.code == pickup.code:
            ctx.update_request(req, "request_on_hold_shelf", item=item, step=ON_HOLD_SHELF)
            ctx.update_item(item, "hold_shelf", **{**NO_PROCESS, "process_type": HOLD_SHELF,
                                                   "hold_shelf": pickup.code, "current_request_id": req["id"]})
            notify(ctx, req["patron"], "hold_available", item, req,
                   f"{item['title']} is waiting for you at {pickup.name}")
            return Routed("hold_shelf", pickup.code,
                          f"Hold shelf at {pickup.name} — request for patron {req['patron']}")
        ctx.update_request(req, "request_in_transit", item=item, step=TRANSIT_ITEM)
        ctx.update_item(item, "transit", **{**NO_PROCESS, "process_type": TRANSIT, "transit_to": pickup.code,
                                            "current_request_id": req["id"]})
        return Routed("transit", pickup.code, f"In transit to {pickup.name} — request for patron {req['patron']}")
    dept = ctx.inst.place(req["department"])
    if at is not None and at.code == dept.code:
        return start_work_order(ctx, item, dept, None, req)
    ctx.update_request(req, "request_in_transit", item=item, step=TRANSIT_ITEM)
    ctx.update_item(item, "transit", **{**NO_PROCESS, "process_type": TRANSIT, "transit_to": dept.code,
                                        "current_request_id": req["id"]})
    type_name = ctx.inst.work_order_types[req["work_order_type"]].name
    return Routed("transit", dept.code, f"In transit to {dept.name} — {type_name} work order")


def route(ctx: Ctx, item: dict[str, Any], at: Place | None) -> Routed:
    """Send an item that has just become free (returned, Done, received, arrived) onward (W5, W6)."""
    queue = ctx.queue(item["id"])
    if queue:
        return serve(ctx, item, queue[0], at)
    home = ctx.inst.home_desk(item["library"], item["location"])
    if at is not None and at.is_desk and at.library == home.library:
        if any(item[k] != v for k, v in NO_PROCESS.items()):  # (a return already made it In place)
            ctx.update_item(item, "in_place", **NO_PROCESS)
        loc = ctx.inst.locations.get(item["location"])
        where = f" to {loc.name}" if loc else ""
        return Routed("reshelve", None, f"In place — reshelve{where} ({item['call_number']})")
    ctx.update_item(item, "transit", **{**NO_PROCESS, "process_type": TRANSIT, "transit_to": home.code})
    return Routed("transit", home.code, f"In transit to {home.name} (home)")


def complete_request(ctx: Ctx, item: dict[str, Any], req_id: int | None, why: str) -> None:
    """Mark the request the item was serving Completed (if it is still active)."""
    if req_id is None:
        return
    req = ctx.request(req_id)
    if req["active"]:
        ctx.update_request(req, "request_completed", item=item, step=COMPLETED, active=False,
                           closed_at=ctx.now, message=why)


def release_current(ctx: Ctx, item: dict[str, Any]) -> dict[str, Any] | None:
    """The item stops serving its current request without filling it (e.g. it was taken
    into a work order from the hold shelf): the request goes back to waiting. Returns the
    released request, or None."""
    req_id = item["current_request_id"]
    if req_id is None:
        return None
    req = ctx.request(req_id)
    if req["active"] and req["step"] in (TRANSIT_ITEM, ON_HOLD_SHELF):
        ctx.update_request(req, "request_step", item=item, step=WAITING,
                           message="item taken into another process; request waits")
        if req["kind"] == PATRON:
            notify(ctx, req["patron"], "hold_withdrawn", item, req,
                   f"{item['title']} is not available for you yet; your request waits")
        return req
    return None


def discharge(ctx: Ctx, item: dict[str, Any], why: str) -> str | None:
    """End the item's loan (return or W2 scan-in discharge); returns the patron or None."""
    patron = item["loan_patron"]
    if patron is None:
        return None
    ctx.update_item(item, "loan_returned", process_type=None, loan_patron=None, loan_due=None, message=why)
    ctx.retire_pseudopatron(patron)
    return patron


def notify(ctx: Ctx, patron: str | None, kind: str, item: dict[str, Any] | None, req: dict[str, Any] | None,
           text: str) -> None:
    """Record a notice to a patron (recall, hold available, cancellation). ``item`` is None
    for a borrowing request's notice before any item exists (B2, B3: no rota, rejected)."""
    if patron is None:
        return
    ctx.run.insert(_INSERT_NOTICE, {
        "at": ctx.now, "patron": patron, "kind": kind, "item_id": item["id"] if item is not None else None,
        "request_id": req["id"] if req else None, "text": text,
    })

