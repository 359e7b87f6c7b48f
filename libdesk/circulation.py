"""Circulation: loans, returns, what a circulation desk does with a scanned item, pick
lists and the hold shelf.

A desk scan (Return Items or Scan In at a desk) discharges a loan (W2, W10) and then sends
the item on: to the hold shelf or In Transit when a request waits, else In place when the
desk belongs to the item's home library, else In Transit home (W6). An item in a work order
stays in it: only its department can mark it Done (W7).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_, select

from libdesk import clock

from libdesk.core import Ctx, Result, action, count_of, event_t, item_t, request_t
from libdesk.db import Database
from libdesk.errors import NotPermitted, WrongState
from libdesk.institution import Place
from libdesk.models import (
    CANCELLED,
    IN_PROCESS,
    ACQUISITION,
    HOLD_SHELF,
    LOAN,
    LOST,
    MISSING,
    ON_HOLD_SHELF,
    PATRON,
    PICKUP_FROM_SHELF,
    RESOURCE_SHARING,
    STEP_NAMES,
    TRANSIT,
    WAITING_FOR_REMOTE_STORAGE,
    WORK_ORDER,
)
from libdesk.operators import item_place
from libdesk.requests import patron, refuse_borrowed
from libdesk.routing import NO_PROCESS, Routed, complete_request, discharge, notify, release_current, route, serve


def at_desk(ctx: Ctx, item: dict[str, Any], desk: Place) -> Routed:
    """What a circulation-desk scan does with an item in hand (Scan In at a desk, W6/W7)."""
    # -- resource sharing (B4, B5): a borrowed temporary item goes where its borrowing request
    # says (hold shelf, the resource-sharing desk, back to the lender), not home. Lazy import:
    # libdesk.borrowing imports this module. ---------------------------------------------
    if item["borrowing_id"] is not None:
        from libdesk import borrowing
        return borrowing.at_desk(ctx, item, desk)
    # -------------------------------------------------------------------------------------
    process = item["process_type"]
    if process == ACQUISITION:
        raise WrongState(f"Item {item['barcode']} has not been received yet: receive it at a department first")
    if process == WORK_ORDER:
        dept = ctx.inst.place(item["department"])
        wo = ctx.inst.work_order_types[item["work_order_type"]]
        return Routed("stays", dept.code,
                      f"Still in a {wo.name} work order: {dept.name} ({dept.code}) must mark it Done; "
                      "send it back there")
    if process == LOAN:
        who = discharge(ctx, item, f"returned at {desk.code}")
        routed = route(ctx, item, desk)
        routed.message = f"Returned from {who} — {routed.message}"
        return routed
    if process == TRANSIT and item["current_request_id"] is not None:
        req = ctx.request(item["current_request_id"])
        if req["active"] or req["kind"] != PATRON:
            # Travelling for a request: it arrives only at that request's place; elsewhere it
            # is passing through. A work order cancelled in transit still goes to its
            # department to be marked Done (Q5: no bouncing).
            if item["transit_to"] != desk.code:
                ctx.event("seen_in_transit", item=item, message=f"passed through {desk.code} on the way to "
                                                                f"{item['transit_to']}")
                return Routed("transit", item["transit_to"],
                              f"In transit to {ctx.place_name(item['transit_to'])} — send it on")
            if req["active"]:
                return serve(ctx, item, req, desk)
        # Its patron request was cancelled on the way: route it on from wherever it is now.
        return route(ctx, item, desk)
    if process == HOLD_SHELF:
        held = ctx.request(item["current_request_id"]) if item["current_request_id"] else None
        if held is not None and held["active"] and held["step"] == ON_HOLD_SHELF:
            if held["pickup"] == desk.code:
                return Routed("hold_shelf", desk.code, f"Already on the hold shelf for patron {held['patron']}")
            return Routed("stays", held["pickup"],
                          f"Belongs on the hold shelf at {ctx.place_name(held['pickup'])} for patron {held['patron']}")
        # Its request was cancelled: take it off the hold shelf and send it on.
        ctx.update_item(item, "off_hold_shelf", **NO_PROCESS, message="request no longer active")
        return route(ctx, item, desk)
    if process in (MISSING, LOST):
        ctx.update_item(item, "found", **NO_PROCESS, message=f"{process} item found at {desk.code}")
        routed = route(ctx, item, desk)
        routed.message = f"Found ({process}) — {routed.message}"
        return routed
    if process == RESOURCE_SHARING:
        return Routed("stays", None, "Resource-sharing item: handle it on the Borrowing Requests screen")
    # In place, or in transit home: arrive / pull for the head request.
    return route(ctx, item, desk)


def loan(db: Database, barcode: str, patron_id: str, *, at: str, operator: str, override: bool = False) -> Result:
    """Lend an item to a patron at a desk. An item on the hold shelf is lent only to the
    patron it waits for (their request is then completed); an item in place only when no
    one else's request is first in its queue. ``override`` lends it anyway (the desk decided
    the patron at the counter goes first): the other request stays in the queue and waits
    (an item taken from the hold shelf puts it back to waiting, its patron told), a patron
    request makes the loan due as a recalled one (today + recall_days), and a
    ``loan_override`` event names the request passed over and the operator.

    Raises:
        NotFound (barcode, patron, place), NotPermitted (not a desk; pseudopatron; W3),
        WrongState (not available to this patron).
    """
    with action(db, operator, at, need_place=True) as ctx:
        desk = ctx.inst.desk(at)
        item = ctx.item(barcode)
        who = patron(ctx, patron_id)
        if item["process_type"] == TRANSIT and item["transit_to"] == desk.code:
            # Arrived with the patron at the desk: receive it first (hold shelf or in place).
            at_desk(ctx, item, desk)
        process = item["process_type"]
        # -- resource sharing (B4): a borrowed temporary item is lent only to its borrowing
        # request's patron, from its hold shelf; it is then lent like a shelf item. ----------
        borrowed = None
        if item["borrowing_id"] is not None:
            from libdesk import borrowing  # lazy: libdesk.borrowing imports this module
            borrowed = borrowing.check_loan(ctx, item, patron_id, desk)
            process = None
        # -------------------------------------------------------------------------------------
        passed_over: dict[str, Any] | None = None
        if process == HOLD_SHELF:
            req = ctx.request(item["current_request_id"]) if item["current_request_id"] else None
            if req is None or not req["active"]:
                raise WrongState(f"Item {barcode} is on the hold shelf but its request was cancelled: "
                                 "scan it in first to send it on")
            if req["patron"] != patron_id and not override:
                raise WrongState(f"Item {barcode} is on the hold shelf for {req['patron']}, not for {patron_id} "
                                 "(lend it anyway only with an override)")
            if req["patron"] != patron_id:
                passed_over = release_current(ctx, item) or req
                # The borrower may be further down the queue: their request is filled now, or
                # the item would come back to the hold shelf for them when they return it.
                mine = [r for r in ctx.queue(item["id"]) if r["kind"] == PATRON and r["patron"] == patron_id]
                if mine:
                    complete_request(ctx, item, mine[0]["id"], f"loaned to {patron_id}")
            else:
                complete_request(ctx, item, req["id"], f"loaned to {patron_id}")
        elif process is not None:
            raise WrongState(f"Item {barcode} is not available: {_describe(ctx, item)}")
        else:
            queue = ctx.queue(item["id"])
            mine = [r for r in queue if r["kind"] == PATRON and r["patron"] == patron_id]
            if queue and queue[0] not in mine:
                head = queue[0]
                wanted = f"patron {head['patron']}" if head["kind"] == PATRON else f"a work order for {head['department']}"
                if not override:
                    raise WrongState(f"Item {barcode} is requested by {wanted} (first in queue): fill that request "
                                     "first (or lend it anyway with an override)")
                passed_over = head
            if mine:
                complete_request(ctx, item, mine[0]["id"], f"loaned to {patron_id}")
        due = ctx.today + timedelta(days=ctx.inst.policy.loan_days)
        if passed_over is not None:
            wanted = (f"patron {passed_over['patron']}" if passed_over["kind"] == PATRON
                      else f"a work order for {passed_over['department']}")
            if passed_over["kind"] == PATRON:
                due = min(due, ctx.today + timedelta(days=ctx.inst.policy.recall_days))
            ctx.event("loan_override", item=item, request_id=passed_over["id"],
                      message=f"lent to {patron_id} at {desk.code} by override of request {passed_over['id']} "
                              f"({wanted}), which waits")
        ctx.update_item(item, "loan", **{**NO_PROCESS, "process_type": LOAN, "loan_patron": who["id"], "loan_due": due},
                        message=f"loaned at {desk.code}")
        if borrowed is not None:  # resource sharing (B4): the request becomes Loaned Item to Patron
            borrowing.loaned(ctx, borrowed, item)
        note = ""
        if passed_over is not None:
            note = (f" — OVERRIDE: request {passed_over['id']} of "
                    f"{passed_over['patron'] or passed_over['department']} passed over and waits (logged)")
        return Result(f"Loaned to {patron_id}, due {due.isoformat()}{note}", barcode=barcode, destination=None,
                      next_step="loan", item=ctx.view(item),
                      extra={"override": passed_over["id"] if passed_over is not None else None})


RENEWED = "renewed"
"""The event of a renewal (its count since the loan limits the next one)."""


def renew(db: Database, barcode: str, *, operator: str, at: str) -> Result:
    """Renew a loan: due today + loan_days (never earlier than it was), at most
    ``policy.max_renewals`` times per loan; never while a request waits for the item (its
    patron or department is waiting: the loan was recalled, Q3), nor for a borrowed item
    (its due date is the lender's).

    Raises:
        NotFound, NotPermitted (not a desk; W3), WrongState (not on loan; requested; renewed
        too often; borrowed).
    """
    with action(db, operator, at, need_place=True) as ctx:
        ctx.inst.desk(at)
        item = ctx.item(barcode)
        if item["process_type"] != LOAN:
            raise WrongState(f"Item {barcode} is not on loan ({_describe(ctx, item)}): nothing to renew")
        refuse_borrowed(item, "renewed here (its due date is the lender's)")
        queue = ctx.queue(item["id"])
        if queue:
            head = queue[0]
            wanted = f"patron {head['patron']}" if head["kind"] == PATRON else f"a work order for {head['department']}"
            raise WrongState(f"Item {barcode} cannot be renewed: {wanted} requested it (request {head['id']}); "
                             f"it is due back {item['loan_due'].isoformat() if item['loan_due'] else 'now'}")
        loaned_at = ctx.conn.execute(select(func.max(event_t.c.id)).where(
            event_t.c.item_id == item["id"], event_t.c.action == "loan")).scalar_one()
        renewals = int(ctx.conn.execute(select(func.count()).select_from(event_t).where(
            event_t.c.item_id == item["id"], event_t.c.action == RENEWED,
            event_t.c.id > (loaned_at or 0))).scalar_one())
        limit = ctx.inst.policy.max_renewals
        if renewals >= limit:
            raise WrongState(f"Item {barcode} cannot be renewed again: renewed {count_of(renewals, 'time')} "
                             f"already (at most {limit})")
        due = ctx.today + timedelta(days=ctx.inst.policy.loan_days)
        if item["loan_due"] is not None:
            due = max(due, item["loan_due"])
        ctx.update_item(item, RENEWED, loan_due=due,
                        message=f"renewal {renewals + 1} of {limit} for {item['loan_patron']}")
        return Result(f"Renewed for {item['loan_patron']}: due {due.isoformat()} (renewal {renewals + 1} of {limit})",
                      barcode=barcode, destination=None, next_step="loan", item=ctx.view(item),
                      extra={"renewals": renewals + 1, "max_renewals": limit})


def return_item(db: Database, barcode: str, *, at: str, operator: str) -> Result:
    """Return Items (W10): discharge the loan; the result's Next Step says where it goes.

    Raises:
        NotFound, NotPermitted (not a desk; W3), WrongState (not on loan).
    """
    with action(db, operator, at, need_place=True) as ctx:
        desk = ctx.inst.desk(at)
        item = ctx.item(barcode)
        if item["process_type"] == WORK_ORDER:
            raise WrongState(f"Item {barcode} is not on loan: it is in a work order at {item['department']}, "
                             f"and only {item['department']} can mark it Done")
        if item["process_type"] != LOAN:
            raise WrongState(f"Item {barcode} is not on loan ({_describe(ctx, item)}); use Scan In Items instead")
        routed = at_desk(ctx, item, desk)
        return Result(routed.message, barcode=barcode, destination=routed.destination, next_step=routed.next_step,
                      item=ctx.view(item))


IN_HOUSE_USE = "in_house_use"
"""The event of a registered in-house use (and the ``next_step`` of its result)."""


def in_house_uses(conn: Any, item_id: int) -> int:
    """How many in-house uses an item has had (its ``in_house_use`` events)."""
    return int(conn.execute(select(func.count()).select_from(event_t).where(
        event_t.c.item_id == item_id, event_t.c.action == IN_HOUSE_USE)).scalar_one())


def register_in_house_use(db: Database, barcode: str, *, at: str, operator: str) -> Result:
    """Register in-house use (Alma: Return Items > Register in-house use): an item used in the
    building (a reading room, a pile left on a table) is scanned at a desk. The use is counted
    as one history event and nothing else changes: not its process, not its requests, not
    where it goes. When a request waits for it the message says so (scan it in to send it).

    Raises:
        NotFound, NotPermitted (not a desk; W3), WrongState (on loan: return it instead; not
        received yet).
    """
    with action(db, operator, at, need_place=True) as ctx:
        desk = ctx.inst.desk(at)
        item = ctx.item(barcode)
        if item["process_type"] == LOAN:
            raise WrongState(f"Item {barcode} is on loan to {item['loan_patron']}: return it (Return Items) "
                             "instead of registering an in-house use")
        if item["process_type"] == ACQUISITION:
            raise WrongState(f"Item {barcode} has not been received yet: receive it at a department first")
        ctx.event(IN_HOUSE_USE, item=item, message=f"in-house use at {desk.code}")
        count = in_house_uses(ctx.conn, item["id"])
        waiting = ctx.queue(item["id"]) if item["process_type"] is None else []
        note = " A request waits for it: scan it in (Scan In Items) to send it on." if waiting else ""
        return Result(f"In-house use registered for {barcode}: {count} in-house use{'s' if count != 1 else ''} "
                      f"so far. Nothing else changed.{note}", barcode=barcode, destination=None,
                      next_step=IN_HOUSE_USE, item=ctx.view(item), extra={"in_house_uses": count})


def _describe(ctx: Ctx, item: dict[str, Any]) -> str:
    process = item["process_type"]
    if process == LOAN:
        return f"on loan to {item['loan_patron']}"
    if process == WORK_ORDER:
        return f"in a {item['work_order_type']} work order at {item['department']}"
    if process == TRANSIT:
        return f"in transit to {item['transit_to']}"
    if process == HOLD_SHELF:
        return f"on the hold shelf at {item['hold_shelf']}"
    return process or "in place"


_PICK_STEPS = (PICKUP_FROM_SHELF, WAITING_FOR_REMOTE_STORAGE)


def picklist(db: Database, library: str) -> dict[str, Any]:
    """Pick list for a library (L5): requests whose item waits on the shelf to be pulled,
    in shelf (call number) order; remote-storage requests listed separately.

    Raises:
        NotFound: unknown library.
    """
    inst = db.institution
    inst.library(library)
    remote = [loc.code for loc in inst.locations.values() if loc.remote_storage]
    # A library pulls its own shelves; a remote-storage library pulls its locations' items.
    own_remote = [loc.code for loc in inst.locations.values() if loc.remote_storage and loc.library == library]
    stmt = (
        select(request_t.c.id, request_t.c.kind, request_t.c.patron, request_t.c.pickup, request_t.c.department,
               request_t.c.work_order_type, request_t.c.step, request_t.c.note, request_t.c.placed_at,
               item_t.c.barcode, item_t.c.title, item_t.c.call_number, item_t.c.location, item_t.c.library)
        .join(item_t, item_t.c.id == request_t.c.item_id)
        .where(request_t.c.active.is_(True), request_t.c.step.in_(_PICK_STEPS),
               or_(item_t.c.library == library, item_t.c.location.in_(own_remote)))
        .order_by(item_t.c.call_number, item_t.c.barcode)
    )
    shelf: list[dict[str, Any]] = []
    from_remote: list[dict[str, Any]] = []
    with db.read() as conn:
        for row in conn.execute(stmt):
            rec = dict(row._mapping)
            rec["placed_at"] = rec["placed_at"].isoformat() if rec["placed_at"] else None
            rec["step_name"] = STEP_NAMES[rec["step"]]
            rec["destination"] = rec["pickup"] or rec["department"]
            (from_remote if rec["location"] in remote else shelf).append(rec)
    return {"library": library, "pick_from_shelf": shelf, "waiting_for_remote_storage": from_remote}


_SHELVED = ("hold_shelf", "rs_item_created")
"""The item events that put an item on a hold shelf (an arrival or a pick for a request, a
borrowed item received at its pickup desk): the latest one says since when it waits."""

CLEAR_ACTIONS = {
    "next_request": "Next request",
    "reshelve": "Reshelve",
    "send_home": "Send home",
    "return_to_lender": "Return to lender",
}
"""What clears an item from the hold shelf (an expired pickup or a cancelled request), in
desk words: the next request in its queue, back to its shelf here, In Transit to its home
library, or (a borrowed item) In Transit back to the partner that lent it."""


def _shelf_since(conn: Any, item_ids: list[int]) -> dict[int, Any]:
    """When each item went on the hold shelf (its latest shelving event)."""
    if not item_ids:
        return {}
    stmt = (select(event_t.c.item_id, func.max(event_t.c.at))
            .where(event_t.c.item_id.in_(item_ids), event_t.c.action.in_(_SHELVED))
            .group_by(event_t.c.item_id))
    return {item_id: at for item_id, at in conn.execute(stmt)}


def _pickup_until(inst: Any, since: Any) -> Any:
    """The pickup expiry of an item shelved at ``since`` (the institution's hold_shelf_days)."""
    return since.date() + timedelta(days=inst.policy.hold_shelf_days) if since is not None else None


def _clear_action(conn: Any, inst: Any, desk: Place, row: dict[str, Any]) -> str:
    """What clears a row from the shelf (see :data:`CLEAR_ACTIONS`)."""
    if row["borrowing_id"] is not None:
        return "return_to_lender"
    others = conn.execute(
        select(func.count()).select_from(request_t)
        .where(request_t.c.item_id == row["item_id"], request_t.c.active.is_(True),
               request_t.c.id != row["id"])).scalar_one()
    if others:
        return "next_request"
    home = inst.home_desk(row["library"], row["location"])
    return "reshelve" if home.library == desk.library and home.is_desk else "send_home"


def hold_shelf(db: Database, desk: str) -> list[dict[str, Any]]:
    """Items on the hold shelf at a desk, with the patron each waits for: requested items and
    items borrowed from a partner for a patron (``borrowing_id`` and ``borrowed_from`` set;
    seed 004: they wait on the same shelf). Each row says since when it waits (``since``)
    and until when its patron may pick it up (``until``: the institution's
    ``hold_shelf_days`` later). An item whose request was cancelled is flagged
    ``cancelled``, one not picked up in time ``expired``; both carry ``clear``, what takes
    it off the shelf (:func:`clear_hold_shelf`: next request, reshelve, send home, return
    to lender). Waiting items first, by patron."""
    from libdesk import borrowing

    inst = db.institution
    place = inst.desk(desk)
    today = clock.today()
    columns = (item_t.c.id.label("item_id"), item_t.c.barcode, item_t.c.title, item_t.c.call_number,
               item_t.c.library, item_t.c.location)
    stmt = (
        select(*columns, request_t.c.patron, request_t.c.id, request_t.c.active)
        .join(request_t, request_t.c.id == item_t.c.current_request_id)
        .where(item_t.c.process_type == HOLD_SHELF, item_t.c.hold_shelf == desk)
    )
    b = borrowing.borrowing_t
    borrowed = (
        select(*columns, b.c.patron, b.c.id, b.c.status, b.c.rota, b.c.current_partner)
        .join(b, b.c.id == item_t.c.borrowing_id)
        .where(item_t.c.process_type == RESOURCE_SHARING, item_t.c.hold_shelf == desk)
    )
    with db.read() as conn:
        rows = []
        for r in conn.execute(stmt):
            rec = dict(r._mapping)
            rec["cancelled"] = not rec.pop("active")
            rows.append({**rec, "borrowing_id": None, "borrowed_from": None})
        for brow in conn.execute(borrowed):
            rec = dict(brow._mapping)
            lender = borrowing.current_partner(rec)
            rows.append({**{k: rec[k] for k in ("item_id", "barcode", "title", "call_number", "library", "location",
                                                 "patron")},
                         "id": None, "cancelled": rec["status"] in borrowing.CANCELLED,
                         "borrowing_id": rec["id"], "borrowed_from": borrowing.partner_label(inst, lender)})
        since = _shelf_since(conn, [r["item_id"] for r in rows])
        for row in rows:
            at = since.get(row["item_id"])
            until = _pickup_until(inst, at)
            row["since"] = at.isoformat() if at is not None else None
            row["until"] = until.isoformat() if until is not None else None
            row["expired"] = not row["cancelled"] and until is not None and today > until
            row["clear"] = _clear_action(conn, inst, place, row) if row["expired"] or row["cancelled"] else None
            row["clear_name"] = CLEAR_ACTIONS.get(row["clear"] or "")
            del row["library"], row["location"]
    rows.sort(key=lambda r: (r["cancelled"] or r["expired"], r["patron"] or "", r["barcode"]))
    return rows


def clear_hold_shelf(db: Database, barcode: str, *, at: str, operator: str) -> Result:
    """Take an item off the hold shelf of desk ``at`` when nobody will collect it: its pickup
    expired (today is past its ``until``: the patron's request is closed as not picked up,
    and the patron told) or its request was cancelled. It then goes where the next step is:
    the next request in its queue (the hold shelf again, or In Transit), back to its shelf
    (reshelve) or In Transit home; a borrowed item goes In Transit back to its lender
    (Returned Item to Partner). One transaction, each change with its history event.

    Raises:
        NotFound. NotPermitted (not a desk; W3). WrongState (not on this desk's hold shelf;
        still within its pickup time: lend it to its patron instead).
    """
    with action(db, operator, at, need_place=True) as ctx:
        desk = ctx.inst.desk(at)
        item = ctx.item(barcode)
        on_shelf = item["hold_shelf"] == desk.code and item["process_type"] in (HOLD_SHELF, RESOURCE_SHARING)
        if not on_shelf:
            raise WrongState(f"Item {barcode} is not on the hold shelf at {desk.name}: {_describe(ctx, item)}")
        until = _pickup_until(ctx.inst, _shelf_since(ctx.conn, [item["id"]]).get(item["id"]))
        if item["borrowing_id"] is not None:
            from libdesk import borrowing  # lazy: libdesk.borrowing imports this module

            routed = borrowing.off_hold_shelf(ctx, item, desk, until)
            return Result(routed.message, barcode=barcode, destination=routed.destination,
                          next_step=routed.next_step, item=ctx.view(item))
        req = ctx.request(item["current_request_id"]) if item["current_request_id"] else None
        why = "its request was cancelled"
        if req is not None and req["active"]:
            if until is None or ctx.today <= until:
                shown = f" until {until.isoformat()}" if until else ""
                raise WrongState(f"Item {barcode} waits for patron {req['patron']}{shown}: lend it to them, "
                                 "or clear it once its pickup time is over")
            why = f"not picked up by {until.isoformat()}"
            ctx.update_request(req, "hold_shelf_expired", item=item, step=CANCELLED, active=False,
                               closed_at=ctx.now, message=f"{why} (hold shelf at {desk.code})")
            notify(ctx, req["patron"], "hold_expired", item, req,
                   f"{item['title']} was not picked up by {until.isoformat()} and has left the hold shelf "
                   f"at {desk.name}")
        ctx.update_item(item, "off_hold_shelf", **NO_PROCESS, message=f"cleared from the hold shelf: {why}")
        routed = route(ctx, item, desk)
        return Result(f"Off the hold shelf ({why}) — {routed.message}", barcode=barcode,
                      destination=routed.destination, next_step=routed.next_step, item=ctx.view(item))


def correct_status(db: Database, barcode: str, *, at: str, operator: str) -> Result:
    """Remote Storage status correction (seed 000: "Send the barcode to LTS Support ... for
    Remote Storage status correction"): a remote-storage item that the records put in a work
    order, or in transit to a department, while it never left remote storage (a work order
    placed with "Do not pick from shelf" by mistake, then its request cancelled) is put back
    In place by the remote-storage desk that holds it. Its other requests then take their turn
    (Waiting for Remote Storage). One event, with the state before.

    Raises:
        NotFound. NotPermitted (not that item's remote-storage desk; W3). WrongState (not a
        remote-storage item; nothing to correct; a request still being served: cancel it or
        mark the work order Done first).
    """
    with action(db, operator, at, need_place=True) as ctx:
        item = ctx.item(barcode)
        location = ctx.inst.locations.get(item["location"])
        if location is None or not location.remote_storage:
            raise WrongState(f"Item {barcode} is not a remote-storage item: a status correction is for items "
                             "that never left remote storage")
        desk = ctx.inst.home_desk(item["library"], item["location"])
        if ctx.place is None or ctx.place.code != desk.code:
            raise NotPermitted(f"Only {desk.name} ({desk.code}), which holds {barcode}, can correct its status")
        misplaced = item["process_type"] == WORK_ORDER or (
            item["process_type"] == TRANSIT and item["transit_to"] != desk.code)
        if not misplaced:
            raise WrongState(f"Item {barcode} is {ctx.view(item)['process_name']}: nothing to correct")
        current = ctx.request(item["current_request_id"]) if item["current_request_id"] else None
        if current is not None and current["active"]:
            raise WrongState(f"Item {barcode} is serving request {current['id']} ({STEP_NAMES[current['step']]}): "
                             "cancel it first (Monitor Requests), or let the department mark it Done")
        if item["process_type"] == WORK_ORDER:
            open_wo = [r for r in ctx.queue(item["id"]) if r["step"] == IN_PROCESS]
            for req in open_wo:  # the work order's own request, if still open, closes with it
                ctx.update_request(req, "request_cancelled", item=item, step=CANCELLED, active=False,
                                   closed_at=ctx.now, message="status correction: the item never left remote storage")
        ctx.update_item(item, "status_corrected", **NO_PROCESS,
                        message=f"status correction at {desk.code}: the item never left remote storage")
        view = ctx.view(item)
        return Result(f"Status corrected: {barcode} is In place at {desk.name}", barcode=barcode,
                      destination=None, next_step="stays", item=view)


def mark_missing(db: Database, barcode: str, *, operator: str, at: str | None = None, lost: bool = False) -> Result:
    """Mark an item Missing (not found on the shelf) or Lost. Its requests stay queued; a
    later scan at a desk finds it and sends it on.

    Raises:
        NotFound, WrongState (on loan: use the loan's lost-item process; in a work order).
    """
    with action(db, operator, at) as ctx:
        item = ctx.item(barcode)
        ctx.touch(item_place(ctx.inst, item), doing="where the item is meant to be")
        refuse_borrowed(item, f"marked {'lost' if lost else 'missing'} here")
        if item["process_type"] in (LOAN, WORK_ORDER, ACQUISITION):
            raise WrongState(f"Item {barcode} is {_describe(ctx, item)}: it cannot be marked {'lost' if lost else 'missing'}")
        kind = LOST if lost else MISSING
        release_current(ctx, item)
        ctx.update_item(item, kind, **{**NO_PROCESS, "process_type": kind})
        return Result(f"Item {barcode} marked {kind}", barcode=barcode, next_step=kind, item=ctx.view(item))
