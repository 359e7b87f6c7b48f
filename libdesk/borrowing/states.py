"""The states of a borrowing request (B1) and what each says about the request: the
status codes and names, the rota and its current partner, and the small words the messages use."""

from __future__ import annotations

import json
from typing import Any

from libdesk.errors import InvalidInput
from libdesk.institution import Institution, Place
from libdesk.models import (
    BorrowingMessage,
    BorrowingRequest,
    table,
)

borrowing_t = table(BorrowingRequest)
message_t = table(BorrowingMessage)
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
