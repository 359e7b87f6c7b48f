"""Resource-sharing borrowing requests (SPEC section B, seed 004).

A borrowing request asks partner libraries, one after another (the *rota*), to lend an item
to one of our patrons. Each transition below is one engine call, in one transaction, with an
audit-trail event (``Event.borrowing_id``); a call the current status does not allow is
refused with :class:`~libdesk.errors.WrongState` naming what is allowed from here.

State machine (B1-B5; "partner" actions are recorded by staff on the lender's behalf, and
their events are named ``partner_*`` with the partner in the message):

| from | action | to |
|---|---|---|
| (new) | ``new_request`` | Locate in Process |
| Locate in Process | ``locate``: rota formed / no partner | Ready to be Sent / Cancelled by Staff (patron notified) |
| Locate in Process | ``cancel`` | Locate Failed |
| Locate in Process, Locate Failed | ``complete`` (staff clean-up) | Request Completed |
| Ready to be Sent | ``send`` | Request Sent to Partner (the rota member it waits for) |
| Ready to be Sent | ``cancel`` | Cancelled by Patron / by Staff |
| Request Sent to Partner | ``partner_reject`` / ``partner_expire`` | Request Sent to Partner (next member); Ready to be Sent (the next member takes requests by hand); exhausted: Rejected by Partner / Expired |
| Request Sent to Partner | ``partner_ship`` | Shipped Physically |
| Request Sent to Partner | ``cancel`` | Waiting for Cancel Response |
| Waiting for Cancel Response | ``partner_reject`` / ``partner_expire`` | Cancelled by Patron / by Staff (the cancel completes) |
| Waiting for Cancel Response | ``partner_ship`` | Cancelled by Patron / by Staff, the item still arrives |
| Shipped Physically | ``receive`` | Physically Received by Library (temporary item on the hold shelf) |
| Shipped Physically | ``cancel`` | Cancelled by Patron / by Staff, the item still arrives |
| Physically Received by Library | ``loan`` (circulation.loan) | Loaned Item to Patron |
| Physically Received by Library | ``cancel`` | Cancelled by Patron / by Staff (scan the item in: B5) |
| Loaned Item to Patron | ``return_item`` at the resource-sharing library | Returned Item to Partner |
| Loaned Item to Patron | ``return_item`` at another library | Returned Item to Patron (In Transit to the resource-sharing desk) |
| Returned Item to Patron | Scan In at the resource-sharing desk | Returned Item to Partner |
| cancelled, item shipped | ``receive`` / Scan In (B5) | (same) item In Transit back to the lender |
| Returned Item to Partner (and every status holding a shipped item) | ``partner_checkin`` | Request Completed |

A lender's check-in of an item that did not come back properly (still on loan, still in
transit to the resource-sharing desk, never received) completes the request as Alma does;
those requests are what the monthly report lists (B8).

The item side goes through the circulation code: ``receive`` creates a temporary item (process
``resource_sharing``, on the hold shelf of the pickup desk, ``borrowing_id`` set); loans and
returns are :func:`libdesk.circulation.loan` / :func:`~libdesk.circulation.return_item`, and a
desk scan of a borrowed item (:func:`libdesk.circulation.at_desk`) comes to :func:`at_desk`
here. **In transit to the lender** is process ``transit`` with ``transit_to = "partner:CODE"``
(``partner:YALE``): a partner is not a place of ours, and the prefix keeps partner codes from
ever being mistaken for a desk or department code (Borrow Direct's department is ``BD``).
When the lender checks in an item that is on its way back, the temporary item leaves the
catalogue (Alma deletes it); its events stay in the request's history with its barcode.

Who: every request action needs an operator with the role ``borrowing`` (or one who may act
everywhere); receiving, lending and returning the item need only the right to act at the desk
(W3), as any circulation does.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from libdesk import circulation, clock
from libdesk.barcodes import check_barcode
from libdesk.core import (
    Ctx,
    Result,
    action,
    event_t,
    event_view,
    item_t,
    item_view,
    known_id,
    queue_statement,
    request_t,
    system_action,
)
from libdesk.db import Database
from libdesk.operators import BORROWING_DESK_ROLE, BORROWING_ROLE, check_role
from libdesk.errors import ConcurrentChange, InvalidInput, NotFound, WrongState
from libdesk.institution import Institution, Place
from libdesk.models import (
    LOAN,
    PROCESS_NAMES,
    RESOURCE_SHARING,
    TRANSIT,
    BorrowingMessage,
    BorrowingRequest,
)
from libdesk.requests import patron as patron_record
from libdesk.routing import NO_PROCESS, Routed, discharge, notify

borrowing_t = BorrowingRequest.__table__
message_t = BorrowingMessage.__table__

# -- statuses (B1) -------------------------------------------------------------------------------
LOCATE_IN_PROCESS = "locate_in_process"
READY_TO_BE_SENT = "ready_to_be_sent"
REQUEST_SENT = "request_sent_to_partner"
SHIPPED = "shipped_physically"
RECEIVED = "physically_received"
LOANED = "loaned_to_patron"
RETURNED_TO_PATRON = "returned_to_patron"
RETURNED_TO_PARTNER = "returned_to_partner"
COMPLETED = "request_completed"
REJECTED = "rejected_by_partner"
EXPIRED = "expired"
LOCATE_FAILED = "locate_failed"
CANCELLED_BY_PATRON = "cancelled_by_patron"
CANCELLED_BY_STAFF = "cancelled_by_staff"
WAITING_FOR_CANCEL = "waiting_for_cancel_response"

STATUS_NAMES: dict[str, str] = {
    LOCATE_IN_PROCESS: "Locate in Process",
    READY_TO_BE_SENT: "Ready to be Sent",
    REQUEST_SENT: "Request Sent to Partner",
    SHIPPED: "Shipped Physically",
    RECEIVED: "Physically Received by Library",
    LOANED: "Loaned Item to Patron",
    RETURNED_TO_PATRON: "Returned Item to Patron",
    RETURNED_TO_PARTNER: "Returned Item to Partner",
    COMPLETED: "Request Completed",
    REJECTED: "Rejected by Partner",
    EXPIRED: "Expired",
    LOCATE_FAILED: "Locate Failed",
    CANCELLED_BY_PATRON: "Cancelled by Patron",
    CANCELLED_BY_STAFF: "Cancelled by Staff",
    WAITING_FOR_CANCEL: "Waiting for Cancel Response",
}
STATUSES = tuple(STATUS_NAMES)
CANCELLED = (CANCELLED_BY_PATRON, CANCELLED_BY_STAFF)
FINAL = (COMPLETED, REJECTED, EXPIRED, CANCELLED_BY_PATRON, CANCELLED_BY_STAFF)
"""Statuses in which the request itself is over (a cancelled request's item may still travel)."""
CANCEL_BY = ("patron", "staff")

MESSAGE = "message"
NOTE = "note"

PARTNER_PREFIX = "partner:"
"""``transit_to`` of an item on its way back to a lender: ``partner:YALE``."""
RS_LOCATION = "RS"
"""The location of temporary items; its library is the resource-sharing library."""

# Statuses in which a partner has the request (and so may write to us).
_WITH_PARTNER = (REQUEST_SENT, WAITING_FOR_CANCEL, SHIPPED, RECEIVED, LOANED, RETURNED_TO_PATRON,
                 RETURNED_TO_PARTNER, REJECTED, EXPIRED, CANCELLED_BY_PATRON, CANCELLED_BY_STAFF)
# Statuses in which the lender has (or had) the item out, so its check-in completes the request.
_CHECKIN_FROM = (SHIPPED, RECEIVED, LOANED, RETURNED_TO_PATRON, RETURNED_TO_PARTNER)

_SELECT = select(borrowing_t).where(borrowing_t.c.id == bindparam("id")).with_for_update()


# -- small helpers ---------------------------------------------------------------------------------

def status_name(code: str) -> str:
    return STATUS_NAMES.get(code, code)


def parse_status(text: str) -> str:
    """A status code from a code or a display name (any case).

    Raises:
        InvalidInput: not a borrowing status.
    """
    wanted = text.strip().lower().replace("-", "_")
    for code, name in STATUS_NAMES.items():
        if wanted in (code, name.lower(), name.lower().replace(" ", "_")):
            return code
    raise InvalidInput(f"{text!r} is not a borrowing status (one of: {', '.join(STATUSES)})")


def rota_of(b: dict[str, Any]) -> list[str]:
    return list(json.loads(b["rota"] or "[]"))


def current_partner(b: dict[str, Any]) -> str | None:
    """The partner now holding the request (the lender once it ships), or None."""
    index = b["current_partner"]
    rota = rota_of(b)
    if b.get("status") == READY_TO_BE_SENT:
        return None  # waiting to be sent by hand (pending_partner): no partner has it yet
    return rota[index] if index is not None and 0 <= index < len(rota) else None


def pending_index(b: dict[str, Any]) -> int:
    """The rota member a Ready to be Sent request waits to be sent to: the first one, or the
    one the rota passed on to when that partner takes requests by hand."""
    return b["current_partner"] if b["current_partner"] is not None else 0


def pending_partner(b: dict[str, Any]) -> str | None:
    """The partner a Ready to be Sent request waits to be sent to (None: any other status)."""
    rota = rota_of(b)
    index = pending_index(b)
    return rota[index] if b["status"] == READY_TO_BE_SENT and 0 <= index < len(rota) else None


def by_hand(inst: Institution, code: str) -> str:
    """What staff must do for a partner that takes requests by hand (``sends_automatically =
    false``): the request waits in Ready to be Sent until they send it and record Send."""
    return f"{partner_label(inst, code)} takes requests by hand: send it to them (by e-mail), then record Send"


def partner_label(inst: Institution, code: str | None) -> str:
    if code is None:
        return "no partner"
    partner = inst.partners.get(code)
    return f"{partner.name} ({code})" if partner else code


def lender_destination(code: str) -> str:
    return PARTNER_PREFIX + code


def rs_desk(inst: Institution, b: dict[str, Any]) -> Place:
    """The resource-sharing library's desk: the desk of the ``RS`` location's library, or
    (an institution without that location) the request's pickup desk."""
    loc = inst.locations.get(RS_LOCATION)
    if loc is not None:
        return inst.library_desk(loc.library)
    return inst.place(b["pickup"])


def allowed_actions(b: dict[str, Any], active_messages: int = 0) -> list[str]:
    """What the request's status allows now: ``borrowing`` subcommand names, or the desk
    action in words where the next step is a scan at a desk."""
    status = b["status"]
    shipped, has_item = b["shipped_at"] is not None, b["item_id"] is not None
    out: list[str] = {
        LOCATE_IN_PROCESS: ["locate", "cancel", "complete"],
        READY_TO_BE_SENT: ["send", "cancel"],
        REQUEST_SENT: ["partner-ship", "partner-reject", "partner-expire", "cancel"],
        WAITING_FOR_CANCEL: ["partner-ship", "partner-reject", "partner-expire"],
        SHIPPED: ["receive", "cancel", "partner-checkin"],
        RECEIVED: ["loan", "cancel", "partner-checkin"],
        LOANED: ["return", "partner-checkin"],
        RETURNED_TO_PATRON: ["scan in at the resource-sharing desk", "partner-checkin"],
        RETURNED_TO_PARTNER: ["partner-checkin"],
        LOCATE_FAILED: ["complete"],
    }.get(status, [])
    if status in CANCELLED and shipped:
        out = (["receive"] if not has_item else ["scan the item in"]) + ["partner-checkin"]
    if status in _WITH_PARTNER and status != COMPLETED:
        out.append("partner-message")
    if active_messages:
        out.append("dismiss")
    if status != COMPLETED:
        out.append("note")
    return out


def _staff(ctx: Ctx) -> None:
    """Raises NotPermitted unless the operator manages borrowing requests."""
    check_role(ctx.operator, BORROWING_ROLE)


def _load(ctx: Ctx, borrowing_id: int) -> dict[str, Any]:
    row = ctx.conn.execute(_SELECT, {"id": _known(borrowing_id)}).first()
    if row is None:
        raise NotFound(f"No borrowing request {borrowing_id}")
    return dict(row._mapping)


def _known(borrowing_id: int) -> int:
    """Raises NotFound for an id no borrowing request can have (see :func:`core.known_id`)."""
    return known_id(borrowing_id, f"No borrowing request {borrowing_id}")


def _active_messages(conn: Connection, borrowing_id: int, kind: str | None = None) -> list[dict[str, Any]]:
    stmt = select(message_t).where(message_t.c.borrowing_id == borrowing_id, message_t.c.active.is_(True))
    if kind is not None:
        stmt = stmt.where(message_t.c.kind == kind)
    return [dict(r._mapping) for r in conn.execute(stmt.order_by(message_t.c.id))]


def _refuse(conn: Connection, b: dict[str, Any], doing: str) -> WrongState:
    """The refusal of an action the status does not allow, naming what is allowed from here."""
    allowed = allowed_actions(b, len(_active_messages(conn, b["id"], MESSAGE)))
    here = f"allowed from here: {', '.join(allowed)}" if allowed else "nothing more can be done (final status)"
    return WrongState(f"Borrowing request {b['id']} is {status_name(b['status'])}: cannot {doing}; {here}")


def _require(ctx: Ctx, b: dict[str, Any], doing: str, *statuses: str) -> None:
    if b["status"] not in statuses:
        raise _refuse(ctx.conn, b, doing)


_JSON_COLUMNS = ("rota", "partners_given")


def _plain(value: Any, key: str = "") -> Any:
    """A value for an event or a view: ISO times, JSON columns as lists."""
    if isinstance(value, datetime):
        return value.isoformat()
    if key in _JSON_COLUMNS and isinstance(value, str):
        return json.loads(value)
    return value


def _update(ctx: Ctx, b: dict[str, Any], action_name: str, message: str, *,
            item: dict[str, Any] | None = None, **changes: Any) -> None:
    """Apply ``changes`` to the request and write its event, in the action's transaction.

    Raises:
        ConcurrentChange: another desk changed the request since it was read.
    """
    if "status" in changes and changes["status"] != b["status"]:
        changes["status_at"] = ctx.now
    changed = {k: v for k, v in changes.items() if b[k] != v} or changes
    before = {k: _plain(b[k], k) for k in changed if k != "status_at"}
    after = {k: _plain(v, k) for k, v in changed.items() if k != "status_at"}
    done = ctx.conn.execute(
        update(borrowing_t).where(borrowing_t.c.id == b["id"], borrowing_t.c.version == b["version"])
        .values(**changes, version=b["version"] + 1)).rowcount
    if done != 1:
        raise ConcurrentChange(f"Borrowing request {b['id']} was changed at another desk a moment ago; "
                               "look at it again")
    b.update(changes)
    b["version"] += 1
    ctx.event(action_name, item=item, borrowing_id=b["id"], before=before, after=after, message=message)


def _partner_says(ctx: Ctx, code: str | None, what: str) -> str:
    """The history message of a partner's action recorded by staff."""
    return f"Partner {partner_label(ctx.inst, code)} {what} (recorded by {ctx.operator.id} for the partner)"


def _notify_cancelled(ctx: Ctx, b: dict[str, Any], why: str) -> None:
    notify(ctx, b["patron"], "borrowing_cancelled", None, None,
           f"Your borrowing request {b['id']} for {b['title']} was cancelled: {why}. "
           "Please submit an InterLibrary Loan request instead.")


def _result(ctx: Ctx, b: dict[str, Any], message: str, *, item: dict[str, Any] | None = None,
            routed: Routed | None = None) -> Result:
    view = _view(ctx.conn, ctx.inst, b)
    return Result(message, barcode=item["barcode"] if item else b["item_barcode"],
                  destination=routed.destination if routed else None,
                  next_step=routed.next_step if routed else None,
                  item=ctx.view(item) if item is not None else None, extra={"borrowing": view})


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
        new_id = ctx.conn.execute(insert(borrowing_t).values(**values)).inserted_primary_key[0]
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
        _require(ctx, b, "locate partners", LOCATE_IN_PROCESS)
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
        _require(ctx, b, "send", READY_TO_BE_SENT)
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
        _require(ctx, b, "record a partner's rejection", REQUEST_SENT, WAITING_FOR_CANCEL)
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
        _require(ctx, b, "record an expiry at the partner", REQUEST_SENT, WAITING_FOR_CANCEL)
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
        _require(ctx, b, "record a shipment", REQUEST_SENT, WAITING_FOR_CANCEL)
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
        if not (b["status"] in _CHECKIN_FROM or (b["status"] in CANCELLED and b["shipped_at"] is not None)):
            raise _refuse(ctx.conn, b, "record the lender's check-in")
        partner = current_partner(b)
        item = _item(ctx, b)
        note = ""
        if item is not None and item["process_type"] == TRANSIT and item["transit_to"] == lender_destination(partner or ""):
            note = "; " + _remove_item(ctx, b, item, f"the lender {partner} checked it in")
            item = None
        elif item is not None:
            note = (f" — but the item was not returned properly: it is still {_where(ctx.inst, item)} "
                    "(see the monthly report)")
        elif b["item_removed_at"] is None:
            note = " — but the item was never received here (see the monthly report)"
        _update(ctx, b, "partner_checked_in", _partner_says(ctx, partner, "checked the item in"),
                status=COMPLETED, closed_at=ctx.now)
        return _result(ctx, b, f"{partner_label(ctx.inst, partner)} checked the item in: borrowing request "
                               f"{borrowing_id} is Request Completed{note}", item=item)


# -- messages and notes (B6) ---------------------------------------------------------------------------

def _add_message(ctx: Ctx, b: dict[str, Any], kind: str, text: str, partner: str | None) -> dict[str, Any]:
    if not text.strip():
        raise InvalidInput("The message is empty")
    values = {"borrowing_id": b["id"], "kind": kind, "partner": partner, "text": text.strip(), "at": ctx.now,
              "recorded_by": ctx.operator.id, "active": True}
    values["id"] = ctx.conn.execute(insert(message_t).values(**values)).inserted_primary_key[0]
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
        if b["status"] not in _WITH_PARTNER or b["status"] == COMPLETED or current_partner(b) is None:
            raise _refuse(ctx.conn, b, "record a partner's message (no partner has it)")
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
        _require(ctx, b, "route to Request Completed", LOCATE_IN_PROCESS, LOCATE_FAILED)
        was = status_name(b["status"])
        _update(ctx, b, "completed_by_staff", f"routed to Request Completed from {was}", status=COMPLETED,
                closed_at=ctx.now)
        return _result(ctx, b, f"Borrowing request {borrowing_id} routed from {was} to Request Completed")


# -- the item (B4, B5) ---------------------------------------------------------------------------------------

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
        cancelled = b["status"] in CANCELLED
        if not (b["status"] == SHIPPED or (cancelled and b["shipped_at"] is not None and b["item_id"] is None)):
            raise _refuse(ctx.conn, b, "receive an item")
        code = check_barcode(barcode or b["item_barcode"] or f"RS{borrowing_id:06d}")
        item, routed = _receive(ctx, b, desk, code)
        return _result(ctx, b, f"Received {code}: {routed.message}", item=item, routed=routed)


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
    item_id = ctx.conn.execute(insert(item_t).values(**values)).inserted_primary_key[0]
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

def loan(db: Database, borrowing_id: int, *, operator: str, at: str | None = None) -> Result:
    """Lend the received item to the request's patron, through :func:`libdesk.circulation.loan`
    at the pickup desk (or ``at``): Loaned Item to Patron (B4).

    Raises:
        NotFound, NotPermitted (W3), WrongState (not Physically Received; not at that desk).
    """
    check_role(db.institution.operator(operator), BORROWING_DESK_ROLE)
    b = _read(db, borrowing_id)
    if b["status"] != RECEIVED:
        with db.read() as conn:
            raise _refuse(conn, b, "lend the item")
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
    if b["status"] != LOANED:
        with db.read() as conn:
            raise _refuse(conn, b, "return the item")
    result = circulation.return_item(db, b["item_barcode"], at=at, operator=operator)
    result.extra["borrowing"] = show(db, borrowing_id)
    return result


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
        return (f"Temporary item {item['barcode']} kept: it has {has_requests} request(s); cancel them and scan "
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


# -- reads ---------------------------------------------------------------------------------------------------

def _read(db: Database, borrowing_id: int) -> dict[str, Any]:
    with db.read() as conn:
        row = conn.execute(select(borrowing_t).where(borrowing_t.c.id == _known(borrowing_id))).first()
    if row is None:
        raise NotFound(f"No borrowing request {borrowing_id}")
    return dict(row._mapping)


def _message_view(m: dict[str, Any]) -> dict[str, Any]:
    return {"id": m["id"], "kind": m["kind"], "partner": m["partner"], "text": m["text"], "at": _plain(m["at"]),
            "recorded_by": m["recorded_by"], "active": bool(m["active"]),
            "dismissed_at": _plain(m["dismissed_at"]), "dismissed_by": m["dismissed_by"]}


def _view(conn: Connection, inst: Institution, b: dict[str, Any]) -> dict[str, Any]:
    """The request as ``borrowing show --json`` gives it."""
    messages = [_message_view(dict(r._mapping)) for r in
                conn.execute(select(message_t).where(message_t.c.borrowing_id == b["id"]).order_by(message_t.c.id))]
    item = None
    if b["item_id"] is not None and b["item_removed_at"] is None:
        row = conn.execute(select(item_t).where(item_t.c.id == b["item_id"])).first()
        if row is not None:
            rec = dict(row._mapping)
            queue = [dict(r._mapping) for r in conn.execute(queue_statement(inst), {"item_id": rec["id"]})]
            item = item_view(inst, rec, queue)
    partner = current_partner(b)
    rota = rota_of(b)
    active = sum(1 for m in messages if m["active"] and m["kind"] == MESSAGE)
    return {
        "id": b["id"],
        "status": b["status"],
        "status_name": status_name(b["status"]),
        "patron": b["patron"],
        "title": b["title"],
        "author": b["author"],
        "identifier": b["identifier"],
        "pickup": b["pickup"],
        "rota": rota,
        "current_partner": partner,
        "current_partner_index": b["current_partner"] if partner is not None else None,
        "current_partner_name": inst.partners[partner].name if partner in inst.partners else None,
        "next_partner": pending_partner(b),
        "cancel_by": b["cancel_by"],
        "item_barcode": b["item_barcode"],
        "item_removed": b["item_removed_at"] is not None,
        "item": item,
        "messages": messages,
        "active_messages": active,
        "active_notes": sum(1 for m in messages if m["active"] and m["kind"] == NOTE),
        "creator": b["creator"],
        "created_at": _plain(b["created_at"]),
        "status_at": _plain(b["status_at"]),
        "sent_at": _plain(b["sent_at"]),
        "shipped_at": _plain(b["shipped_at"]),
        "received_at": _plain(b["received_at"]),
        "closed_at": _plain(b["closed_at"]),
        "allowed": allowed_actions(b, active),
    }


def show(db: Database, borrowing_id: int) -> dict[str, Any]:
    """One borrowing request with its rota, messages and item.

    Raises:
        NotFound: no such request.
    """
    with db.read() as conn:
        row = conn.execute(select(borrowing_t).where(borrowing_t.c.id == _known(borrowing_id))).first()
        if row is None:
            raise NotFound(f"No borrowing request {borrowing_id}")
        return _view(conn, db.institution, dict(row._mapping))


LIST_COLUMNS = [
    ("id", "Request"), ("status_name", "Status"), ("patron", "Patron"), ("title", "Title"),
    ("partner", "Partner"), ("pickup", "Pickup"), ("since", "Since"), ("days", "Days"),
    ("item_barcode", "Barcode"), ("active_messages", "Messages"),
]


def _row(b: dict[str, Any], today: Any, messages: int = 0) -> dict[str, Any]:
    rota = rota_of(b)
    partner = current_partner(b) or pending_partner(b) or (rota[0] if rota else None)
    return {"id": b["id"], "status": b["status"], "status_name": status_name(b["status"]), "patron": b["patron"],
            "title": b["title"], "partner": partner, "pickup": b["pickup"], "since": _plain(b["status_at"]),
            "days": (today - b["status_at"].date()).days, "item_barcode": b["item_barcode"],
            "active_messages": messages}


def _message_counts(conn: Connection, ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    stmt = (select(message_t.c.borrowing_id, func.count()).where(
        message_t.c.borrowing_id.in_(ids), message_t.c.active.is_(True), message_t.c.kind == MESSAGE)
        .group_by(message_t.c.borrowing_id))
    return {k: n for k, n in conn.execute(stmt)}


WITH_MESSAGES = "with_active_messages"
"""The Borrowing Requests list's filter for requests with an active general message (seed
004: "facet for these messages in your Borrowing Requests queue"), beside the statuses."""
WITH_MESSAGES_NAME = "With active general messages"


def list_requests(db: Database, status: str | None = None, limit: int = 500, *,
                  with_messages: bool = False) -> list[dict[str, Any]]:
    """Borrowing requests, newest first, optionally of one status (code or name), and only
    those with an active general message from a lender when ``with_messages`` (B6).

    Raises:
        InvalidInput: an unknown status.
    """
    stmt = select(borrowing_t)
    if status is not None:
        stmt = stmt.where(borrowing_t.c.status == parse_status(status))
    if with_messages:
        stmt = stmt.where(select(message_t.c.id).where(
            message_t.c.borrowing_id == borrowing_t.c.id, message_t.c.active.is_(True),
            message_t.c.kind == MESSAGE).exists())
    stmt = stmt.order_by(borrowing_t.c.id.desc()).limit(limit)
    today = clock.today()
    with db.read() as conn:
        rows = [dict(r._mapping) for r in conn.execute(stmt)]
        counts = _message_counts(conn, [r["id"] for r in rows])
    return [_row(r, today, counts.get(r["id"], 0)) for r in rows]


def borrowing_history(db: Database, borrowing_id: int) -> list[dict[str, Any]]:
    """The request's audit trail, oldest first: its own events and its item's (loan, return,
    transit), each with operator, place, before and after.

    Raises:
        NotFound: no such request.
    """
    _read(db, borrowing_id)
    with db.read() as conn:
        rows = conn.execute(select(event_t).where(event_t.c.borrowing_id == borrowing_id).order_by(event_t.c.id))
        out = []
        for r in rows:
            ev = dict(r._mapping)
            view = event_view(ev)
            view["barcode"] = ev["barcode"]
            out.append(view)
        return out


def task_count(db: Database) -> int:
    """Active general messages from lenders: the app header's task count (B6)."""
    with db.read() as conn:
        return conn.execute(select(func.count()).select_from(message_t).where(
            message_t.c.active.is_(True), message_t.c.kind == MESSAGE)).scalar_one()


# -- checks (B7) and the monthly report (B8) --------------------------------------------------------------------

# (key, label, action, what the action means) per view, in the seed's order.
CHECKS: dict[str, list[tuple[str, str, str, str]]] = {
    "daily": [
        ("active_notes", "Active Notes", "dismiss", "read the note, act on it, then dismiss it"),
        ("active_messages", "Active General Messages", "dismiss",
         ("read the lender's message, do what is best for the patron (re-request, ILL, cancel, ask the lender "
          "to reject), then dismiss it")),
        (READY_TO_BE_SENT, STATUS_NAMES[READY_TO_BE_SENT], "send", "send it to the first partner of its rota"),
        (RETURNED_TO_PATRON, STATUS_NAMES[RETURNED_TO_PATRON], "scan in",
         "scan the item in at the resource-sharing desk: it then goes back to the lender"),
        (LOCATE_FAILED, STATUS_NAMES[LOCATE_FAILED], "complete",
         "check the audit trail; submit a new request if a mistake was made, then route this one to Request Completed"),
        (LOCATE_IN_PROCESS, STATUS_NAMES[LOCATE_IN_PROCESS], "complete",
         "the locate hung: create a new request for the patron, then route this one to Request Completed"),
        (WAITING_FOR_CANCEL, STATUS_NAMES[WAITING_FOR_CANCEL], "contact lender",
         "the lender has not answered the cancel yet: contact them"),
    ],
    "weekly": [
        (SHIPPED, STATUS_NAMES[SHIPPED], "receive", "on its way from the lender: receive it when it arrives"),
        (REQUEST_SENT, STATUS_NAMES[REQUEST_SENT], "contact lender",
         "the lender is considering it: follow up on old ones"),
        (RETURNED_TO_PARTNER, STATUS_NAMES[RETURNED_TO_PARTNER], "contact lender",
         "on its way back: the lender's check-in completes it; follow up on old ones"),
    ],
    "monthly": [
        (COMPLETED, STATUS_NAMES[COMPLETED], "report", "run the report of requests not returned properly"),
        ("not_returned_properly", "Completed, not returned properly", "clean up",
         "clean up by the process the item is stuck in (borrowing report)"),
    ],
}


def checks(db: Database, period: str, limit: int = 200) -> dict[str, Any]:
    """The daily, weekly or monthly check view (B7): the seed's states for that period, each
    with its count, its oldest ``limit`` rows (oldest first) and the action it needs.

    Raises:
        InvalidInput: not daily, weekly or monthly.
    """
    if period not in CHECKS:
        raise InvalidInput(f"{period!r}: the checks are daily, weekly or monthly")
    today = clock.today()
    sections = []
    with db.read() as conn:
        for key, label, act, hint in CHECKS[period]:
            if key in ("active_notes", "active_messages"):
                kind = NOTE if key == "active_notes" else MESSAGE
                stmt = (select(message_t, borrowing_t.c.patron, borrowing_t.c.title, borrowing_t.c.status)
                        .join(borrowing_t, borrowing_t.c.id == message_t.c.borrowing_id)
                        .where(message_t.c.active.is_(True), message_t.c.kind == kind))
                count = conn.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
                rows = [{"id": r.borrowing_id, "message_id": r.id, "text": r.text, "partner": r.partner,
                         "since": _plain(r.at), "days": (today - r.at.date()).days, "patron": r.patron,
                         "title": r.title, "status_name": status_name(r.status)}
                        for r in conn.execute(stmt.order_by(message_t.c.at, message_t.c.id).limit(limit))]
            elif key == "not_returned_properly":
                rows = list(_stuck_rows(conn, db.institution))
                count = len(rows)
                rows = rows[:limit]
            else:
                where = borrowing_t.c.status == key
                count = conn.execute(select(func.count()).select_from(borrowing_t).where(where)).scalar_one()
                fetched = [dict(r._mapping) for r in conn.execute(
                    select(borrowing_t).where(where).order_by(borrowing_t.c.status_at, borrowing_t.c.id).limit(limit))]
                counts = _message_counts(conn, [r["id"] for r in fetched])
                rows = [_row(r, today, counts.get(r["id"], 0)) for r in fetched]
            sections.append({"key": key, "label": label, "count": count, "action": act, "hint": hint, "rows": rows})
    return {"period": period, "sections": sections, "task_count": task_count(db)}


REPORT_GROUPS = ("Transit", "Loan", "Resource Sharing Request")
REPORT_COLUMNS = [
    ("process", "Process type"), ("id", "Request"), ("patron", "Patron"), ("title", "Title"),
    ("lender", "Lender"), ("barcode", "Barcode"), ("where", "Where it is"), ("completed", "Completed"),
    ("cleanup", "Clean-up"),
]
_CLEANUP = {
    "Transit": "scan the barcode in at any desk: the temporary item is removed",
    "Loan": "return the barcode at a desk to clear the patron's account: the temporary item is removed",
    "Resource Sharing Request": "take it off the hold shelf and scan it in: the temporary item is removed",
    "never received": "never received here: confirm with the lender; nothing to remove",
}


def _stuck_rows(conn: Connection, inst: Institution) -> list[dict[str, Any]]:
    """Completed requests whose item was not returned properly, grouped by process (B8)."""
    stmt = (select(borrowing_t, item_t.c.barcode.label("i_barcode"), item_t.c.process_type, item_t.c.transit_to,
                   item_t.c.hold_shelf, item_t.c.loan_patron, item_t.c.loan_due)
            .outerjoin(item_t, item_t.c.id == borrowing_t.c.item_id)
            .where(borrowing_t.c.status == COMPLETED, borrowing_t.c.shipped_at.is_not(None),
                   borrowing_t.c.item_removed_at.is_(None))
            .order_by(borrowing_t.c.closed_at, borrowing_t.c.id))
    out = []
    for r in conn.execute(stmt):
        rec = dict(r._mapping)
        if rec["i_barcode"] is None:  # never received: the item went back without reaching us
            process, where, cleanup = "Resource Sharing Request", "never received", _CLEANUP["never received"]
        else:
            process = PROCESS_NAMES.get(rec["process_type"] or "", rec["process_type"] or "In place")
            where = _where(inst, {**rec, "barcode": rec["i_barcode"]})
            cleanup = _CLEANUP.get(process, "scan the barcode in at a desk")
        out.append({"process": process, "id": rec["id"], "patron": rec["patron"], "title": rec["title"],
                    "lender": current_partner(rec), "barcode": rec["i_barcode"] or rec["item_barcode"] or "",
                    "where": where, "completed": _plain(rec["closed_at"]), "cleanup": cleanup})
    order = {g: i for i, g in enumerate(REPORT_GROUPS)}
    out.sort(key=lambda row: order.get(row["process"], len(order)))
    return out


def stuck_report(db: Database) -> dict[str, Any]:
    """The monthly report (B8): completed requests whose item was not returned properly, by
    the process type it is stuck in (Transit, Loan, Resource Sharing Request), with rows in
    :data:`REPORT_COLUMNS` for :func:`libdesk.exporting.export_rows`."""
    with db.read() as conn:
        rows = _stuck_rows(conn, db.institution)
    groups: dict[str, list[dict[str, Any]]] = {g: [] for g in REPORT_GROUPS}
    for row in rows:
        groups.setdefault(row["process"], []).append(row)
    return {"total": len(rows), "counts": {g: len(v) for g, v in groups.items()}, "groups": groups, "rows": rows}

