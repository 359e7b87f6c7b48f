"""Set-based bulk actions: a batch of items in a handful of statements (issue 16, item 3).

A bulk action runs the same per-item engine code a scan runs (every rule lives once), on a
:class:`BatchCtx`: the batch's items, their queues and their current requests are read in
three statements up front (the items locked, in the bulk run's one lock order), each item's
reads are then served from those rows, and its writes (item and request updates, history
events, notices) are kept in order and written at the end of the batch with one executemany
per table. A batch of 200 costs about seven statements instead of ~17 per item.

What an item does is exactly what it did one by one: the same events in the same order, the
same rows. An item that fails leaves nothing behind: its buffered writes are dropped and the
rows it changed in memory are put back, as its savepoint rollback did. An item whose code
needs a statement the batch does not serve from memory (a request to insert, a pseudopatron
to look at) is run again the old way, in its own savepoint, after the buffer is written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from sqlalchemy import Connection, Select, String, bindparam, func, select

from libdesk.core import (
    _INSERT_EVENT,
    _ORDER_EQUAL,
    _ORDER_WO_FIRST,
    _UPDATE_ITEM,
    _UPDATE_REQUEST,
    Ctx,
    item_t,
    request_t,
)
from libdesk.db import Database
from libdesk.errors import ConcurrentChange, LibdeskError, NotFound
from libdesk.fastpath import Runner
from libdesk.institution import Operator, Place
from libdesk.routing import _INSERT_NOTICE


_ITEMS = select(item_t).where(item_t.c.barcode.in_(bindparam("codes", expanding=True)))


@cache
def _items_locked_pg() -> Select[Any]:
    """The batch's items on PostgreSQL, locked in the order given (built on first use: the
    PostgreSQL dialect is not imported on a SQLite desk, nor at the app's start)."""
    from sqlalchemy.dialects import postgresql

    codes = bindparam("codes", type_=postgresql.ARRAY(String))
    return (select(item_t).where(item_t.c.barcode == func.any(codes))
            .order_by(func.array_position(codes, item_t.c.barcode)).with_for_update())

_QUEUES_BASE = select(request_t).where(request_t.c.item_id.in_(bindparam("ids", expanding=True)),
                                       request_t.c.active.is_(True))
_QUEUES_EQUAL = _QUEUES_BASE.order_by(request_t.c.item_id, *_ORDER_EQUAL)
_QUEUES_WO_FIRST = _QUEUES_BASE.order_by(request_t.c.item_id, *_ORDER_WO_FIRST)
_REQUESTS = select(request_t).where(request_t.c.id.in_(bindparam("ids", expanding=True)))


class _Direct(Exception):
    """An item needs a statement the batch does not serve from memory: run it the old way."""


class _WriteBehind:
    """Stands in for :class:`~libdesk.fastpath.Runner` on a batch: the writes the engine's
    per-item code makes are kept, in order, and written by :meth:`flush`; anything else is
    run on the real runner after a flush (or refused with :class:`_Direct` while an item is
    being served from memory)."""

    def __init__(self, real: Runner) -> None:
        self.real = real
        self.strict = False
        self.items: dict[int, dict[str, Any]] = {}
        """Pending item updates, one per item: the version read, the state last written."""
        self.requests: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.notices: list[dict[str, Any]] = []

    # -- the Runner interface ----------------------------------------------------------
    def write(self, stmt: Any, params: dict[str, Any]) -> int:
        if stmt is _UPDATE_ITEM:
            pending = self.items.get(params["_id"])
            self.items[params["_id"]] = params if pending is None else {**params, "_version": pending["_version"]}
            return 1
        if stmt is _UPDATE_REQUEST:
            self.requests.append(params)
            return 1
        self._direct()
        return self.real.write(stmt, params)

    def insert(self, stmt: Any, values: dict[str, Any]) -> int:
        if stmt is _INSERT_EVENT:
            self.events.append(values)
            return 0
        if stmt is _INSERT_NOTICE:
            self.notices.append(values)
            return 0
        self._direct()
        return self.real.insert(stmt, values)

    def rows(self, stmt: Any, params: dict[str, Any]) -> list[dict[str, Any]]:
        self._direct()
        return self.real.rows(stmt, params)

    def first(self, stmt: Any, params: dict[str, Any]) -> dict[str, Any] | None:
        rows = self.rows(stmt, params)
        return rows[0] if rows else None

    # -- the buffer --------------------------------------------------------------------
    def _direct(self) -> None:
        if self.strict:
            raise _Direct()
        self.flush()

    def mark(self) -> tuple[dict[int, dict[str, Any]], int, int, int]:
        return dict(self.items), len(self.requests), len(self.events), len(self.notices)

    def reset(self, mark: tuple[dict[int, dict[str, Any]], int, int, int]) -> None:
        items, n_requests, n_events, n_notices = mark
        self.items = items
        del self.requests[n_requests:], self.events[n_events:], self.notices[n_notices:]

    def flush(self) -> None:
        """Write everything pending: one executemany per table.

        Raises:
            ConcurrentChange: an item's version moved (cannot happen while the batch holds
            its rows; checked all the same, as every single write is).
        """
        items = list(self.items.values())
        self.items = {}
        if self.real.write_many(_UPDATE_ITEM, items) != len(items):
            raise ConcurrentChange("Items of this batch were changed at another desk a moment ago; run it again")
        requests, self.requests = self.requests, []
        self.real.write_many(_UPDATE_REQUEST, requests)
        events, self.events = self.events, []
        self.real.insert_many(_INSERT_EVENT, events)
        notices, self.notices = self.notices, []
        self.real.insert_many(_INSERT_NOTICE, notices)


class BatchCtx(Ctx):
    """A :class:`~libdesk.core.Ctx` over a batch of items read up front (see the module)."""

    def __init__(self, db: Database, conn: Connection, operator: Operator, place: Place | None) -> None:
        super().__init__(db, conn, operator, place)
        self.buffer = _WriteBehind(self.run)
        self.run = self.buffer  # type: ignore[assignment]
        self._items: dict[str, dict[str, Any]] = {}
        self._queues: dict[int, list[dict[str, Any]]] = {}
        self._requests: dict[int, dict[str, Any]] = {}
        self._fetched: set[str] = set()

    # -- reading the batch ---------------------------------------------------------------
    def fetch(self, barcodes: Sequence[str]) -> None:
        """Read (and lock, in the order given) the items, their queues, their current requests."""
        codes = list(dict.fromkeys(barcodes))
        if not codes:
            return
        real = self.buffer.real
        if self.conn.dialect.name == "postgresql":
            # FOR UPDATE takes the row locks in the ORDER BY's order: the bulk run's one order.
            items = [dict(r._mapping) for r in self.conn.execute(_items_locked_pg(), {"codes": codes})]
        else:  # SQLite: the write lock (BEGIN IMMEDIATE) already keeps every other writer out
            items = real.rows_in(_ITEMS, "codes", codes)
        self._fetched.update(codes)
        ids = [it["id"] for it in items]
        for it in items:
            self._items[it["barcode"]] = it
            self._queues[it["id"]] = []
        if not ids:
            return
        for req in real.rows_in(_QUEUES_EQUAL if self.inst.policy.work_orders_equal_patron_requests
                                else _QUEUES_WO_FIRST, "ids", ids):
            self._queues[req["item_id"]].append(req)
            self._requests[req["id"]] = req
        current = [it["current_request_id"] for it in items
                   if it["current_request_id"] is not None and it["current_request_id"] not in self._requests]
        if current:
            for req in real.rows_in(_REQUESTS, "ids", current):
                self._requests[req["id"]] = req

    def _evict(self, barcode: str) -> None:
        """Forget an item's rows: from now on it is read from the database."""
        item = self._items.pop(barcode, None)
        self._fetched.discard(barcode)
        if item is None:
            return
        for req in self._queues.pop(item["id"], []):
            self._requests.pop(req["id"], None)
        if item["current_request_id"] is not None:
            self._requests.pop(item["current_request_id"], None)

    # -- Ctx's reads, from memory ----------------------------------------------------------
    def item(self, barcode: str) -> dict[str, Any]:
        hit = self._items.get(barcode)
        if hit is not None:
            return hit
        if barcode in self._fetched:
            raise NotFound(f"No item with barcode {barcode!r}")
        return super().item(barcode)

    def request(self, request_id: int) -> dict[str, Any]:
        hit = self._requests.get(request_id)
        return hit if hit is not None else super().request(request_id)

    def queue(self, item_id: int) -> list[dict[str, Any]]:
        queue = self._queues.get(item_id)
        if queue is None:
            return super().queue(item_id)
        # The order keys (forced, rank, kind, placed_at) do not change within a batch's actions;
        # a request that closes leaves the queue.
        return [req for req in queue if req["active"]]

    # -- one item ------------------------------------------------------------------------
    def _snapshot(self, barcode: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        item = self._items.get(barcode)
        if item is None:
            return []
        rows = [item, *self._queues.get(item["id"], [])]
        current = self._requests.get(item["current_request_id"]) if item["current_request_id"] is not None else None
        if current is not None and all(current is not r for r in rows):
            rows.append(current)
        return [(row, dict(row)) for row in rows]

    def serve(self, barcode: str, one: Callable[[Ctx, dict[str, Any]], Any]) -> Any:
        """Run ``one(ctx, item)`` for the item with ``barcode`` as its own all-or-nothing step.

        Raises:
            LibdeskError: the item's own failure; nothing of it is left, here or in the database.
        """
        saved = self._snapshot(barcode)
        mark = self.buffer.mark()
        touched = dict(self.touched)
        self.buffer.strict = True
        try:
            return one(self, self.item(barcode))
        except (_Direct, LibdeskError) as exc:
            for row, copy in saved:
                row.clear()
                row.update(copy)
            self.buffer.reset(mark)
            self.touched = touched
            if not isinstance(exc, _Direct):
                raise
        finally:
            self.buffer.strict = False
        # The old way: what is pending first, then this item in its own savepoint.
        self.buffer.flush()
        self._evict(barcode)
        mark = self.buffer.mark()
        try:
            with self.conn.begin_nested():
                result = one(self, self.item(barcode))
                self.buffer.flush()
        except LibdeskError:
            self.buffer.reset(mark)
            self.touched = touched
            raise
        return result

    def settle(self) -> None:
        super().settle()
        self.buffer.flush()
