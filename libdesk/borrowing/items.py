"""The borrowed item (B4, B5): the temporary item made on receipt, and the hooks
:mod:`libdesk.circulation` calls (inside its transaction) for items with a ``borrowing_id``:
loan checks, desk scans, the hold shelf, the way back to the lender."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, insert, select, update

from libdesk.borrowing.records import _load, _plain, _refuse, _update
from libdesk.borrowing.states import (
    CANCELLED,
    COMPLETED,
    LOANED,
    PARTNER_PREFIX,
    RECEIVED,
    RETURNED_TO_PARTNER,
    RETURNED_TO_PATRON,
    RS_LOCATION,
    SHIPPED,
    borrowing_t,
    current_partner,
    lender_destination,
    partner_label,
    rs_desk,
    status_name,
)
from libdesk.core import (
    Ctx,
    count_of,
    event_t,
    item_t,
    request_t,
)
from libdesk.errors import ConcurrentChange, InvalidInput, WrongState
from libdesk.institution import Institution, Place
from libdesk.models import (
    LOAN,
    PROCESS_NAMES,
    RESOURCE_SHARING,
    TRANSIT,
)
from libdesk.routing import NO_PROCESS, Routed, discharge, notify


def _item(ctx: Ctx, b: dict[str, Any]) -> dict[str, Any] | None:
    """The request's temporary item while it is in the catalogue."""
    if b["item_id"] is None or b["item_removed_at"] is not None:
        return None
    row = ctx.conn.execute(select(item_t).where(item_t.c.id == b["item_id"])).first()
    return dict(row._mapping) if row is not None else None


def _where(inst: Institution, item: dict[str, Any]) -> str:
    process = item["process_type"]
    if process == LOAN:
        return f"on loan to {item['loan_patron']} (due {item['loan_due']})"
    if process == TRANSIT:
        return f"in transit to {_destination_name(inst, item['transit_to'])}"
    if process == RESOURCE_SHARING and item["hold_shelf"]:
        return f"on the hold shelf at {inst.place_name(item['hold_shelf'])}"
    return PROCESS_NAMES.get(process or "", process or "in place")


def _destination_name(inst: Institution, code: str | None) -> str:
    if code and code.startswith(PARTNER_PREFIX):
        return "the lender " + partner_label(inst, code[len(PARTNER_PREFIX):])
    return inst.place_name(code)


def _receive(ctx: Ctx, b: dict[str, Any], desk: Place, code: str) -> tuple[dict[str, Any], Routed]:
    """The lender's item is here (at ``desk``): the temporary item ``code`` is made, and goes
    on the pickup desk's hold shelf, in transit to it, or (the request was cancelled) back to
    the lender (B4, B5)."""
    borrowing_id = b["id"]
    cancelled = b["status"] in CANCELLED
    if ctx.conn.execute(select(item_t.c.id).where(item_t.c.barcode == code)).first() is not None:
        raise InvalidInput(f"Barcode {code} is already in the catalogue: give the temporary item another "
                           "barcode (--barcode)")
    pickup = ctx.inst.desk(b["pickup"])
    lender = current_partner(b)
    state: dict[str, Any] = {**NO_PROCESS, "process_type": RESOURCE_SHARING, "hold_shelf": pickup.code}
    if cancelled:
        state = {**NO_PROCESS, "process_type": TRANSIT, "transit_to": lender_destination(lender or "")}
    elif desk.code != pickup.code:
        state = {**NO_PROCESS, "process_type": TRANSIT, "transit_to": pickup.code}
    location = RS_LOCATION if RS_LOCATION in ctx.inst.locations else ""
    values = {"barcode": code, "title": b["title"], "author": b["author"], "call_number": f"RS {borrowing_id}",
              "material_type": "BOOK", "library": pickup.library, "location": location, **state,
              "loan_patron": None, "loan_due": None, "borrowing_id": borrowing_id, "version": 1,
              "created_at": ctx.now, "updated_at": ctx.now}
    item_id = ctx.conn.execute(insert(item_t).values(**values)).inserted_primary_key[0]  # type: ignore[index]
    item = ctx.item_by_id(item_id)
    ctx.event("rs_item_created", item=item, after={k: _plain(v) for k, v in state.items() if v is not None},
              message=f"temporary item for borrowing request {borrowing_id}, lent by {lender}")
    if cancelled:
        _update(ctx, b, "received", f"received at {desk.code} after the cancel: sent back to {lender}",
                item=item, item_id=item_id, item_barcode=code, received_at=ctx.now)
        routed = Routed("transit", item["transit_to"],
                        f"Request {status_name(b['status'])}: In transit back to the lender "
                        f"{partner_label(ctx.inst, lender)}")
    else:
        _update(ctx, b, "received", f"received at {desk.code} from {lender}", item=item, status=RECEIVED,
                item_id=item_id, item_barcode=code, received_at=ctx.now)
        if state["process_type"] == RESOURCE_SHARING:
            notify(ctx, b["patron"], "hold_available", item, None,
                   f"{b['title']} (borrowed from a partner library) is waiting for you at {pickup.name}")
            routed = Routed("hold_shelf", pickup.code,
                            f"Hold shelf at {pickup.name} — borrowed item for patron {b['patron']}")
        else:
            routed = Routed("transit", pickup.code,
                            f"In transit to {pickup.name} — borrowed item for patron {b['patron']}")
    return item, routed


def arrived_by_barcode(ctx: Ctx, barcode: str, desk: Place) -> tuple[dict[str, Any], Routed] | None:
    """A barcode unknown to the catalogue, scanned in at ``desk``: is it a lender's item that
    was never received (the barcode recorded when the partner shipped it)? Cancelled after
    shipping, it arrives by courier anyway and is wanded in under Scan In Items: it goes back
    to the lender (seed 004, B5), the history saying so. Still Shipped: it must be received
    (that makes the patron's hold), so say which request and how. None: not a lender's item.
    """
    row = ctx.conn.execute(select(borrowing_t).where(
        borrowing_t.c.item_barcode == barcode, borrowing_t.c.item_id.is_(None),
        borrowing_t.c.shipped_at.is_not(None)).order_by(borrowing_t.c.id.desc()).limit(1)).first()
    if row is None:
        return None
    b = dict(row._mapping)
    if b["status"] in CANCELLED:
        item, routed = _receive(ctx, b, desk, barcode)
        routed.message = f"Lender's item for borrowing request {b['id']}: {routed.message}"
        return item, routed
    if b["status"] == SHIPPED:
        raise WrongState(f"{barcode} is the lender's item for borrowing request {b['id']} (Shipped Physically): "
                         f"receive it for the patron (Borrowing Requests, or: libdesk borrowing receive {b['id']} "
                         f"--at {desk.code})")
    return None

# Called by libdesk.circulation (inside its transaction) for items with a borrowing_id. ------------------

def check_loan(ctx: Ctx, item: dict[str, Any], patron_id: str, desk: Place) -> dict[str, Any]:
    """circulation.loan's check for a borrowed item: it is lent only to its request's patron,
    while Physically Received, from the hold shelf of the desk it waits at.

    Raises:
        WrongState: any of those does not hold.
    """
    b = _load(ctx, item["borrowing_id"])
    barcode = item["barcode"]
    if b["status"] != RECEIVED:
        raise WrongState(f"Item {barcode} is a borrowed item of request {b['id']} ({status_name(b['status'])}): "
                         "it is lent only while Physically Received by Library")
    if patron_id != b["patron"]:
        raise WrongState(f"Item {barcode} is borrowed for patron {b['patron']}, not for {patron_id}")
    if item["process_type"] != RESOURCE_SHARING or item["hold_shelf"] != desk.code:
        raise WrongState(f"Item {barcode} is {_where(ctx.inst, item)}: lend it from the hold shelf it waits on")
    return b


def loaned(ctx: Ctx, b: dict[str, Any], item: dict[str, Any]) -> None:
    """circulation.loan lent the borrowed item: Loaned Item to Patron."""
    _update(ctx, b, "loaned", f"loaned to {item['loan_patron']}, due {item['loan_due']}", item=item, status=LOANED)


def at_desk(ctx: Ctx, item: dict[str, Any], desk: Place) -> Routed:
    """A borrowed item scanned (or returned) at a circulation desk (from circulation.at_desk).

    On loan: the loan is discharged; at the resource-sharing library the item goes back to
    the lender (Returned Item to Partner), elsewhere In Transit to the resource-sharing desk
    (Returned Item to Patron). Arriving at its pickup desk: onto the hold shelf; at the
    resource-sharing desk after a return elsewhere: back to the lender. Its request cancelled:
    back to the lender (B5). Its request already completed by the lender: the temporary item
    leaves the catalogue (the clean-up of the monthly report).
    """
    b = _load(ctx, item["borrowing_id"])
    lender = current_partner(b) or ""
    prefix = ""
    if item["process_type"] == LOAN:
        who = discharge(ctx, item, f"returned at {desk.code}")
        prefix = f"Returned from {who} — "
    status = b["status"]
    going_back = item["process_type"] == TRANSIT and item["transit_to"] == lender_destination(lender)
    if status == COMPLETED:
        routed = Routed("stays", None, _remove_item(ctx, b, item, f"scanned at {desk.code} after the lender's check-in"))
    elif going_back:
        ctx.event("seen_in_transit", item=item, message=f"passed through {desk.code} on the way back to {lender}")
        routed = Routed("transit", item["transit_to"], f"In transit to the lender {partner_label(ctx.inst, lender)} "
                                                       "— send it on")
    elif status in CANCELLED:
        routed = _to_lender(ctx, b, item, f"request {status_name(status)}: back to the lender")
        routed.message = f"Request {status_name(status)}: {routed.message}"
    elif prefix:
        routed = _returned(ctx, b, item, desk)
    elif item["process_type"] == TRANSIT and item["transit_to"] == desk.code and status == RECEIVED:
        ctx.update_item(item, "hold_shelf", **{**NO_PROCESS, "process_type": RESOURCE_SHARING,
                                               "hold_shelf": desk.code}, message=f"arrived at {desk.code}")
        notify(ctx, b["patron"], "hold_available", item, None,
               f"{b['title']} (borrowed from a partner library) is waiting for you at {desk.name}")
        routed = Routed("hold_shelf", desk.code, f"Hold shelf at {desk.name} — borrowed item for patron {b['patron']}")
    elif item["process_type"] == TRANSIT and item["transit_to"] == desk.code and status == RETURNED_TO_PATRON:
        routed = _to_lender(ctx, b, item, f"scanned in at {desk.code}", status=RETURNED_TO_PARTNER)
        routed.message = f"Returned Item to Partner: {routed.message}"
    elif item["process_type"] == TRANSIT:
        ctx.event("seen_in_transit", item=item, message=f"passed through {desk.code} on the way to "
                                                        f"{item['transit_to']}")
        routed = Routed("transit", item["transit_to"],
                        f"In transit to {_destination_name(ctx.inst, item['transit_to'])} — send it on")
    elif item["process_type"] == RESOURCE_SHARING and item["hold_shelf"] == desk.code:
        routed = Routed("hold_shelf", desk.code, f"Already on the hold shelf for patron {b['patron']} (borrowed from "
                                                 f"{partner_label(ctx.inst, lender)})")
    else:
        routed = Routed("stays", item["hold_shelf"], f"Borrowed item of request {b['id']}: it is "
                                                     f"{_where(ctx.inst, item)}")
    routed.message = prefix + routed.message
    return routed


def off_hold_shelf(ctx: Ctx, item: dict[str, Any], desk: Place, until: Any) -> Routed:
    """circulation.clear_hold_shelf for a borrowed item on the hold shelf of ``desk``: its
    request cancelled, or its patron did not pick it up by ``until`` (Returned Item to
    Partner, the patron told): In Transit back to the lender.

    Raises:
        WrongState: still within its pickup time, or not waiting for its patron.
    """
    b = _load(ctx, item["borrowing_id"])
    if b["status"] in CANCELLED:
        routed = _to_lender(ctx, b, item, f"request {status_name(b['status'])}: off the hold shelf at {desk.code}, "
                                          "back to the lender")
        routed.message = f"Off the hold shelf (request {status_name(b['status'])}) — {routed.message}"
        return routed
    if b["status"] != RECEIVED:
        raise _refuse(ctx.conn, b, "clear the item from the hold shelf")
    if until is None or ctx.today <= until:
        shown = f" until {until.isoformat()}" if until else ""
        raise WrongState(f"Item {item['barcode']} waits for patron {b['patron']}{shown}: lend it to them, "
                         "or clear it once its pickup time is over")
    why = f"not picked up by {until.isoformat()}"
    notify(ctx, b["patron"], "hold_expired", item, None,
           f"{b['title']} (borrowed from a partner library) was not picked up by {until.isoformat()} "
           "and goes back to the lender")
    routed = _to_lender(ctx, b, item, f"{why}: off the hold shelf at {desk.code}", status=RETURNED_TO_PARTNER)
    routed.message = f"Off the hold shelf ({why}) — Returned Item to Partner: {routed.message}"
    return routed


def _returned(ctx: Ctx, b: dict[str, Any], item: dict[str, Any], desk: Place) -> Routed:
    """The patron returned the item at ``desk`` (its loan is discharged)."""
    home = rs_desk(ctx.inst, b)
    if desk.library == home.library:
        routed = _to_lender(ctx, b, item, f"returned at {desk.code}", status=RETURNED_TO_PARTNER)
        routed.message = f"Returned Item to Partner: {routed.message}"
        return routed
    ctx.update_item(item, "transit", **{**NO_PROCESS, "process_type": TRANSIT, "transit_to": home.code},
                    message=f"returned at {desk.code}: to the resource-sharing desk")
    _update(ctx, b, "returned_to_patron", f"returned at {desk.code}; in transit to {home.code}", item=item,
            status=RETURNED_TO_PATRON)
    return Routed("transit", home.code, f"Returned Item to Patron: In transit to {home.name} (resource sharing), "
                                        "from there back to the lender")


def _to_lender(ctx: Ctx, b: dict[str, Any], item: dict[str, Any], why: str, status: str | None = None) -> Routed:
    """Put the item In Transit back to its lender (``transit_to = partner:CODE``)."""
    lender = current_partner(b) or ""
    dest = lender_destination(lender)
    ctx.update_item(item, "transit", **{**NO_PROCESS, "process_type": TRANSIT, "transit_to": dest}, message=why)
    if status is not None:
        _update(ctx, b, status, f"{why}; in transit to the lender {lender}", item=item, status=status)
    else:
        ctx.event("returning_to_lender", item=item, borrowing_id=b["id"], message=why)
    return Routed("transit", dest, f"In transit to the lender {partner_label(ctx.inst, lender)}")


def _remove_item(ctx: Ctx, b: dict[str, Any], item: dict[str, Any], why: str) -> str:
    """Take the temporary item out of the catalogue (Alma deletes it once it is cleared).

    Its events stay in the request's history (they carry the borrowing id and the barcode);
    their link to the item row is cleared because SQLite may give the freed row id to the next
    new item, whose history would otherwise start with this one's. An item that somebody
    placed requests on is kept (its requests refer to it) and the message says so.
    """
    has_requests = ctx.conn.execute(select(func.count()).select_from(request_t)
                                    .where(request_t.c.item_id == item["id"])).scalar_one()
    if has_requests:
        return (f"Temporary item {item['barcode']} kept: it has {count_of(has_requests, 'request')}; cancel them and scan "
                "it in again")
    if item["loan_patron"] is not None:
        discharge(ctx, item, "temporary item removed")
    _update(ctx, b, "rs_item_removed", f"temporary item {item['barcode']} removed from the catalogue: {why}",
            item=item, item_removed_at=ctx.now)
    ctx.conn.execute(update(event_t).where(event_t.c.item_id == item["id"], event_t.c.borrowing_id == b["id"])
                     .values(item_id=None))
    if ctx.conn.execute(delete(item_t).where(item_t.c.id == item["id"], item_t.c.version == item["version"])).rowcount != 1:
        raise ConcurrentChange(f"Item {item['barcode']} was changed at another desk a moment ago; scan it again")
    ctx.touched.pop(item["id"], None)
    return f"Temporary item {item['barcode']} removed from the catalogue ({why})"


