"""Receiving: acquisition items arrive at a receiving department (W13).

With Keep in Department and a status, the received item enters that department's work
order (the type and department come from Currently At; only the status is chosen).
Without it, the item leaves the automated workflow by the destination rule: to a waiting
request, else In Transit to its owning library (or In place at once when the institution
says so and the department belongs to the item's own library).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from libdesk.core import Result, action, item_t
from libdesk.db import Database
from libdesk.errors import InvalidInput, NotPermitted, WrongState
from libdesk.institution import Place
from libdesk.models import ACQUISITION
from libdesk.routing import NO_PROCESS, Routed, route, start_work_order, status_for


def _receiving_department(db: Database, at: str) -> Place:
    dept = db.institution.department(at)
    if not dept.receives:
        raise NotPermitted(f"{dept.name} ({dept.code}) is not a receiving department")
    return dept


def awaiting(db: Database, at: str) -> list[dict[str, Any]]:
    """Items waiting to be received by this department (its library's acquisitions)."""
    dept = _receiving_department(db, at)
    stmt = (select(item_t.c.barcode, item_t.c.title, item_t.c.author, item_t.c.call_number, item_t.c.library,
                   item_t.c.location, item_t.c.material_type)
            .where(item_t.c.process_type == ACQUISITION, item_t.c.library == dept.library)
            .order_by(item_t.c.title, item_t.c.barcode))
    with db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(stmt)]


def receive(db: Database, barcode: str, *, at: str, operator: str, keep_in_department: bool = False,
            status: str | None = None) -> Result:
    """Receive one acquisition item at a receiving department.

    Raises:
        NotFound, NotPermitted (not a receiving department, another library's item, W3),
        InvalidInput (a status without Keep in Department, or one not of the type),
        WrongState (not awaiting receipt).
    """
    with action(db, operator, at, need_place=True) as ctx:
        dept = _receiving_department(db, at)
        if status is not None and not keep_in_department:
            raise InvalidInput("A status is chosen only with Keep in Department")
        if keep_in_department:
            status = status_for(ctx, dept, status)
        item = ctx.item(barcode)
        if item["process_type"] != ACQUISITION:
            raise WrongState(f"Item {barcode} is not awaiting receipt")
        if item["library"] != dept.library:
            raise NotPermitted(f"Item {barcode} belongs to {item['library']}: {dept.code} receives for {dept.library}")
        ctx.update_item(item, "received", **NO_PROCESS, message=f"received at {dept.code}")
        routed: Routed
        if keep_in_department:
            routed = start_work_order(ctx, item, dept, status, None)
            routed.message = f"Received, kept in department — {routed.message}"
        elif ctx.inst.policy.received_items_in_place and not ctx.queue(item["id"]):
            home = ctx.inst.home_desk(item["library"], item["location"])
            routed = route(ctx, item, home if home.library == dept.library else dept)
            routed.message = f"Received — {routed.message}"
        else:
            routed = route(ctx, item, dept)
            routed.message = f"Received — {routed.message}"
        return Result(routed.message, barcode=barcode, destination=routed.destination, next_step=routed.next_step,
                      item=ctx.view(item))
