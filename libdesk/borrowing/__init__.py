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

from libdesk.borrowing.states import (
    borrowing_t,
    message_t,
    LOCATE_IN_PROCESS,
    READY_TO_BE_SENT,
    REQUEST_SENT,
    SHIPPED,
    RECEIVED,
    LOANED,
    RETURNED_TO_PATRON,
    RETURNED_TO_PARTNER,
    COMPLETED,
    REJECTED,
    EXPIRED,
    LOCATE_FAILED,
    CANCELLED_BY_PATRON,
    CANCELLED_BY_STAFF,
    WAITING_FOR_CANCEL,
    STATUS_NAMES,
    STATUSES,
    CANCELLED,
    FINAL,
    CANCEL_BY,
    MESSAGE,
    NOTE,
    PARTNER_PREFIX,
    RS_LOCATION,
    status_name,
    parse_status,
    rota_of,
    current_partner,
    pending_index,
    pending_partner,
    by_hand,
    partner_label,
    lender_destination,
    rs_desk,
    allowed_actions,
)
from libdesk.borrowing.items import (
    arrived_by_barcode,
    check_loan,
    loaned,
    at_desk,
    off_hold_shelf,
)
from libdesk.borrowing.views import (
    show,
    LIST_COLUMNS,
    WITH_MESSAGES,
    WITH_MESSAGES_NAME,
    list_requests,
    borrowing_history,
    task_count,
    CHECKS,
    checks,
    REPORT_GROUPS,
    REPORT_COLUMNS,
    stuck_report,
)
from libdesk.borrowing.actions import (
    new_request,
    locate,
    send,
    partner_reject,
    partner_expire,
    due_at,
    tick,
    partner_ship,
    partner_checkin,
    partner_message,
    add_note,
    dismiss,
    cancel,
    complete,
    receive,
    loan,
    return_item,
)

__all__ = [
    "borrowing_t",
    "message_t",
    "LOCATE_IN_PROCESS",
    "READY_TO_BE_SENT",
    "REQUEST_SENT",
    "SHIPPED",
    "RECEIVED",
    "LOANED",
    "RETURNED_TO_PATRON",
    "RETURNED_TO_PARTNER",
    "COMPLETED",
    "REJECTED",
    "EXPIRED",
    "LOCATE_FAILED",
    "CANCELLED_BY_PATRON",
    "CANCELLED_BY_STAFF",
    "WAITING_FOR_CANCEL",
    "STATUS_NAMES",
    "STATUSES",
    "CANCELLED",
    "FINAL",
    "CANCEL_BY",
    "MESSAGE",
    "NOTE",
    "PARTNER_PREFIX",
    "RS_LOCATION",
    "status_name",
    "parse_status",
    "rota_of",
    "current_partner",
    "pending_index",
    "pending_partner",
    "by_hand",
    "partner_label",
    "lender_destination",
    "rs_desk",
    "allowed_actions",
    "arrived_by_barcode",
    "check_loan",
    "loaned",
    "at_desk",
    "off_hold_shelf",
    "show",
    "LIST_COLUMNS",
    "WITH_MESSAGES",
    "WITH_MESSAGES_NAME",
    "list_requests",
    "borrowing_history",
    "task_count",
    "CHECKS",
    "checks",
    "REPORT_GROUPS",
    "REPORT_COLUMNS",
    "stuck_report",
    "new_request",
    "locate",
    "send",
    "partner_reject",
    "partner_expire",
    "due_at",
    "tick",
    "partner_ship",
    "partner_checkin",
    "partner_message",
    "add_note",
    "dismiss",
    "cancel",
    "complete",
    "receive",
    "loan",
    "return_item",
]
