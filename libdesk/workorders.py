"""Work orders: the row action Work Order, status moves, transfers, Done, the item editor.

A work order is the item's process: its type ("the line"), its department ("the
neighbourhood") and its status ("the stop"). The work-order request it serves carries the
creator (W15), the note and the expiry (W16).
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from libdesk import writers
from libdesk.batch import BatchCtx
from libdesk.core import Ctx, Result, action, item_t, request_view
from libdesk.db import Database, is_retryable_conflict
from libdesk.errors import InvalidInput, LibdeskError, WrongState
from libdesk.institution import Institution, Place
from libdesk.operators import item_place
from libdesk.models import (
    ACQUISITION,
    STEP_NAMES,
    HOLD_SHELF,
    IN_PROCESS,
    LOAN,
    LOST,
    MISSING,
    RESOURCE_SHARING,
    TRANSIT,
    WAITING,
    WORK_ORDER,
    WORK_ORDER_REQUEST,
)
from libdesk.requests import refuse_borrowed
from libdesk.routing import (
    NO_PROCESS,
    Routed,
    complete_request,
    release_current,
    route,
    serve,
    start_work_order,
    status_for,
)


def department_of_type(ctx: Ctx | Institution, type_code: str, department: str) -> Place:
    """Validate that ``department`` runs ``type_code``.

    Raises:
        NotFound: unknown type or department. InvalidInput: the department runs another type.
    """
    inst = ctx.inst if isinstance(ctx, Ctx) else ctx
    wo_type = inst.work_order_type(type_code)
    dept = inst.department(department)
    if dept.work_order_type != wo_type.code:
        choices = ", ".join(d.code for d in inst.departments_of_type(wo_type.code))
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
        if in_hand and item["process_type"] is not None:
            # In hand sends the item on at once. An item in place may be in anyone's hand (taken
            # from a shelf or a cart); one in a process (in transit, on a hold shelf, in another
            # work order) is re-routed, which only the staff of where it is meant to be may do.
            # A desk sending an item to another department's work order is the normal flow.
            ctx.touch(item_place(ctx.inst, item), doing="the item is sent on from there")
        if item["process_type"] in (MISSING, LOST):
            raise WrongState(f"Item {barcode} is {item['process_type']}; find it before starting a work order")
        refuse_borrowed(item, "put in a work order")
        req = ctx.insert_request(item, kind=WORK_ORDER_REQUEST, work_order_type=dept.work_order_type,
                                 department=dept.code, note=note, in_hand=in_hand, step=WAITING,
                                 message=f"work order request for {dept.code}" + (" (in hand)" if in_hand else ""))
        type_name = ctx.inst.work_order_types[dept.work_order_type or ""].name
        queue = ctx.queue(item["id"])
        is_head = bool(queue) and queue[0]["id"] == req["id"]
        free = item["process_type"] is None or (item["process_type"] == TRANSIT and item["current_request_id"] is None)
        location = ctx.inst.locations.get(item["location"])
        remote = location is not None and location.remote_storage
        if in_hand and is_head and item["process_type"] is None and remote:
            # "Do not pick from shelf" on a remote-storage item: nothing is sent to remote
            # storage, and the work order starts at the department at once, as Alma does (seed
            # 000: the Workflow Step is then In Process). If it was a mistake: cancel the
            # request, and the depository desk corrects the item back to In place.
            routed = start_work_order(ctx, item, dept, None, req)
            desk = ctx.inst.home_desk(item["library"], item["location"])
            message = (f"{type_name} work order for {dept.name}: In Process there now (Do not pick from shelf: "
                       f"nothing goes to {desk.name}). If the item is still in remote storage, cancel the request; "
                       f"{desk.name} then corrects it back to In place")
            destination: str | None
            destination, step = dept.code, "in_process"
        elif in_hand and is_head and free:
            routed = serve(ctx, item, req, ctx.place)
            message = f"{type_name} work order for {dept.name}: {routed.message}"
            destination, step = routed.destination, routed.next_step
        elif in_hand and free:
            # In hand, but an earlier request comes first: the item goes to fill that one now
            # (it must not sit "In place" in somebody's hand); the work order follows.
            routed = route(ctx, item, ctx.place)
            position = [r["id"] for r in ctx.queue(item["id"])].index(req["id"]) + 1
            message = (f"{type_name} work order for {dept.name} waits (place {position} in queue). "
                       f"The item in hand goes first to: {routed.message}")
            destination, step = routed.destination, routed.next_step
        else:
            ctx.settle()
            req = ctx.request(req["id"])
            destination, step = dept.code, "waits"
            if item["process_type"] is None and is_head:
                where = ctx.inst.home_desk(item["library"], item["location"])
                what = STEP_NAMES[ctx.shelf_step(item)]
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
    ctx.update_item(item, "status_changed", status=status, message=f"{dept.code}: {status or 'no status'}")
    return Routed("in_process", dept.code, f"{dept.name}: status {status or '(none set)'}")


def transfer(ctx: Ctx, item: dict[str, Any], dept: Place, status: str | None) -> Routed:
    """Same-type transfer (W8): the work order moves to ``dept`` with its request."""
    old = item["department"]
    status = item["status"] if status is None else status_for(ctx, dept, status)
    if item["current_request_id"] is not None:
        req = ctx.request(item["current_request_id"])
        if req["active"]:
            # A new department, a new Days in Department clock (W16).
            ctx.update_request(req, "request_transferred", item=item, department=dept.code,
                               expiry=ctx.today + timedelta(days=dept.days or 0),
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
        # Only staff of the department may put an item there, or take it from its department.
        ctx.touch(dept.code, item["department"], doing="work orders there")
        refuse_borrowed(item, "put in a work order")
        if item["process_type"] == RESOURCE_SHARING:
            raise WrongState(f"Item {barcode} is a borrowed resource-sharing item: it cannot enter a work order")
        if item["process_type"] == LOAN:
            raise WrongState(f"Item {barcode} is on loan to {item['loan_patron']}: return it before editing its process")
        if item["process_type"] == HOLD_SHELF:
            raise WrongState(f"Item {barcode} is on the hold shelf for a request: cancel or fill it first")
        if item["process_type"] == ACQUISITION:
            raise WrongState(f"Item {barcode} has not been received yet: receive it first")
        current = ctx.request(item["current_request_id"]) if item["current_request_id"] else None
        expiry = ctx.today + timedelta(days=dept.days or 0)
        if item["process_type"] == WORK_ORDER and current is not None and current["active"]:
            ctx.update_request(current, "request_edited", item=item, work_order_type=dept.work_order_type,
                               department=dept.code, step=IN_PROCESS, expiry=expiry, message="Physical Item Editor")
            req_id = current["id"]
        else:
            release_current(ctx, item)
            req_id = ctx.insert_request(item, kind=WORK_ORDER_REQUEST, work_order_type=dept.work_order_type,
                                        department=dept.code, step=IN_PROCESS, note="Physical Item Editor",
                                        expiry=expiry, message="Physical Item Editor")["id"]
        ctx.update_item(item, "physical_item_editor",
                        **{**NO_PROCESS, "process_type": WORK_ORDER, "work_order_type": dept.work_order_type,
                           "department": dept.code, "current_request_id": req_id, "wo_since": ctx.now},
                        message="Physical Item Editor: process type and department set directly (no status, no transit)")
        type_name = ctx.inst.work_order_types[dept.work_order_type or ""].name
        return Result(
            f"Physical Item Editor: item is now at {dept.name} in a {type_name} work order with no status "
            "(status and transit steps were skipped)",
            barcode=barcode, destination=dept.code, next_step="in_process", item=ctx.view(item))


def place_work_orders(db: Database, barcodes: list[str], type_code: str, department: str, *, operator: str,
                      note: str = "", in_hand: bool = False, at: str | None = None,
                      progress: Callable[[int], None] | None = None) -> BulkResult:
    """The row action Work Order for a set of items (seed 000: "more efficient ways to do this
    using sets"): each item in its own transaction, as one would at the desk, so one bad barcode
    never undoes the others; the result groups where the items go and lists the failures.

    Raises:
        NotFound, InvalidInput: the type or department (checked once, before any item).
    """
    dept = department_of_type(db.institution, type_code, department)  # a wrong one fails the set at once
    type_name = db.institution.work_order_types[dept.work_order_type or ""].name
    result = BulkResult(f"{type_name} work order for {dept.name}")
    for code in barcodes:
        try:
            one = place_work_order(db, code, type_code, department, operator=operator, note=note,
                                   in_hand=in_hand, at=at)
        except LibdeskError as exc:
            result.failures.append((code, exc.message))
        else:
            result.done += 1
            if one.next_step == "waits":
                label = f"waiting for {one.destination}"
            elif one.next_step == "transit":
                label = f"in transit to {one.destination}"
            else:
                label = one.destination or one.next_step or "done"
            result.groups[label] += 1
        if progress is not None:
            progress(1)
    return result


# -- bulk Change Status and bulk Done (L2) -------------------------------------------------------

BULK_BATCH = 200
"""Items per transaction at most: a bulk Done of 10,000 items never holds the write lock (SQLite)
or its rows (PostgreSQL) for more than one batch (issue 5)."""

BULK_BATCH_SECONDS = 0.05
"""...and for at most about this long: a batch ends after the item that passes it. On a slow
disk or a large database 200 items took 150 ms and more, which a desk waiting behind every
batch felt (issue 11). The clock starts after the batch's read (set-based, issue 16: a few
milliseconds for 200 items): the read alone never cuts a batch to a few items."""

BULK_RETRIES = 5
"""A batch that the server rolls back for a deadlock or a serialization failure is run again
this many times (after a short, jittered pause), then its items are reported as not done."""

BULK_RETRY_PAUSE_S = 0.02

@dataclass
class BulkResult:
    """What a bulk action did: destinations grouped, failures listed."""

    action: str
    done: int = 0
    groups: Counter[str] = field(default_factory=Counter)
    failures: list[tuple[str, str]] = field(default_factory=list)

    @property
    def message(self) -> str:
        parts = [f"{n} → {dest}" for dest, n in self.groups.most_common()]
        if self.failures:
            shown = "; ".join(f"{code}: {why}" for code, why in self.failures[:3])
            more = f" (+{len(self.failures) - 3} more)" if len(self.failures) > 3 else ""
            parts.append(f"{len(self.failures)} failed: {shown}{more}")
        return f"{self.action}: " + (", ".join(parts) if parts else "nothing to do")

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "message": self.message, "done": self.done,
                "groups": dict(self.groups), "failed": [{"barcode": b, "error": e} for b, e in self.failures]}


def _group_label(routed: Routed) -> str:
    if routed.next_step == "hold_shelf":
        return "hold shelf"
    if routed.next_step == "reshelve":
        return "reshelve"
    return routed.destination or routed.next_step


def _lock_order(db: Database, barcodes: list[str]) -> list[tuple[int, str]]:
    """``(position, barcode)`` in item-id order: every bulk run takes its row locks in this one
    global order, so two runs over the same items given in opposite orders queue on each other
    instead of deadlocking (PostgreSQL; issue 11: 20 deadlocks in 20 rounds). Unknown barcodes
    go last (they lock nothing and fail as before)."""
    ids: dict[str, int] = {}
    unique = list(dict.fromkeys(barcodes))
    with db.read() as conn:
        for start in range(0, len(unique), 500):
            chunk = unique[start:start + 500]
            rows = conn.execute(select(item_t.c.barcode, item_t.c.id).where(item_t.c.barcode.in_(chunk)))
            ids.update((code, item_id) for code, item_id in rows)
    last = 1 + max(ids.values(), default=0)
    return sorted(enumerate(barcodes), key=lambda pc: (ids.get(pc[1], last), pc[0]))


class _Batch:
    """One batch's results, kept apart until its transaction commits (a retried batch must not
    count twice)."""

    def __init__(self) -> None:
        self.done = 0
        self.groups: Counter[str] = Counter()
        self.failures: list[tuple[int, str, str]] = []
        self.tried = 0


SET_BASED = True
"""Bulk batches run set-based (libdesk/batch.py); False runs each item with its own statements in
its own savepoint, as before issue 16 (tests compare the two)."""


def _run_batch(db: Database, todo: list[tuple[int, str]], at: str, operator: str, tag: str,
               one: Callable[[Ctx, dict[str, Any], Place], Routed], batch: _Batch) -> None:
    """Items from ``todo`` in one transaction, until BULK_BATCH of them or BULK_BATCH_SECONDS."""
    with action(db, operator, at, need_place=True, ctx_type=BatchCtx if SET_BASED else None) as ctx:
        dept = ctx.inst.department(at)
        ctx.tag = tag
        chunk = todo[:BULK_BATCH]
        if isinstance(ctx, BatchCtx):
            ctx.fetch([code for _, code in chunk])  # the batch's rows, locked in the run's one order
        began = time.monotonic()  # (after the read: a batch read whole and then cut would be read again)
        for position, code in chunk:
            batch.tried += 1
            try:
                if isinstance(ctx, BatchCtx):
                    # All or nothing per item: a failure leaves nothing of that item (L2).
                    routed = ctx.serve(code, lambda c, item: one(c, item, dept))
                else:
                    # A savepoint per item: a failure undoes that item only, never half of it (L2).
                    with ctx.conn.begin_nested():
                        item = ctx.item(code)
                        routed = one(ctx, item, dept)
            except LibdeskError as exc:
                if is_retryable_conflict(exc):
                    raise
                batch.failures.append((position, code, exc.message))
            else:
                batch.done += 1
                batch.groups[_group_label(routed)] += 1
            if time.monotonic() - began >= BULK_BATCH_SECONDS:
                break
        ctx.settle()  # here, not after the loop's transaction has left our hands: a conflict in it is retried too


def _bulk(db: Database, barcodes: list[str], at: str, operator: str, what: str,
          one: Callable[[Ctx, dict[str, Any], Place], Routed], progress: Callable[[int], None] | None) -> BulkResult:
    result = BulkResult(what)
    tag = f"bulk {what} of {len(barcodes)} items"
    todo = _lock_order(db, barcodes)
    failures: list[tuple[int, str, str]] = []
    sqlite = db.engine.dialect.name == "sqlite"
    start = 0
    while start < len(todo):
        for attempt in range(BULK_RETRIES + 1):
            batch = _Batch()
            try:
                _run_batch(db, todo[start:], at, operator, tag, one, batch)
                break
            except Exception as exc:
                if not is_retryable_conflict(exc):
                    raise
                if attempt == BULK_RETRIES:
                    # Rolled back every time: these items are unchanged; say so, and go on.
                    why = (f"not changed: another desk was changing the same items at the same moment "
                           f"(a lock conflict, tried {BULK_RETRIES + 1} times); run it again for this item")
                    tried, batch = max(1, batch.tried), _Batch()
                    batch.tried = tried
                    batch.failures = [(pos, code, why) for pos, code in todo[start:start + batch.tried]]
                    break
                time.sleep(BULK_RETRY_PAUSE_S * (attempt + 1) * (0.5 + random.random()))
        result.done += batch.done
        result.groups.update(batch.groups)
        failures.extend(batch.failures)
        start += batch.tried
        if progress is not None:
            progress(batch.tried)
        if sqlite and start < len(todo):
            # SQLite's busy handler is not fair: a desk waiting for the write lock gets it now,
            # before the next batch begins (libdesk/writers.py).
            writers.let_waiting_writers_in(db.description)
    result.failures = [(code, why) for _, code, why in sorted(failures)]
    return result


def bulk_change_status(db: Database, at: str, status: str, barcodes: list[str], *, operator: str,
                       progress: Callable[[int], None] | None = None) -> BulkResult:
    """Change the status of many items at department ``at`` (each must be in a work order there).

    Raises:
        NotFound, NotPermitted, InvalidInput (the status is not of the department's type);
        per-item problems are listed in the result instead.
    """
    dept = db.institution.department(at)
    wo_type = db.institution.work_order_type(dept.work_order_type or "")
    if status not in wo_type.statuses:
        raise InvalidInput(f"{status!r} is not a status of {wo_type.name} ({dept.code}): {', '.join(wo_type.statuses)}")

    def one(ctx: Ctx, item: dict[str, Any], here: Place) -> Routed:
        if item["process_type"] != WORK_ORDER or item["department"] != here.code:
            raise WrongState(f"not in a work order at {here.code}")
        return change_status(ctx, item, here, status)

    return _bulk(db, barcodes, at, operator, f"Change Status to {status}", one, progress)


def bulk_done(db: Database, at: str, barcodes: list[str], *, operator: str,
              progress: Callable[[int], None] | None = None) -> BulkResult:
    """Mark many items Done at department ``at``; each goes where W5 sends it.

    Raises:
        NotFound, NotPermitted; per-item problems are listed in the result instead.
    """
    db.institution.department(at)

    def one(ctx: Ctx, item: dict[str, Any], here: Place) -> Routed:
        if item["process_type"] != WORK_ORDER or item["department"] != here.code:
            raise WrongState(f"not in a work order at {here.code}")
        return mark_done(ctx, item, here)

    return _bulk(db, barcodes, at, operator, "Done", one, progress)
