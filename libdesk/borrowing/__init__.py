"""Resource-sharing borrowing requests (SPEC section B, seed 004).

A borrowing request asks partner libraries, one after another (the *rota*), to lend an item
to one of our patrons. Each transition below is one engine call, in one transaction, with an
audit-trail event (``Event.borrowing_id``); a call the current status does not allow is
refused with :class:`~libdesk.errors.WrongState` naming what is allowed from here.

The state machine (B1-B5) is one table, :data:`~libdesk.borrowing.transitions.TRANSITIONS`:
each action's id, the statuses it is allowed from, what it needs (its parameters, a desk), its
label and help. The engine refuses from it (``records._require``), ``allowed_actions`` and the
app's menu are read from it, and the command line registers its subcommands from it
(:func:`~libdesk.borrowing.transitions.cli_transitions`) and calls :func:`perform`. In short:
Locate in Process -> (locate) Ready to be Sent -> (send) Request Sent to Partner -> (the
partner ships) Shipped Physically -> (receive) Physically Received by Library -> (loan) Loaned
Item to Patron -> (return) Returned Item to Partner, or Returned Item to Patron and then a Scan
In at the resource-sharing desk -> (the lender checks it in) Request Completed. A rejection or
an expiry passes the request to the next partner of the rota (or ends it: Rejected by Partner,
Expired); a cancel ends it at once, or waits for the partner's answer (Waiting for Cancel
Response), and an item already shipped still arrives and goes back to the lender. "Partner"
actions are recorded by staff on the lender's behalf; their events are named ``partner_*``.

The package: :mod:`~libdesk.borrowing.states` (statuses, the rota),
:mod:`~libdesk.borrowing.transitions` (the table), :mod:`~libdesk.borrowing.records` (load,
refuse, update with its event), :mod:`~libdesk.borrowing.actions` (the request actions),
:mod:`~libdesk.borrowing.items` (the temporary item and the hooks circulation calls),
:mod:`~libdesk.borrowing.views` (show, list, history, checks, report).

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
)
from libdesk.borrowing.transitions import (
    PLACE,
    DESK,
    PICKUP,
    NO_PLACE,
    Param,
    Transition,
    TRANSITIONS,
    ACTIONS,
    transition,
    allowed_actions,
    available,
    cli_transitions,
    words_of,
    label,
    title,
    explain,
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
    REQUEST_ROW,
    MESSAGE_ROW,
    STUCK_ROW,
    LIST_COLUMNS,
    WITH_MESSAGES,
    WITH_MESSAGES_NAME,
    list_requests,
    borrowing_history,
    task_count,
    CHECKS,
    CHECK_TRANSITIONS,
    checks,
    REPORT_GROUPS,
    REPORT_COLUMNS,
    stuck_report,
    CHECK_COLUMNS,
    CHECK_EXPORT_COLUMNS,
    DATE_KEYS,
    cell_text,
    shown_rows,
    export_table,
)
from libdesk.borrowing.actions import (
    NOT_RETURNED_PROPERLY,
    NEVER_RECEIVED,
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
    perform,
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
    "PLACE",
    "DESK",
    "PICKUP",
    "NO_PLACE",
    "Param",
    "Transition",
    "TRANSITIONS",
    "ACTIONS",
    "transition",
    "allowed_actions",
    "available",
    "cli_transitions",
    "words_of",
    "label",
    "title",
    "explain",
    "arrived_by_barcode",
    "check_loan",
    "loaned",
    "at_desk",
    "off_hold_shelf",
    "show",
    "REQUEST_ROW",
    "MESSAGE_ROW",
    "STUCK_ROW",
    "LIST_COLUMNS",
    "WITH_MESSAGES",
    "WITH_MESSAGES_NAME",
    "list_requests",
    "borrowing_history",
    "task_count",
    "CHECKS",
    "CHECK_TRANSITIONS",
    "checks",
    "REPORT_GROUPS",
    "REPORT_COLUMNS",
    "stuck_report",
    "CHECK_COLUMNS",
    "CHECK_EXPORT_COLUMNS",
    "DATE_KEYS",
    "cell_text",
    "shown_rows",
    "export_table",
    "NOT_RETURNED_PROPERLY",
    "NEVER_RECEIVED",
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
    "perform",
]
