"""Reads: an item with its queue, its history, the public view, searches.

Searches use an exact barcode, a barcode prefix as a range (never LIKE: DESIGN.md), or words
of title/author/call number.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import bindparam, func, or_, select

from libdesk.core import _process_label, event_t, item_t, item_view, queue_statement, request_t
from libdesk.db import Database
from libdesk.errors import InvalidInput, NotFound
from libdesk.models import HOLD_SHELF, LOAN, LOST, MISSING, TRANSIT, WORK_ORDER, ACQUISITION, RESOURCE_SHARING

_ITEM = select(item_t).where(item_t.c.barcode == bindparam("barcode"))
_HISTORY = select(event_t).where(event_t.c.item_id == bindparam("item_id")).order_by(event_t.c.id)


def item_show(db: Database, barcode: str) -> dict[str, Any]:
    """The item as ``item show --json`` gives it.

    Raises:
        NotFound: no such barcode.
    """
    with db.read() as conn:
        row = conn.execute(_ITEM, {"barcode": barcode}).first()
        if row is None:
            raise NotFound(f"No item with barcode {barcode!r}")
        item = dict(row._mapping)
        queue = [dict(r._mapping) for r in conn.execute(queue_statement(db.institution), {"item_id": item["id"]})]
        return item_view(db.institution, item, queue)


def item_history(db: Database, barcode: str) -> list[dict[str, Any]]:
    """Every event on the item and its requests, oldest first."""
    with db.read() as conn:
        row = conn.execute(_ITEM, {"barcode": barcode}).first()
        if row is None:
            raise NotFound(f"No item with barcode {barcode!r}")
        return [event_view(dict(r._mapping)) for r in conn.execute(_HISTORY, {"item_id": row.id})]


def event_view(ev: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": ev["id"],
        "at": ev["at"].isoformat() if ev["at"] else None,
        "operator": ev["operator"],
        "place": ev["place"],
        "action": ev["action"],
        "request_id": ev["request_id"],
        "before": json.loads(ev["before"]) if ev["before"] else None,
        "after": json.loads(ev["after"]) if ev["after"] else None,
        "message": ev["message"],
    }


def public_view(db: Database, barcode: str) -> dict[str, Any]:
    """What the patron catalogue shows (W17): availability and the process, with a work
    order's type but never its status or department."""
    item = item_show(db, barcode)
    process = item["process_type"]
    inst = db.institution
    if process is None:
        availability = "Available"
        detail = inst.locations[item["location"]].name if item["location"] in inst.locations else ""
    elif process == LOAN:
        availability, detail = "Checked out", f"due {item['loan']['due']}"
    elif process == WORK_ORDER:
        wo = inst.work_order_types.get(item["work_order_type"] or "")
        availability, detail = "Not available", f"In process: {wo.name if wo else item['work_order_type']}"
    elif process == TRANSIT:
        availability, detail = "Not available", "In transit"
    elif process == HOLD_SHELF:
        availability, detail = "Not available", "On hold for another patron"
    elif process == ACQUISITION:
        availability, detail = "Not available", "On order"
    elif process in (MISSING, LOST):
        availability, detail = "Not available", process.capitalize()
    elif process == RESOURCE_SHARING:
        availability, detail = "Not available", "Resource sharing"
    else:
        availability, detail = "Not available", process
    return {
        "barcode": item["barcode"],
        "title": item["title"],
        "author": item["author"],
        "call_number": item["call_number"],
        "library": inst.libraries[item["library"]].name if item["library"] in inst.libraries else item["library"],
        "availability": availability,
        "detail": detail,
        "requests": len(item["requests"]),
    }


def prefix_upper_bound(prefix: str) -> str:
    """The smallest string greater than every string starting with ``prefix``."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def search(db: Database, query: str, limit: int = 50) -> list[dict[str, Any]]:
    """Physical Items search: an exact barcode, a barcode prefix ending in ``*``, or words
    that must all appear in the title, author or call number.

    Raises:
        InvalidInput: an empty query.
    """
    text = query.strip()
    if not text:
        raise InvalidInput("Empty search")
    cols = [item_t.c.id, item_t.c.barcode, item_t.c.title, item_t.c.author, item_t.c.call_number, item_t.c.library,
            item_t.c.location, item_t.c.process_type, item_t.c.work_order_type, item_t.c.status,
            item_t.c.department, item_t.c.transit_to]
    with db.read() as conn:
        exact = conn.execute(select(*cols).where(item_t.c.barcode == text)).all()
        if exact:
            rows = exact
        elif text.endswith("*") and len(text) > 1:
            prefix = text[:-1]
            rows = conn.execute(select(*cols).where(item_t.c.barcode >= prefix,
                                                   item_t.c.barcode < prefix_upper_bound(prefix))
                                .order_by(item_t.c.barcode).limit(limit)).all()
        else:
            stmt = select(*cols)
            for word in text.split():
                pattern = f"%{word.lower()}%"
                stmt = stmt.where(or_(func.lower(item_t.c.title).like(pattern),
                                      func.lower(item_t.c.author).like(pattern),
                                      func.lower(item_t.c.call_number).like(pattern)))
            rows = conn.execute(stmt.order_by(item_t.c.title, item_t.c.barcode).limit(limit)).all()
        out = []
        for r in rows:
            rec = dict(r._mapping)
            rec["process"] = _process_label(db.institution, rec)
            rec["requests"] = conn.execute(_REQUEST_COUNT, {"item_id": rec.pop("id")}).scalar_one()
            out.append(rec)
    return out


_REQUEST_COUNT = select(func.count()).select_from(request_t).where(
    request_t.c.item_id == bindparam("item_id"), request_t.c.active.is_(True))


def overview(db: Database) -> dict[str, Any]:
    """Counts by process, and example commands that work on this database."""
    with db.read() as conn:
        by_process = {(k or "in place"): n for k, n in conn.execute(
            select(item_t.c.process_type, func.count()).group_by(item_t.c.process_type)).all()}
        active = conn.execute(select(func.count()).select_from(request_t).where(request_t.c.active.is_(True))).scalar_one()
        sample = conn.execute(select(item_t.c.barcode).where(item_t.c.process_type.is_(None))
                              .order_by(item_t.c.id).limit(1)).scalar()
        in_wo = conn.execute(select(item_t.c.barcode, item_t.c.department).where(item_t.c.process_type == WORK_ORDER)
                             .order_by(item_t.c.id).limit(1)).first()
    examples = []
    if sample:
        examples += [f"libdesk item show {sample}",
                     f"libdesk scan {sample} --at CCWID --status Pocket",
                     f"libdesk workorder {sample} --type TS --department ITS625 --note 'check edition'"]
    if in_wo:
        examples.append(f"libdesk scan {in_wo.barcode} --at {in_wo.department} --done")
    examples += ["libdesk picklist --library WID", "libdesk search letters", "libdesk --help"]
    return {
        "institution": db.institution.name,
        "database": db.description,
        "items": sum(by_process.values()),
        "by_process": dict(sorted(by_process.items(), key=lambda kv: -kv[1])),
        "active_requests": active,
        "try": examples,
    }
