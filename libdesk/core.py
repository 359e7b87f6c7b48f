"""The machinery every engine action shares: the action context, items, events, results.

An engine action is ``with action(db, operator, at) as ctx:``: it checks the operator may act
at the place (W3), opens one write transaction, and gives the action a :class:`Ctx` to read
and change items through. Every change goes through :meth:`Ctx.update_item` /
:meth:`Ctx.update_request`, which write the history event (time, operator, place, action,
before -> after) in the same transaction, so there is no change without its event.

Statements are built once at import and reused: SQLAlchemy caches their compiled form, which
keeps a scan to a few indexed statements (DESIGN.md, "The engine").
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, case, delete, insert, select, update

from libdesk import clock
from libdesk.db import Database
from libdesk.errors import ConcurrentChange, NotFound, NotPermitted
from libdesk.fastpath import Runner, converters
from libdesk.institution import SYSTEM_OPERATOR_ID, Institution, Operator, Place
from libdesk.operators import check_places
from libdesk.models import (
    PICKUP_FROM_SHELF,
    PROCESS_NAMES,
    STEP_NAMES,
    WAITING,
    WAITING_FOR_REMOTE_STORAGE,
    WORK_ORDER_REQUEST,
    Event,
    Item,
    Patron,
    Request,
    table,
)

MAX_ROW_ID = 2**31 - 1
"""The largest id a row can have on every engine (PostgreSQL's INTEGER column; ids count from 1)."""


def count_of(n: int, noun: str) -> str:
    """``n`` and its noun in the right number, for messages: "1 request", "2 requests"."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def known_id(value: int, missing: str) -> int:
    """``value`` as the id of a row to look up. One no row can have (below 1, or beyond
    :data:`MAX_ROW_ID`, e.g. ``99999999999999999999999`` typed at the shell) is refused as
    the row not being there, with ``missing``: it never reaches the driver, whose integer
    would overflow.

    Raises:
        NotFound: ``missing``.
    """
    if not 1 <= value <= MAX_ROW_ID:
        raise NotFound(missing)
    return value


item_t = table(Item)
request_t = table(Request)
event_t = table(Event)

# The columns an action may change on an item; one UPDATE statement writes them all.
ITEM_STATE = (
    "process_type", "work_order_type", "department", "status", "transit_to", "hold_shelf",
    "loan_patron", "loan_due", "current_request_id", "wo_since", "borrowing_id",
)
REQUEST_STATE = (
    "step", "active", "forced", "forced_rank", "pickup", "department", "work_order_type",
    "note", "expiry", "closed_at", "in_hand",
)

# FOR UPDATE: on PostgreSQL two desks acting on one item queue on the row lock, so the second
# sees the first's result; SQLite drops the clause (BEGIN IMMEDIATE already serializes writers).
_SELECT_ITEM_BY_BARCODE = select(item_t).where(item_t.c.barcode == bindparam("barcode")).with_for_update()
_SELECT_ITEM_BY_ID = select(item_t).where(item_t.c.id == bindparam("id")).with_for_update()
_UPDATE_ITEM = (
    update(item_t)
    .where(item_t.c.id == bindparam("_id"), item_t.c.version == bindparam("_version"))
    .values({**{c: bindparam(c) for c in ITEM_STATE}, "version": bindparam("_new_version"),
             "updated_at": bindparam("_now")})
)
_SELECT_REQUEST = select(request_t).where(request_t.c.id == bindparam("id"))
_UPDATE_REQUEST = (
    update(request_t).where(request_t.c.id == bindparam("_id"))
    .values({c: bindparam(c) for c in REQUEST_STATE})
)
_INSERT_REQUEST = insert(request_t)
patron_t = table(Patron)
_SELECT_PATRON_PSEUDO = select(patron_t.c.pseudo).where(patron_t.c.id == bindparam("id"))
_PATRON_HAS_LOAN = select(item_t.c.id).where(item_t.c.loan_patron == bindparam("patron")).limit(1)
_PATRON_HAS_REQUEST = select(request_t.c.id).where(
    request_t.c.patron == bindparam("patron"), request_t.c.active.is_(True)).limit(1)
_DELETE_PATRON = delete(patron_t).where(patron_t.c.id == bindparam("id"))
_CONVERT = converters(item_t, request_t)
_INSERT_EVENT = insert(event_t)

PULL_STEPS = (WAITING, PICKUP_FROM_SHELF, WAITING_FOR_REMOTE_STORAGE)

# Queue order (Q1): forced first in the order they were forced, then by policy, then by
# placement. Two statements, one per policy, each built once.
_KIND_RANK = case((request_t.c.kind == WORK_ORDER_REQUEST, 0), else_=1)
_ORDER_EQUAL = (request_t.c.forced.desc(), request_t.c.forced_rank, request_t.c.placed_at, request_t.c.id)
_ORDER_WO_FIRST = (request_t.c.forced.desc(), request_t.c.forced_rank, _KIND_RANK, request_t.c.placed_at, request_t.c.id)
_QUEUE_BASE = select(request_t).where(request_t.c.item_id == bindparam("item_id"), request_t.c.active.is_(True))
_QUEUE_EQUAL = _QUEUE_BASE.order_by(*_ORDER_EQUAL)
_QUEUE_WO_FIRST = _QUEUE_BASE.order_by(*_ORDER_WO_FIRST)


def queue_order(institution: Institution) -> tuple[Any, ...]:
    """The ORDER BY of a queue (Q1), for statements that read many queues at once (bulk)."""
    return _ORDER_EQUAL if institution.policy.work_orders_equal_patron_requests else _ORDER_WO_FIRST


def queue_statement(institution: Institution):
    return _QUEUE_EQUAL if institution.policy.work_orders_equal_patron_requests else _QUEUE_WO_FIRST


def _jsonable(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


OK = "ok"
WARNING = "warning"
INFO = "info"
SEVERITIES = (OK, WARNING, INFO)
"""A result's severity: what colour a face gives it (a refusal is an exception, never a result)."""


@dataclass
class Result:
    """What an engine action did, for a person (``message``) and for scripts (the rest)."""

    message: str
    barcode: str | None = None
    destination: str | None = None
    """Where the item goes next: a place code, or None (reshelve, stays, no item)."""
    next_step: str | None = None
    """hold_shelf | transit | reshelve | in_process | stays | loan | ... (None when not about an item)."""
    item: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    code: str = ""
    """What happened, as a stable name a face may test (``borrowing.checked_in_not_returned``);
    "" when the message alone says it. Faces never test the message's words."""
    severity: str = OK
    """How a face shows it: :data:`OK`, :data:`WARNING` (done, but something needs a person's
    attention) or :data:`INFO`."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "barcode": self.barcode,
            "message": self.message,
            "code": self.code,
            "severity": self.severity,
            "destination": self.destination,
            "next_step": self.next_step,
            "item": self.item,
        }
        out.update(self.extra)
        return out


class Ctx:
    """One action in one transaction: who, where, when, and the connection."""

    def __init__(self, db: Database, conn: Connection, operator: Operator, place: Place | None) -> None:
        self.db = db
        self.inst = db.institution
        self.conn = conn
        self.run = Runner(conn, _CONVERT)
        self.operator = operator
        self.place = place
        self.now = clock.now()
        self.today = self.now.date()
        self.tag: str | None = None
        """Set by bulk actions: every event of the action names it ("bulk Done of 312 items")."""
        self.touched: dict[int, dict[str, Any]] = {}
        """Items changed by this action; their queue heads are settled before views and commit."""

    # -- items -------------------------------------------------------------------------
    def item(self, barcode: str) -> dict[str, Any]:
        """The item with this barcode, as a mutable dict.

        Raises:
            NotFound: no item has this barcode.
        """
        row = self.run.first(_SELECT_ITEM_BY_BARCODE, {"barcode": barcode})
        if row is None:
            raise NotFound(f"No item with barcode {barcode!r}")
        return row

    def item_by_id(self, item_id: int) -> dict[str, Any]:
        row = self.run.first(_SELECT_ITEM_BY_ID, {"id": item_id})
        if row is None:
            raise NotFound(f"No item with id {item_id}")
        return row

    def update_item(self, item: dict[str, Any], action: str, message: str = "", **changes: Any) -> None:
        """Apply ``changes`` to the item and record the event (even when nothing differs:
        a same-status move is still a move, W1).

        Raises:
            ConcurrentChange: another desk changed the item since it was read.
        """
        # The event names what changed; a move that changes nothing (same status again)
        # is still recorded with the fields it set (W1: Alma misses those, we do not).
        changed = {k: v for k, v in changes.items() if item[k] != v} or dict([next(iter(changes.items()))])
        before = {k: _jsonable(item[k]) for k in changed}
        item.update(changes)
        params = {c: item[c] for c in ITEM_STATE}
        params.update(_id=item["id"], _version=item["version"], _new_version=item["version"] + 1, _now=self.now)
        if self.run.write(_UPDATE_ITEM, params) != 1:
            raise ConcurrentChange(
                f"Item {item['barcode']} was changed at another desk a moment ago; scan it again to see where it is now"
            )
        item["version"] += 1
        self.touched[item["id"]] = item
        self.event(action, item=item, before=before, after={k: _jsonable(v) for k, v in changed.items()}, message=message)

    # -- requests ----------------------------------------------------------------------
    def request(self, request_id: int) -> dict[str, Any]:
        row = self.run.first(_SELECT_REQUEST, {"id": known_id(request_id, f"No request with id {request_id}")})
        if row is None:
            raise NotFound(f"No request with id {request_id}")
        return row

    def queue(self, item_id: int) -> list[dict[str, Any]]:
        """The item's active requests in queue order (Q1)."""
        return self.run.rows(queue_statement(self.inst), {"item_id": item_id})

    def insert_request(self, item: dict[str, Any], message: str = "", **values: Any) -> dict[str, Any]:
        values.setdefault("placed_at", self.now)
        values.setdefault("creator", self.operator.id)
        values["item_id"] = item["id"]
        values["owner"] = item["library"]
        values["material_type"] = item["material_type"]
        new_id = self.run.insert(_INSERT_REQUEST, values)
        self.touched.setdefault(item["id"], item)
        req = self.request(new_id)
        after = {k: _jsonable(req[k]) for k in ("kind", "patron", "pickup", "work_order_type", "department",
                                                "note", "step", "in_hand", "expiry")}
        self.event("request_placed", item=item, request_id=new_id, after=after, message=message)
        return req

    def update_request(self, req: dict[str, Any], action: str, item: dict[str, Any] | None = None,
                       message: str = "", **changes: Any) -> None:
        changed = {k: v for k, v in changes.items() if req[k] != v} or changes
        closing = req["active"] and changes.get("active") is False
        before = {k: _jsonable(req[k]) for k in changed}
        req.update(changes)
        params = {c: req[c] for c in REQUEST_STATE}
        params["_id"] = req["id"]
        self.run.write(_UPDATE_REQUEST, params)
        if item is not None:
            self.touched.setdefault(item["id"], item)
        self.event(action, item=item, item_id=req["item_id"], request_id=req["id"], before=before,
                   after={k: _jsonable(v) for k, v in changed.items()}, message=message)
        if closing:
            self.retire_pseudopatron(req["patron"])

    def retire_pseudopatron(self, patron: str | None) -> None:
        """Seed 000: "once all the items on a loan to any pseudopatron are processed, and all
        hold requests made by the pseudopatron are processed, the pseudopatron record will be
        deleted". Called when a loan ends and when a request closes; a real patron is left
        alone (one primary-key read)."""
        if patron is None:
            return
        row = self.run.first(_SELECT_PATRON_PSEUDO, {"id": patron})
        if row is None or not row["pseudo"]:
            return
        if self.run.first(_PATRON_HAS_LOAN, {"patron": patron}) or self.run.first(_PATRON_HAS_REQUEST, {"patron": patron}):
            return
        self.run.write(_DELETE_PATRON, {"id": patron})
        self.event("pseudopatron_removed", message=f"pseudopatron {patron} removed: its last loan and request "
                                                   "are processed")

    # -- events ------------------------------------------------------------------------
    def event(self, action: str, *, item: dict[str, Any] | None = None, item_id: int | None = None,
              request_id: int | None = None, borrowing_id: int | None = None,
              before: dict[str, Any] | None = None, after: dict[str, Any] | None = None, message: str = "") -> None:
        self.run.insert(_INSERT_EVENT, {
            "at": self.now,
            "operator": self.operator.id,
            "place": self.place.code if self.place else None,
            "action": action,
            "item_id": item["id"] if item is not None else item_id,
            "request_id": request_id,
            # A borrowed temporary item's events (loan, return, transit) belong to its borrowing
            # request's audit trail too (B4), whoever writes them.
            "borrowing_id": borrowing_id if borrowing_id is not None or item is None else item.get("borrowing_id"),
            "barcode": item["barcode"] if item is not None else None,
            "before": json.dumps(before, sort_keys=True) if before is not None else None,
            "after": json.dumps(after, sort_keys=True) if after is not None else None,
            "message": " ".join(filter(None, (message, f"[{self.tag}]" if self.tag else ""))),
        })

    # -- permissions -------------------------------------------------------------------
    def touch(self, *codes: str | None, doing: str = "") -> None:
        """Declare the places this action touches; refuses unless the operator may act at
        every one (issue 14: the check lives once, in :func:`libdesk.operators.check_places`).

        Raises:
            NotPermitted: a place the operator may not act at.
        """
        check_places(self.inst, self.operator, codes, doing)

    # -- words -------------------------------------------------------------------------
    def place_name(self, code: str | None) -> str:
        return self.inst.place_name(code)

    def view(self, item: dict[str, Any]) -> dict[str, Any]:
        """The item as ``item show`` gives it, after the queue heads are settled."""
        self.settle()
        return item_view(self.inst, item, self.queue(item["id"]))

    # -- queue heads (L5) ------------------------------------------------------------------
    def shelf_step(self, item: dict[str, Any]) -> str:
        """The step of a request whose item must be fetched from its shelf."""
        loc = self.inst.locations.get(item["location"])
        return WAITING_FOR_REMOTE_STORAGE if loc is not None and loc.remote_storage else PICKUP_FROM_SHELF

    def settle(self) -> None:
        """Keep every touched item's pick-list steps true: an item on the shelf has its first
        request to be pulled (Pickup From Shelf / Waiting for Remote Storage) and the others
        waiting; an item anywhere else has no request waiting to be pulled. Runs once per
        action, before results are read and before commit, so intermediate states of an
        action (Done, then transit) never leave stray steps or events."""
        while self.touched:
            _, item = self.touched.popitem()
            on_shelf = item["process_type"] is None
            for position, req in enumerate(self.queue(item["id"])):
                if req["step"] not in PULL_STEPS:
                    continue
                wanted = self.shelf_step(item) if on_shelf and position == 0 else WAITING
                if req["step"] != wanted:
                    why = "first in queue: to be pulled" if wanted != WAITING else (
                        "waits in queue" if on_shelf else "item is no longer on the shelf; request waits")
                    self.update_request(req, "request_step", item=item, step=wanted, message=why)
                    self.touched.pop(item["id"], None)


@contextmanager
def action(db: Database, operator: str, at: str | None = None, *, need_place: bool = False,
           conn: Connection | None = None, ctx_type: type[Ctx] | None = None) -> Iterator[Ctx]:
    """Run one engine action in one write transaction.

    Raises:
        NotFound: unknown operator or place.
        NotPermitted: the operator may not act at ``at`` (W3).

    ``ctx_type``: a :class:`Ctx` subclass (bulk actions: :class:`libdesk.batch.BatchCtx`).
    """
    op = db.institution.operator(operator)
    place = None
    if at is not None:
        place = db.institution.place(at)
        check_places(db.institution, op, [place.code])
    elif need_place:
        raise NotPermitted("This action needs a place (a desk or department, --at)")
    with db.write(conn) as conn:
        ctx = (ctx_type or Ctx)(db, conn, op, place)
        yield ctx
        ctx.settle()


SYSTEM = Operator(SYSTEM_OPERATOR_ID, "libdesk (automatic step)", ("*",), ("borrowing",))
"""The operator of libdesk's own timed steps (``libdesk borrowing tick``): the history says
the system did it, not a person."""


@contextmanager
def system_action(db: Database) -> Iterator[Ctx]:
    """One automatic step in one write transaction, recorded as the system's."""
    with db.write() as conn:
        ctx = Ctx(db, conn, SYSTEM, None)
        yield ctx
        ctx.settle()


def base_status(item: dict[str, Any]) -> str:
    return "in_place" if item["process_type"] is None else "not_in_place"


def request_view(inst: Institution, req: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": req["id"],
        "kind": req["kind"],
        "patron": req["patron"],
        "forced": bool(req["forced"]),
        "step": req["step"],
        "step_name": STEP_NAMES.get(req["step"], req["step"]),
        "pickup": req["pickup"],
        "work_order_type": req["work_order_type"],
        "department": req["department"],
        "creator": req["creator"],
        "note": req["note"],
        "in_hand": bool(req["in_hand"]),
        "placed_at": _jsonable(req["placed_at"]),
        "expiry": _jsonable(req["expiry"]),
        "active": bool(req["active"]),
    }


def item_view(inst: Institution, item: dict[str, Any], queue: list[dict[str, Any]]) -> dict[str, Any]:
    """The item as ``item show --json`` gives it (SPEC section 1)."""
    loan = None
    if item["loan_patron"] is not None:
        loan = {"patron": item["loan_patron"], "due": _jsonable(item["loan_due"])}
    wo_type = item["work_order_type"]
    process = item["process_type"]
    return {
        "barcode": item["barcode"],
        "title": item["title"],
        "author": item["author"],
        "call_number": item["call_number"],
        "material_type": item["material_type"],
        "library": item["library"],
        "location": item["location"],
        "base_status": base_status(item),
        "process_type": process,
        "process_name": _process_label(inst, item),
        "work_order_type": wo_type,
        "department": item["department"],
        "status": item["status"],
        "transit_to": item["transit_to"],
        "hold_shelf": item["hold_shelf"],
        "loan": loan,
        "in_department_since": _jsonable(item["wo_since"]),
        "home": inst.home_desk(item["library"], item["location"]).code,
        "requests": [request_view(inst, r) for r in queue],
    }


def _process_label(inst: Institution, item: dict[str, Any]) -> str:
    """As Alma shows it: "Technical Services Work Order (Cataloging)"."""
    process = item["process_type"]
    if process is None:
        return "In place"
    if process == "work_order":
        wo = inst.work_order_types.get(item["work_order_type"] or "")
        name = wo.name if wo else item["work_order_type"]
        return f"{name} Work Order ({item['status']})" if item["status"] else f"{name} Work Order"
    if process == "transit":
        return f"In transit to {inst.place_name(item['transit_to'])}"
    return PROCESS_NAMES.get(process, process)


def action_words(action: str) -> str:
    """An event's action in words: "request_activated" -> "Request activated"."""
    return action.replace("_", " ").capitalize()


def describe_change(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """An event's change in one line: "status Pocket → Repair; department → CCWID" (every face
    shows this text: an event view carries it as ``change``)."""
    before, after = before or {}, after or {}
    parts = []
    for key in list(after) + [k for k in before if k not in after]:
        old, new = before.get(key), after.get(key)
        if key not in before:
            if new in (None, "", False):
                continue
            parts.append(f"{key} {_change_cell(new)}")
        else:
            parts.append(f"{key} {_change_cell(old) or '–'} → {_change_cell(new) or '–'}")
    return "; ".join(parts)


def _change_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def event_view(ev: dict[str, Any]) -> dict[str, Any]:
    before = json.loads(ev["before"]) if ev["before"] else None
    after = json.loads(ev["after"]) if ev["after"] else None
    return {
        "id": ev["id"],
        "at": ev["at"].isoformat() if ev["at"] else None,
        "operator": ev["operator"],
        "place": ev["place"],
        "action": ev["action"],
        "request_id": ev["request_id"],
        "before": before,
        "after": after,
        "change": describe_change(before, after),
        "message": ev["message"],
    }
