"""The request actions (B2-B6): each one engine call, in one transaction, with its history
event; a call the status does not allow is refused naming what is allowed from here."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update

from libdesk import circulation, clock, scan
from libdesk.barcodes import check_barcode
from libdesk.borrowing.items import _item, _receive, _remove_item, _where
from libdesk.borrowing.records import (
    _active_messages,
    _load,
    _notify_cancelled,
    _partner_says,
    _read,
    _refuse,
    _require,
    _staff,
    _update,
)
from libdesk.borrowing.states import (
    CANCEL_BY,
    CANCELLED_BY_PATRON,
    CANCELLED_BY_STAFF,
    COMPLETED,
    EXPIRED,
    LOCATE_FAILED,
    LOCATE_IN_PROCESS,
    MESSAGE,
    NOTE,
    READY_TO_BE_SENT,
    RECEIVED,
    REJECTED,
    REQUEST_SENT,
    SHIPPED,
    WAITING_FOR_CANCEL,
    borrowing_t,
    by_hand,
    current_partner,
    lender_destination,
    message_t,
    partner_label,
    pending_index,
    pending_partner,
    rota_of,
    status_name,
)
from libdesk.borrowing.transitions import DESK, NO_PLACE, transition
from libdesk.borrowing.views import _view, show
from libdesk.core import (
    OK,
    WARNING,
    Ctx,
    Result,
    action,
    known_id,
    system_action,
)
from libdesk.db import Database
from libdesk.errors import ConcurrentChange, InvalidInput, NotFound, WrongState
from libdesk.institution import Institution
from libdesk.models import (
    TRANSIT,
)
from libdesk.operators import BORROWING_DESK_ROLE, check_role
from libdesk.requests import patron as patron_record
from libdesk.routing import Routed

NOT_RETURNED_PROPERLY = "borrowing.completed_not_returned_properly"
"""The code of a lender's check-in that completes a request whose item is still here (B8)."""
NEVER_RECEIVED = "borrowing.completed_never_received"
"""The code of a lender's check-in of an item that never reached us (B8)."""


def _result(ctx: Ctx, b: dict[str, Any], message: str, *, item: dict[str, Any] | None = None,
            routed: Routed | None = None, code: str = "", severity: str = OK) -> Result:
    """An action's result; its code is the status the request is in now (``borrowing.shipped_physically``)
    unless the action names what happened more precisely."""
    view = _view(ctx.conn, ctx.inst, b)
    return Result(message, barcode=item["barcode"] if item else b["item_barcode"],
                  destination=routed.destination if routed else None,
                  next_step=routed.next_step if routed else None,
                  item=ctx.view(item) if item is not None else None, extra={"borrowing": view},
                  code=code or f"borrowing.{b['status']}", severity=severity)


# -- creating and locating (B2) ----------------------------------------------------------------------

def _partner_list(ctx: Ctx, partners: Sequence[str] | None) -> list[str] | None:
    if partners is None:
        return None
    codes = [p.strip() for p in partners if p.strip()]
    for code in codes:
        if code not in ctx.inst.partners:
            known = ", ".join(ctx.inst.partners) or "none"
            raise InvalidInput(f"Unknown partner {code!r} (partners: {known})")
    if len(set(codes)) != len(codes):
        raise InvalidInput(f"A partner is listed twice: {', '.join(codes)}")
    return codes


def new_request(db: Database, patron_id: str, title: str, *, pickup: str, operator: str, author: str = "",
                identifier: str = "", partners: Sequence[str] | None = None, note: str = "",
                locate_now: bool = True, at: str | None = None) -> Result:
    """Create a borrowing request in Locate in Process and, with ``locate_now``, run the
    locate in the same transaction (B2).

    Args:
        partners: the partners to ask, in order; None for the institution's partners; an empty
            list means no partner can supply it (the locate finds none).
        locate_now: False leaves it in Locate in Process (a locate that hung).

    Raises:
        NotFound (patron, pickup desk, operator), NotPermitted (not a desk; pseudopatron; no
        borrowing role), InvalidInput (empty title, unknown or repeated partner).
    """
    with action(db, operator, at) as ctx:
        _staff(ctx)
        if not title.strip():
            raise InvalidInput("A borrowing request needs a title")
        who = patron_record(ctx, patron_id)
        desk = ctx.inst.desk(pickup)
        given = _partner_list(ctx, partners)
        values = {
            "patron": who["id"], "title": title.strip(), "author": author.strip(), "identifier": identifier.strip(),
            "pickup": desk.code, "partners_given": json.dumps(given) if given is not None else None,
            "rota": "[]", "current_partner": None, "status": LOCATE_IN_PROCESS, "status_at": ctx.now,
            "creator": ctx.operator.id, "created_at": ctx.now, "version": 1,
        }
        new_id = ctx.conn.execute(insert(borrowing_t).values(**values)).inserted_primary_key[0]  # type: ignore[index]
        b = _load(ctx, new_id)
        ctx.event("borrowing_created", borrowing_id=new_id,
                  after={k: values[k] for k in ("patron", "title", "author", "identifier", "pickup", "status")},
                  message=f"for patron {who['id']}, pickup {desk.code}"
                          + (f", partners {', '.join(given)}" if given else ""))
        if note.strip():
            _add_message(ctx, b, NOTE, note, None)
        if not locate_now:
            return _result(ctx, b, f"Borrowing request {new_id} for patron {who['id']}: Locate in Process")
        return _result(ctx, b, _locate(ctx, b))


def locate(db: Database, borrowing_id: int, *, operator: str, at: str | None = None) -> Result:
    """Run (again) the locate of a request left in Locate in Process (B2).

    Raises:
        NotFound, NotPermitted, WrongState (not in Locate in Process).
    """
    with action(db, operator, at) as ctx:
        _staff(ctx)
        b = _load(ctx, borrowing_id)
        _require(ctx.conn, b, "locate")
        return _result(ctx, b, _locate(ctx, b))


def _locate(ctx: Ctx, b: dict[str, Any]) -> str:
    """Form the rota: the partners given with the request, else the institution's partners.
    None: Cancelled by Staff, and the patron is told to try InterLibrary Loan (seed)."""
    given = json.loads(b["partners_given"]) if b["partners_given"] is not None else None
    rota = list(given) if given is not None else list(ctx.inst.partners)
    if not rota:
        _update(ctx, b, "locate_no_rota", "locate found no partner that can supply it; patron notified",
                status=CANCELLED_BY_STAFF, cancel_by="staff", closed_at=ctx.now)
        _notify_cancelled(ctx, b, "no partner library can supply it")
        return (f"Borrowing request {b['id']}: no partner can supply it — Cancelled by Staff; patron "
                f"{b['patron']} notified (suggest an InterLibrary Loan request)")
    _update(ctx, b, "located", f"rota {', '.join(rota)}", status=READY_TO_BE_SENT, rota=json.dumps(rota))
    first = ctx.inst.partners.get(rota[0])
    if first is not None and not first.sends_automatically:
        # Seed 004: Ready to be Sent is where a request waits when the send cannot happen by
        # itself; this partner takes requests by hand.
        return (f"Borrowing request {b['id']} for patron {b['patron']}: Ready to be Sent (rota {', '.join(rota)}); "
                f"{by_hand(ctx.inst, rota[0])}")
    # Seed 004: "it is automatically supposed to go to the first library in the rota" (B2/B3).
    return (f"Borrowing request {b['id']} for patron {b['patron']}: {_send(ctx, b)} (rota {', '.join(rota)}; "
            f"answer due in {ctx.inst.partner_timeout(rota[0])} days)")


def _send(ctx: Ctx, b: dict[str, Any]) -> str:
    """Send a Ready to be Sent request to the partner it waits for (in the caller's
    transaction): the first of its rota, or the one the rota passed on to."""
    index = pending_index(b)
    partner = rota_of(b)[index]
    _update(ctx, b, "sent", f"sent to {partner_label(ctx.inst, partner)}", status=REQUEST_SENT,
            current_partner=index, sent_at=ctx.now)
    return f"Request Sent to Partner {partner_label(ctx.inst, partner)}"


# -- the partner's side (B3) ----------------------------------------------------------------------------

def send(db: Database, borrowing_id: int, *, operator: str, at: str | None = None) -> Result:
    """Send a Ready to be Sent request to the partner it waits for (B3): the first of its rota,
    or the one a rejection or a timeout passed it on to.

    Raises:
        NotFound, NotPermitted, WrongState (not Ready to be Sent).
    """
    with action(db, operator, at) as ctx:
        _staff(ctx)
        b = _load(ctx, borrowing_id)
        _require(ctx.conn, b, "send")
        partner = rota_of(b)[pending_index(b)]
        _send(ctx, b)
        return _result(ctx, b, f"Borrowing request {borrowing_id} sent to {partner_label(ctx.inst, partner)}")


def _next_partner(ctx: Ctx, b: dict[str, Any], what: str, exhausted: str, reason: str = "") -> str:
    """A rejection or an expiry: on to the next rota member, or the end of the rota (B3)."""
    partner = current_partner(b)
    rota = rota_of(b)
    index = b["current_partner"] + 1
    verb = ("rejected the request" if what == "rejected" else "let the request expire") + reason
    following = ctx.inst.partners.get(rota[index]) if index < len(rota) else None
    if following is not None and not following.sends_automatically:
        # Seed 004: Ready to be Sent is where a request waits when the send cannot happen by
        # itself, after a rejection as after the locate: this partner takes requests by hand.
        _update(ctx, b, f"partner_{what}", _partner_says(
                    ctx, partner, f"{verb}; next is {rota[index]}, who takes requests by hand: Ready to be Sent"),
                current_partner=index, status=READY_TO_BE_SENT)
        return (f"{partner_label(ctx.inst, partner)} {verb}: borrowing request {b['id']} is Ready to be Sent to the "
                f"next partner; {by_hand(ctx.inst, rota[index])}")
    if index < len(rota):
        _update(ctx, b, f"partner_{what}", _partner_says(ctx, partner, f"{verb}; sent on to {rota[index]}"),
                current_partner=index, sent_at=ctx.now, status=REQUEST_SENT)
        return (f"{partner_label(ctx.inst, partner)} {verb}: borrowing request {b['id']} sent to the next "
                f"partner, {partner_label(ctx.inst, rota[index])}")
    _update(ctx, b, f"partner_{what}", _partner_says(ctx, partner, f"{verb}; the rota is exhausted"),
            status=exhausted, closed_at=ctx.now)
    _notify_cancelled(ctx, b, "no partner library could supply it")
    return (f"{partner_label(ctx.inst, partner)} {verb}: the rota is exhausted — borrowing request {b['id']} is "
            f"{status_name(exhausted)}; patron {b['patron']} notified")


def _cancel_answered(ctx: Ctx, b: dict[str, Any], what: str, verb: str) -> str:
    """The partner's answer to Waiting for Cancel Response completes the cancel."""
    partner = current_partner(b)
    status = CANCELLED_BY_PATRON if b["cancel_by"] == "patron" else CANCELLED_BY_STAFF
    _update(ctx, b, f"partner_{what}", _partner_says(ctx, partner, f"{verb}: the cancel is complete"),
            status=status, closed_at=ctx.now)
    if status == CANCELLED_BY_STAFF:
        _notify_cancelled(ctx, b, "it was cancelled by library staff")
    return f"{partner_label(ctx.inst, partner)} {verb}: borrowing request {b['id']} is {status_name(status)}"


def partner_reject(db: Database, borrowing_id: int, *, operator: str, reason: str = "",
                   at: str | None = None) -> Result:
    """Record the current partner's rejection: the next rota member gets the request, or the
    rota is exhausted (Rejected by Partner, patron notified). While Waiting for Cancel Response
    a rejection is the partner's answer: the cancel completes.

    Raises:
        NotFound, NotPermitted, WrongState (no partner is considering the request).
    """
    with action(db, operator, at) as ctx:
        _staff(ctx)
        b = _load(ctx, borrowing_id)
        _require(ctx.conn, b, "partner-reject")
        why = f" ({reason.strip()})" if reason.strip() else ""
        if b["status"] == WAITING_FOR_CANCEL:
            return _result(ctx, b, _cancel_answered(ctx, b, "rejected", "rejected the request" + why))
        return _result(ctx, b, _next_partner(ctx, b, "rejected", REJECTED, why))


def partner_expire(db: Database, borrowing_id: int, *, operator: str, at: str | None = None) -> Result:
    """Record that the request expired in the current partner's queue: on to the next rota
    member, or Expired (patron notified). While Waiting for Cancel Response the cancel completes.

    Raises:
        NotFound, NotPermitted, WrongState.
    """
    with action(db, operator, at) as ctx:
        _staff(ctx)
        b = _load(ctx, borrowing_id)
        _require(ctx.conn, b, "partner-expire")
        if b["status"] == WAITING_FOR_CANCEL:
            return _result(ctx, b, _cancel_answered(ctx, b, "expired", "let the request expire"))
        return _result(ctx, b, _next_partner(ctx, b, "expired", EXPIRED))


def due_at(inst: Institution, b: dict[str, Any]) -> datetime | None:
    """When the current partner's time to answer ends (None: no partner is considering it)."""
    if b["status"] != REQUEST_SENT or b["sent_at"] is None:
        return None
    return b["sent_at"] + timedelta(days=inst.partner_timeout(current_partner(b)))


def tick(db: Database) -> dict[str, Any]:
    """The timed work of resource sharing, done by libdesk itself (``libdesk borrowing tick``;
    the app runs it at start and hourly): a request whose partner has not answered within its
    timeout goes to the next partner of the rota, or ends Expired with the patron told (seed
    004, B3); a request left Ready to be Sent whose first partner takes requests automatically
    is sent. Each step is its own transaction and its event names the system as operator.
    Safe to run from several desks at once: a request another desk moved first is skipped.

    Returns ``{"steps": [{"id", "action", "message"}], "checked": n}``.
    """
    now = clock.now()
    with db.read() as conn:
        waiting = [dict(r._mapping) for r in conn.execute(
            select(borrowing_t).where(borrowing_t.c.status.in_((REQUEST_SENT, READY_TO_BE_SENT)))
            .order_by(borrowing_t.c.id))]
    steps: list[dict[str, Any]] = []
    for row in waiting:
        if row["status"] == REQUEST_SENT:
            due = due_at(db.institution, row)
            if due is None or due > now:
                continue
        else:
            waits_for = pending_partner(row)
            first = db.institution.partners.get(waits_for) if waits_for is not None else None
            if first is None or not first.sends_automatically:
                continue
        try:
            with system_action(db) as ctx:
                b = _load(ctx, row["id"])
                if b["version"] != row["version"]:
                    continue  # moved on at a desk since it was read: nothing to do now
                if b["status"] == READY_TO_BE_SENT:
                    message = f"Borrowing request {b['id']}: {_send(ctx, b)} (automatic)"
                    action_name = "sent"
                else:
                    days = ctx.inst.partner_timeout(current_partner(b))
                    message = _next_partner(ctx, b, "expired", EXPIRED, f" (no answer in {days} days: automatic)")
                    action_name = "partner_expired"
        except ConcurrentChange:
            continue
        steps.append({"id": row["id"], "action": action_name, "message": message})
    return {"steps": steps, "checked": len(waiting)}

def partner_ship(db: Database, borrowing_id: int, *, operator: str, barcode: str | None = None,
                 at: str | None = None) -> Result:
    """Record that the current partner shipped the item (Shipped Physically). ``barcode`` is
    the lender's barcode, when known; Receive then uses it. Shipped while Waiting for Cancel
    Response: the cancel completes, but the item still arrives (receive it: it goes straight
    back to the lender, B5).

    Raises:
        NotFound, NotPermitted, InvalidInput (bad barcode), WrongState.
    """
    with action(db, operator, at) as ctx:
        _staff(ctx)
        b = _load(ctx, borrowing_id)
        _require(ctx.conn, b, "partner-ship")
        code = check_barcode(barcode) if barcode is not None else b["item_barcode"]
        partner = current_partner(b)
        if b["status"] == WAITING_FOR_CANCEL:
            status = CANCELLED_BY_PATRON if b["cancel_by"] == "patron" else CANCELLED_BY_STAFF
            _update(ctx, b, "partner_shipped",
                    _partner_says(ctx, partner, "had already shipped the item: the cancel is complete, the item "
                                                "still arrives"),
                    status=status, shipped_at=ctx.now, item_barcode=code, closed_at=ctx.now)
            return _result(ctx, b, f"{partner_label(ctx.inst, partner)} had already shipped the item: borrowing "
                                   f"request {borrowing_id} is {status_name(status)}, but the item still arrives — "
                                   "receive it and it goes straight back to the lender")
        _update(ctx, b, "partner_shipped", _partner_says(ctx, partner, "shipped the item"),
                status=SHIPPED, shipped_at=ctx.now, item_barcode=code)
        return _result(ctx, b, f"{partner_label(ctx.inst, partner)} shipped borrowing request {borrowing_id}"
                               + (f" (barcode {code})" if code else ""))


def partner_checkin(db: Database, borrowing_id: int, *, operator: str, at: str | None = None) -> Result:
    """Record the lender's check-in of its item: Request Completed (B4). An item on its way
    back to the lender leaves the catalogue; one that did not come back properly (on loan, in
    transit to the resource-sharing desk, on the hold shelf, never received) stays as it is and
    the request shows in the monthly report (B8).

    Raises:
        NotFound, NotPermitted, WrongState (the lender never had the item out).
    """
    with action(db, operator, at) as ctx:
        _staff(ctx)
        b = _load(ctx, borrowing_id)
        _require(ctx.conn, b, "partner-checkin")
        partner = current_partner(b)
        item = _item(ctx, b)
        note, code, severity = "", "", OK
        if item is not None and item["process_type"] == TRANSIT and item["transit_to"] == lender_destination(partner or ""):
            note = "; " + _remove_item(ctx, b, item, f"the lender {partner} checked it in")
            item = None
        elif item is not None:
            note = (f" — but the item was not returned properly: it is still {_where(ctx.inst, item)} "
                    "(see the monthly report)")
            code, severity = NOT_RETURNED_PROPERLY, WARNING
        elif b["item_removed_at"] is None:
            note = " — but the item was never received here (see the monthly report)"
            code, severity = NEVER_RECEIVED, WARNING
        _update(ctx, b, "partner_checked_in", _partner_says(ctx, partner, "checked the item in"),
                status=COMPLETED, closed_at=ctx.now)
        return _result(ctx, b, f"{partner_label(ctx.inst, partner)} checked the item in: borrowing request "
                               f"{borrowing_id} is Request Completed{note}", item=item, code=code,
                       severity=severity)


# -- messages and notes (B6) ---------------------------------------------------------------------------

def _add_message(ctx: Ctx, b: dict[str, Any], kind: str, text: str, partner: str | None) -> dict[str, Any]:
    if not text.strip():
        raise InvalidInput("The message is empty")
    values = {"borrowing_id": b["id"], "kind": kind, "partner": partner, "text": text.strip(), "at": ctx.now,
              "recorded_by": ctx.operator.id, "active": True}
    values["id"] = ctx.conn.execute(insert(message_t).values(**values)).inserted_primary_key[0]  # type: ignore[index]
    if kind == MESSAGE:
        ctx.event("partner_message", borrowing_id=b["id"], after={"message_id": values["id"], "text": values["text"]},
                  message=_partner_says(ctx, partner, "sent a general message"))
    else:
        ctx.event("note_added", borrowing_id=b["id"], after={"message_id": values["id"], "text": values["text"]},
                  message="staff note")
    return values


def partner_message(db: Database, borrowing_id: int, text: str, *, operator: str, at: str | None = None) -> Result:
    """Record a general message from the partner now holding the request (B6): it stays
    active, in the task count, until staff dismiss it.

    Raises:
        NotFound, NotPermitted, InvalidInput (empty), WrongState (no partner has the request).
    """
    with action(db, operator, at) as ctx:
        _staff(ctx)
        b = _load(ctx, borrowing_id)
        _require(ctx.conn, b, "partner-message")
        msg = _add_message(ctx, b, MESSAGE, text, current_partner(b))
        return _result(ctx, b, f"General message {msg['id']} from {partner_label(ctx.inst, msg['partner'])} "
                               f"on borrowing request {borrowing_id}: {msg['text']}")


def add_note(db: Database, borrowing_id: int, text: str, *, operator: str, at: str | None = None) -> Result:
    """Add a staff note; it is an Active Note (daily check) until dismissed.

    Raises:
        NotFound, NotPermitted, InvalidInput (empty).
    """
    with action(db, operator, at) as ctx:
        _staff(ctx)
        b = _load(ctx, borrowing_id)
        _require(ctx.conn, b, "note")
        msg = _add_message(ctx, b, NOTE, text, None)
        return _result(ctx, b, f"Note {msg['id']} added to borrowing request {borrowing_id}")


def dismiss(db: Database, borrowing_id: int, message_id: int | None = None, *, operator: str,
            at: str | None = None) -> Result:
    """Dismiss one message or note (``message_id``), or every active general message of the
    request (B6).

    Raises:
        NotFound (request, or a message not of this request), NotPermitted,
        WrongState (already dismissed; nothing active to dismiss).
    """
    with action(db, operator, at) as ctx:
        _staff(ctx)
        b = _load(ctx, borrowing_id)
        if message_id is not None:
            known_id(message_id, f"Borrowing request {borrowing_id} has no message or note {message_id}")
            row = ctx.conn.execute(select(message_t).where(message_t.c.id == message_id,
                                                           message_t.c.borrowing_id == borrowing_id)).first()
            if row is None:
                raise NotFound(f"Borrowing request {borrowing_id} has no message or note {message_id}")
            if not row.active:
                raise WrongState(f"Message {message_id} was already dismissed by {row.dismissed_by} "
                                 f"on {row.dismissed_at:%Y-%m-%d}")
            targets = [dict(row._mapping)]
        else:
            targets = _active_messages(ctx.conn, borrowing_id, MESSAGE)
            if not targets:
                raise WrongState(f"Borrowing request {borrowing_id} has no active general message to dismiss")
        for msg in targets:
            ctx.conn.execute(update(message_t).where(message_t.c.id == msg["id"])
                             .values(active=False, dismissed_at=ctx.now, dismissed_by=ctx.operator.id))
            ctx.event("message_dismissed", borrowing_id=borrowing_id, before={"message_id": msg["id"], "active": True},
                      after={"message_id": msg["id"], "active": False}, message=f"{msg['kind']}: {msg['text']}")
        ids = ", ".join(str(m["id"]) for m in targets)
        return _result(ctx, b, f"Dismissed {len(targets)} message(s) on borrowing request {borrowing_id} ({ids})")


# -- cancel and clean-up (B3, B5) -------------------------------------------------------------------------

def cancel(db: Database, borrowing_id: int, *, by: str = "patron", operator: str, at: str | None = None) -> Result:
    """Cancel a request, for the patron (from their account) or by staff.

    - Locate in Process: Locate Failed (B3).
    - Ready to be Sent: Cancelled by Patron / by Staff at once (no partner has it).
    - Request Sent to Partner: Waiting for Cancel Response; the partner's answer completes it.
    - Shipped Physically: cancelled; the item still arrives (receive it: it goes back, B5).
    - Physically Received: cancelled; scan the item in at a desk and it goes back (B5).

    Raises:
        NotFound, NotPermitted, InvalidInput (``by``), WrongState (loaned or later; final).
    """
    if by not in CANCEL_BY:
        raise InvalidInput(f"Cancel by {by!r}? (patron or staff)")
    with action(db, operator, at) as ctx:
        _staff(ctx)
        b = _load(ctx, borrowing_id)
        _require(ctx.conn, b, "cancel")
        status = b["status"]
        final = CANCELLED_BY_PATRON if by == "patron" else CANCELLED_BY_STAFF
        who = f"cancelled by {by}"
        if status == LOCATE_IN_PROCESS:
            _update(ctx, b, "cancelled", f"{who} before the locate completed", status=LOCATE_FAILED,
                    cancel_by=by, closed_at=ctx.now)
            message = (f"Borrowing request {borrowing_id} cancelled before the locate completed: Locate Failed "
                       "(route it to Request Completed when checked)")
        elif status == READY_TO_BE_SENT:
            _update(ctx, b, "cancelled", who, status=final, cancel_by=by, closed_at=ctx.now)
            message = f"Borrowing request {borrowing_id} is {status_name(final)}"
        elif status == REQUEST_SENT:
            partner = current_partner(b)
            _update(ctx, b, "cancel_requested", f"{who}; asked {partner} to cancel", status=WAITING_FOR_CANCEL,
                    cancel_by=by)
            return _result(ctx, b, f"Borrowing request {borrowing_id}: cancel sent to {partner_label(ctx.inst, partner)}"
                                   " — Waiting for Cancel Response")
        elif status == SHIPPED:
            _update(ctx, b, "cancelled", f"{who} after the lender shipped", status=final, cancel_by=by,
                    closed_at=ctx.now)
            message = (f"Borrowing request {borrowing_id} is {status_name(final)}; the lender has already shipped, so "
                       "the item still arrives: receive it and it goes straight back to the lender")
        elif status == RECEIVED:
            _update(ctx, b, "cancelled", f"{who} while the item waited for the patron", status=final, cancel_by=by,
                    closed_at=ctx.now)
            message = (f"Borrowing request {borrowing_id} is {status_name(final)}: take item {b['item_barcode']} off "
                       "the hold shelf and scan it in at the desk — it goes back to the lender")
        else:
            raise _refuse(ctx.conn, b, "cancel")
        if by == "staff":
            _notify_cancelled(ctx, b, "it was cancelled by library staff")
        return _result(ctx, b, message)


def complete(db: Database, borrowing_id: int, *, operator: str, at: str | None = None) -> Result:
    """Staff route a request stuck in Locate in Process, or one in Locate Failed, to Request
    Completed (the seed's clean-up, after submitting a new request if need be).

    Raises:
        NotFound, NotPermitted, WrongState.
    """
    with action(db, operator, at) as ctx:
        _staff(ctx)
        b = _load(ctx, borrowing_id)
        _require(ctx.conn, b, "complete")
        was = status_name(b["status"])
        _update(ctx, b, "completed_by_staff", f"routed to Request Completed from {was}", status=COMPLETED,
                closed_at=ctx.now)
        return _result(ctx, b, f"Borrowing request {borrowing_id} routed from {was} to Request Completed")


def receive(db: Database, borrowing_id: int, *, at: str, operator: str, barcode: str | None = None) -> Result:
    """Receive the lender's item at a desk (B4): a temporary item (``barcode``, else the
    lender's barcode recorded at shipping, else ``RS`` + the request id) with process
    Resource Sharing Request, on the hold shelf of the pickup desk when received there, else
    In Transit to it; Physically Received by Library; the patron is told it waits. For a
    request cancelled after shipping, the item goes straight back to the lender (B5).

    Raises:
        NotFound, NotPermitted (not a desk; W3), InvalidInput (bad or used barcode),
        WrongState (nothing shipped, or already received).
    """
    with action(db, operator, at, need_place=True) as ctx:
        check_role(ctx.operator, BORROWING_DESK_ROLE)
        desk = ctx.inst.desk(at)
        b = _load(ctx, borrowing_id)
        _require(ctx.conn, b, "receive")
        code = check_barcode(barcode or b["item_barcode"] or f"RS{borrowing_id:06d}")
        item, routed = _receive(ctx, b, desk, code)
        return _result(ctx, b, f"Received {code}: {routed.message}", item=item, routed=routed)


def loan(db: Database, borrowing_id: int, *, operator: str, at: str | None = None) -> Result:
    """Lend the received item to the request's patron, through :func:`libdesk.circulation.loan`
    at the pickup desk (or ``at``): Loaned Item to Patron (B4).

    Raises:
        NotFound, NotPermitted (W3), WrongState (not Physically Received; not at that desk).
    """
    check_role(db.institution.operator(operator), BORROWING_DESK_ROLE)
    b = _read(db, borrowing_id)
    with db.read() as conn:
        _require(conn, b, "loan")
    result = circulation.loan(db, b["item_barcode"], b["patron"], at=at or b["pickup"], operator=operator)
    result.extra["borrowing"] = show(db, borrowing_id)
    return result


def return_item(db: Database, borrowing_id: int, *, at: str, operator: str) -> Result:
    """Return the loaned item at a desk, through :func:`libdesk.circulation.return_item`: at
    the resource-sharing library it goes back to the lender (Returned Item to Partner);
    elsewhere In Transit to the resource-sharing desk (Returned Item to Patron) (B4).

    Raises:
        NotFound, NotPermitted (W3), WrongState (not on loan).
    """
    check_role(db.institution.operator(operator), BORROWING_DESK_ROLE)
    b = _read(db, borrowing_id)
    with db.read() as conn:
        _require(conn, b, "return")
    result = circulation.return_item(db, b["item_barcode"], at=at, operator=operator)
    result.extra["borrowing"] = show(db, borrowing_id)
    return result




# -- one entry for every face ------------------------------------------------------------------------------

def perform(db: Database, action_id: str, borrowing_id: int, *, operator: str, at: str | None = None,
            **answers: Any) -> Result:
    """Do ``action_id`` (a row of :data:`~libdesk.borrowing.transitions.TRANSITIONS`) on request
    ``borrowing_id``: the one call the app's menu and the command line dispatch through.

    Args:
        at: the row's ``at``: where the operator is (``place``), the desk where it happens
            (``desk``: required), or the desk, default the pickup desk (``pickup``).
        answers: the row's parameters by name (``barcode``, ``reason``, ``text``, ``by``,
            ``message_id``); absent or empty: the parameter's default. ``words`` may be a list.

    Raises:
        NotFound (the action, the request), InvalidInput (an answer the row has no parameter
        for; no desk), and whatever the action itself raises.
    """
    t = transition(action_id)
    if t.at == NO_PLACE:
        raise InvalidInput(f"{action_id!r} is not an action on a request")
    unknown = set(answers) - {p.name for p in t.params}
    if unknown:
        raise InvalidInput(f"{action_id}: no such answer {', '.join(sorted(unknown))}")
    kwargs: dict[str, Any] = {}
    for p in t.params:
        value = answers.get(p.name)
        if isinstance(value, (list, tuple)) and p.kind == "words":
            value = " ".join(value)
        if value is None or value == "":
            value = p.default
        kwargs[p.engine_keyword] = value
    if t.at == DESK and not at:
        raise InvalidInput("Which desk? Give --at DESK (or set Currently At: libdesk settings --at DESK)")
    if t.function == "scan_in":
        b = _read(db, borrowing_id)
        with db.read() as conn:
            _require(conn, b, t.id)
        return scan.scan_in(db, b["item_barcode"] or "", at=at or "", operator=operator)
    call = globals()[t.function]
    return call(db, borrowing_id, operator=operator, at=at, **kwargs)
