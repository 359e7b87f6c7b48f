"""Reads of borrowing requests: one request with its messages and item, the list, the audit
trail, the task count, the daily/weekly/monthly checks (B7) and the monthly report (B8)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, func, select

from libdesk import clock
from libdesk.borrowing.items import _where
from libdesk.borrowing.records import _known, _plain, _read
from libdesk.borrowing.states import (
    COMPLETED,
    LOCATE_FAILED,
    LOCATE_IN_PROCESS,
    MESSAGE,
    NOTE,
    READY_TO_BE_SENT,
    REQUEST_SENT,
    RETURNED_TO_PARTNER,
    RETURNED_TO_PATRON,
    SHIPPED,
    STATUS_NAMES,
    WAITING_FOR_CANCEL,
    borrowing_t,
    current_partner,
    message_t,
    parse_status,
    partner_label,
    pending_partner,
    rota_of,
    rs_desk,
    status_name,
)
from libdesk.borrowing.transitions import allowed_actions, available
from libdesk.core import (
    event_t,
    event_view,
    item_t,
    item_view,
    queue_statement,
)
from libdesk.db import Database
from libdesk.errors import InvalidInput, NotFound
from libdesk.institution import Institution
from libdesk.models import (
    PROCESS_NAMES,
)


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
        "actions": available(b, active),
        "current_partner_label": partner_label(inst, partner) if partner is not None else None,
        "rs_desk": rs_desk(inst, b).code,
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


REQUEST_ROW = "request"
MESSAGE_ROW = "message"
STUCK_ROW = "stuck"
"""A row's ``kind`` in the lists and checks: a request, a lender's message or a note (a check's
Active rows), a completed request not returned properly (the report): faces test this, not the
row's keys."""

LIST_COLUMNS = [
    ("id", "Request"), ("status_name", "Status"), ("patron", "Patron"), ("title", "Title"),
    ("partner", "Partner"), ("pickup", "Pickup"), ("since", "Since"), ("days", "Days"),
    ("item_barcode", "Barcode"), ("active_messages", "Messages"),
]


def _row(b: dict[str, Any], today: Any, messages: int = 0) -> dict[str, Any]:
    rota = rota_of(b)
    partner = current_partner(b) or pending_partner(b) or (rota[0] if rota else None)
    return {"kind": REQUEST_ROW, "id": b["id"], "status": b["status"], "status_name": status_name(b["status"]),
            "patron": b["patron"],
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


CHECK_TRANSITIONS: dict[str, str] = {
    "send": "send", "dismiss": "dismiss", "scan in": "scan-in", "complete": "complete", "receive": "receive",
    "clean up": "cleanup",
}
"""A check's action -> the row of :data:`~libdesk.borrowing.transitions.TRANSITIONS` that does it
(absent: nothing to do but follow up with the lender, or open the report)."""


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
                rows = [{"kind": MESSAGE_ROW, "id": r.borrowing_id, "message_id": r.id, "text": r.text, "partner": r.partner,
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
            sections.append({"key": key, "label": label, "count": count, "action": act,
                             "action_label": act.capitalize(), "transition": CHECK_TRANSITIONS.get(act),
                             "hint": hint, "rows": rows})
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
        out.append({"kind": STUCK_ROW, "process": process, "id": rec["id"], "patron": rec["patron"], "title": rec["title"],
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



# -- exports: exactly what is shown (L4) ------------------------------------------------------------------------

CHECK_COLUMNS = [
    ("id", "Request"), ("text", "Title / message"), ("action", "Action"), ("patron", "Patron"),
    ("partner", "Partner"), ("since", "Since"), ("days", "Days"),
]
"""A check view's columns; each state is a heading above its requests (the export: a State column)."""
CHECK_EXPORT_COLUMNS = [("state", "State"), *CHECK_COLUMNS]

DATE_KEYS = ("since", "completed")
"""Columns holding a time: shown (and exported) as the date."""


def cell_text(key: str, value: Any) -> str:
    """A value as a list shows it, and as an export writes it."""
    if value is None:
        return ""
    if key in DATE_KEYS:
        return str(value)[:10]
    return str(value)


def shown_rows(rows: Iterable[dict[str, Any]], columns: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
    """Rows as a list shows them (L4: an export writes exactly what is shown): numbers stay
    numbers (a spreadsheet sorts them as such), times become the date shown."""
    keys = [key for key, _ in columns]
    return [{key: cell_text(key, row.get(key)) if key in DATE_KEYS or row.get(key) is None else row[key]
             for key in keys} for row in rows]


def export_table(view: str, data: dict[str, Any]) -> tuple[list[tuple[str, str]], list[dict[str, Any]]]:
    """The columns and rows an export of ``view`` writes, from what the view read: ``report``
    (:func:`stuck_report`), ``requests`` (``{"rows": list_requests(...)}``) or a check period
    (:func:`checks`). The app's ctrl+s and ``libdesk borrowing report -o`` both write these.

    Raises:
        InvalidInput: an unknown view.
    """
    if view == "report":
        return list(REPORT_COLUMNS), shown_rows(data["rows"], REPORT_COLUMNS)
    if view == "requests":
        return list(LIST_COLUMNS), shown_rows(data["rows"], LIST_COLUMNS)
    if view not in CHECKS:
        raise InvalidInput(f"{view!r}: the borrowing views are requests, report, daily, weekly, monthly")
    rows = []
    for section in data["sections"]:
        label = section["action"].capitalize()
        for row in section["rows"]:
            rows.append({"state": section["label"], "id": row["id"], "text": row.get("text") or row.get("title"),
                         "action": label, "patron": row.get("patron"),
                         "partner": row.get("partner") or row.get("lender"),
                         "since": row.get("since") or row.get("completed"), "days": row.get("days")})
    return list(CHECK_EXPORT_COLUMNS), shown_rows(rows, CHECK_EXPORT_COLUMNS)
