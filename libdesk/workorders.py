"""Work orders: the row action Work Order, status moves, transfers, Done, the item editor.

A work order is the item's process: its type ("the line"), its department ("the
neighbourhood") and its status ("the stop"). The work-order request it serves carries the
creator (W15), the note and the expiry (W16).
"""

from __future__ import annotations

from typing import Any

from libdesk.core import Ctx, Result, action, request_view
from libdesk.db import Database
from libdesk.errors import InvalidInput, WrongState
from libdesk.institution import Place
from libdesk.models import (
    ACQUISITION,
    HOLD_SHELF,
    IN_PROCESS,
    LOAN,
    LOST,
    MISSING,
    TRANSIT,
    WAITING,
    WORK_ORDER,
    WORK_ORDER_REQUEST,
)
from libdesk.routing import (
    NO_PROCESS,
    Routed,
    complete_request,
    refresh_head,
    release_current,
    route,
    serve,
    shelf_step,
    status_for,
)


def department_of_type(ctx: Ctx, type_code: str, department: str) -> Place:
    """Validate that ``department`` runs ``type_code``.

    Raises:
        NotFound: unknown type or department. InvalidInput: the department runs another type.
    """
    wo_type = ctx.inst.work_order_type(type_code)
    dept = ctx.inst.department(department)
    if dept.work_order_type != wo_type.code:
        choices = ", ".join(d.code for d in ctx.inst.departments_of_type(wo_type.code))
        raise InvalidInput(
            f"{dept.name} ({dept.code}) does not run {wo_type.name} work orders; choose one of: {choices}")
    return dept


def place_work_order(db: Database, barcode: str, type_code: str, department: str, *, operator: str,
                     note: str = "", in_hand: bool = False, at: str | None = None) -> Result:
    """The row action Work Order (W11).

    In hand ("Do not pick from shelf"): the item goes In Transit to the department at once
    (step Transit Item). Not in hand: the request goes on the owning library's pick list
    (Pickup From Shelf, or Waiting for Remote Storage for remote items). An item that is on
    loan or in another process keeps it; the request waits its turn (W9), and a loan is
    never recalled for a work order (Q3).

    Raises:
        NotFound: barcode, type or department. InvalidInput: department of another type.
        WrongState: item missing or lost.
    """
    with action(db, operator, at) as ctx:
        item = ctx.item(barcode)
        dept = department_of_type(ctx, type_code, department)
        if item["process_type"] in (MISSING, LOST):
            raise WrongState(f"Item {barcode} is {item['process_type']}; find it before starting a work order")
        req = ctx.insert_request(item, kind=WORK_ORDER_REQUEST, work_order_type=dept.work_order_type,
                                 department=dept.code, note=note, in_hand=in_hand, step=WAITING,
                                 message=f"work order request for {dept.code}" + (" (in hand)" if in_hand else ""))
        type_name = ctx.inst.work_order_types[dept.work_order_type or ""].name
        queue = ctx.queue(item["id"])
        is_head = bool(queue) and queue[0]["id"] == req["id"]
        free = item["process_type"] is None or (item["process_type"] == TRANSIT and item["current_request_id"] is None)
        if in_hand and is_head and free:
            routed = serve(ctx, item, req, ctx.place)
            message = f"{type_name} work order for {dept.name}: {routed.message}"
            destination, step = routed.destination, routed.next_step
        else:
            refresh_head(ctx, item)
            req = ctx.request(req["id"])
            destination, step = dept.code, "waits"
            if item["process_type"] is None and is_head:
                where = ctx.inst.home_desk(item["library"], item["location"])
                what = "Waiting for Remote Storage" if shelf_step(ctx, item) != "pickup_from_shelf" else "Pickup From Shelf"
                message = (f"{type_name} work order for {dept.name}: on the pick list of {where.name} ({what})")
            elif item["process_type"] == LOAN:
                message = (f"{type_name} work order for {dept.name} waits: the item is on loan to "
                           f"{item['loan_patron']} (no recall is sent for a work order)")
            else:
                position = [r["id"] for r in ctx.queue(item["id"])].index(req["id"]) + 1
                message = (f"{type_name} work order for {dept.name} waits (place {position} in queue); "
                           "it follows when the item's current process is done")
        return Result(message, barcode=barcode, destination=destination, next_step=step, item=ctx.view(item),
                      extra={"request": request_view(ctx.inst, ctx.request(req["id"]))})


def change_status(ctx: Ctx, item: dict[str, Any], dept: Place, status: str | None) -> Routed:
    """Move an item already in a work order at ``dept`` to ``status`` (W1; logged even when
    the status does not change)."""
    status = item["status"] if status is None else status_for(ctx, dept, status)
    ctx.update_item(item, "status_changed", status=status, message=f"{dept.code}: {status}")
    return Routed("in_process", dept.code, f"{dept.name}: status {status}")


def transfer(ctx: Ctx, item: dict[str, Any], dept: Place, status: str | None) -> Routed:
    """Same-type transfer (W8): the work order moves to ``dept`` with its request."""
    old = item["department"]
    status = item["status"] if status is None else status_for(ctx, dept, status)
    if item["current_request_id"] is not None:
        req = ctx.request(item["current_request_id"])
        if req["active"]:
            ctx.update_request(req, "request_transferred", item=item, department=dept.code,
                               message=f"work order transferred from {old}")
    ctx.update_item(item, "work_order_transferred", department=dept.code, status=status, wo_since=ctx.now,
                    message=f"transferred from {old}")
    return Routed("in_process", dept.code,
                  f"Work order transferred from {ctx.place_name(old)} to {dept.name}: {status}")


def mark_done(ctx: Ctx, item: dict[str, Any], dept: Place) -> Routed:
    """Done (W4): complete the work order and send the item on (W5)."""
    complete_request(ctx, item, item["current_request_id"], f"work order done at {dept.code}")
    ctx.update_item(item, "work_order_done", **NO_PROCESS, message=f"Done at {dept.code}")
    routed = route(ctx, item, dept)
    routed.message = f"Done — {routed.message}"
    return routed


def edit_item(db: Database, barcode: str, type_code: str, department: str, *, operator: str,
              at: str | None = None) -> Result:
    """Physical Item Editor (W12): set work-order type and department directly, with no
    status and no transit. The item is then "at" that department. Alma warns that this
    skips the status and the transit steps; so does the result message.

    Raises:
        NotFound, InvalidInput (department of another type),
        WrongState (on loan or on the hold shelf, or still to be received).
    """
    with action(db, operator, at) as ctx:
        item = ctx.item(barcode)
        dept = department_of_type(ctx, type_code, department)
        if item["process_type"] == LOAN:
            raise WrongState(f"Item {barcode} is on loan to {item['loan_patron']}: return it before editing its process")
        if item["process_type"] == HOLD_SHELF:
            raise WrongState(f"Item {barcode} is on the hold shelf for a request: cancel or fill it first")
        if item["process_type"] == ACQUISITION:
            raise WrongState(f"Item {barcode} has not been received yet: receive it first")
        current = ctx.request(item["current_request_id"]) if item["current_request_id"] else None
        if item["process_type"] == WORK_ORDER and current is not None and current["active"]:
            ctx.update_request(current, "request_edited", item=item, work_order_type=dept.work_order_type,
                               department=dept.code, step=IN_PROCESS, message="Physical Item Editor")
            req_id = current["id"]
        else:
            release_current(ctx, item)
            req_id = ctx.insert_request(item, kind=WORK_ORDER_REQUEST, work_order_type=dept.work_order_type,
                                        department=dept.code, step=IN_PROCESS, note="Physical Item Editor",
                                        message="Physical Item Editor")["id"]
        ctx.update_item(item, "physical_item_editor",
                        **{**NO_PROCESS, "process_type": WORK_ORDER, "work_order_type": dept.work_order_type,
                           "department": dept.code, "current_request_id": req_id, "wo_since": ctx.now},
                        message="Physical Item Editor: process type and department set directly (no status, no transit)")
        type_name = ctx.inst.work_order_types[dept.work_order_type or ""].name
        return Result(
            f"Physical Item Editor: item is now at {dept.name} in a {type_name} work order with no status "
            "(status and transit steps were skipped)",
            barcode=barcode, destination=dept.code, next_step="in_process", item=ctx.view(item))
