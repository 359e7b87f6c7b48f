"""Stateful property test: random sequences of desk actions on a real SQLite database.

A hypothesis ``RuleBasedStateMachine`` drives the public engine functions (Scan In at desks
and departments, loan/return, patron and work-order requests, activate, cancel, expiry, the
Physical Item Editor, receiving, mark missing) with valid and invalid input, all as operator
``admin``, on a small pool of items so that actions collide. After every step it reads the
tables directly and checks invariants that must hold whatever the sequence:

1. an item is in at most one process, and carries the fields of that process only;
2. a work-order item's department runs its work-order type (and so does a work-order request's);
3. queue order (Q1): forced requests first in the order they were forced, then by placement;
4. a request is active exactly when its step is not completed/cancelled;
5. every change has its event: history only grows, each ``Ctx.update_item`` is exactly one
   event and one version, and the item's and each request's history replays to its row;
6. an item serves at most one request at a time, ``current_request_id`` names it, and what
   the request is doing (Transit Item / In Process / On Hold Shelf) matches where the item is;
7. the pick list is right (L5, W11): a request is at Pickup From Shelf / Waiting for Remote
   Storage only while its item is on the shelf and it is first in the queue, and an item on
   the shelf with requests has its first one there.

A step may fail with a :class:`~libdesk.errors.LibdeskError` (a user error), but then the
database must be unchanged (``db_fingerprint``); any other exception fails the test. Every
event a step writes carries the step's time, operator and place, and a result's ``item`` is
what ``item show`` shows. Most rules also check the SPEC rule their action implements: W1,
W2, W4/W5 (where Done sends the item), W6/W7/W10 (desk scans), W8, W11, W12, W13, W14, W16,
Q2, Q3, Q5.

Each run starts from a random scene (items on loan, in a work order, on the hold shelf, in
transit, on the pick list, missing...) set up through the engine, so that short random runs
reach the deep cases; a few rules pick their place or request from the current state.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, note, settings
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from libdesk import circulation, clock, fastpath, institution, queries, receiving, requests, scan, workorders
from libdesk.core import ITEM_STATE, _jsonable, event_t, item_t, request_t
from libdesk.errors import LibdeskError
from libdesk.models import (
    ACQUISITION,
    ACTIVE_STEPS,
    CANCELLED,
    COMPLETED,
    HOLD_SHELF,
    IN_PROCESS,
    LOAN,
    LOST,
    MISSING,
    ON_HOLD_SHELF,
    PATRON,
    PICKUP_FROM_SHELF,
    PROCESS_TYPES,
    TRANSIT,
    TRANSIT_ITEM,
    WAITING_FOR_REMOTE_STORAGE,
    WORK_ORDER,
    WORK_ORDER_REQUEST,
    Notice,
)
from tests.conftest import FROZEN, ITEM_SPECS, db_fingerprint, make_db

OPERATOR = "admin"
INST = institution.load_file(institution.demo_path())
DESKS = [p.code for p in INST.places.values() if p.is_desk]
DEPARTMENTS = [p.code for p in INST.places.values() if p.is_department]
RECEIVING = [p.code for p in INST.places.values() if p.is_department and p.receives]
TYPES = list(INST.work_order_types)
PLACES = DESKS + DEPARTMENTS
# The same institution with Alma's default queue policy, work orders before patron requests (Q1).
INST_WO_FIRST = institution.parse(
    institution.demo_path().read_text(encoding="utf-8").replace(
        "work_orders_equal_patron_requests = true", "work_orders_equal_patron_requests = false"), "wofirst")
assert INST.policy.work_orders_equal_patron_requests and not INST_WO_FIRST.policy.work_orders_equal_patron_requests

# A small pool so that actions collide on the same items: Widener, Langdell and remote-storage
# (HD) items, acquisitions of both libraries, and a barcode that does not exist.
POOL = ["W01", "W02", "L01", "R01"]
ACQUISITIONS = ["A01", "A02", "B01"]
BARCODES = st.sampled_from(POOL * 4 + ["A01", "B01", "NOPE"])
PATRONS = st.sampled_from(["P0001", "P0002", "P0003"] * 3 + ["P0017", "P0040", "PSEUDO-TS", "P9999"])
DT = st.sampled_from([0, 1, 7, 60, 3600, 86400, 3 * 86400])
REQUEST_PICK = st.integers(0, 40)
MAYBE_AT = st.sampled_from([None, None, None, *PLACES])
# A status choice: keep/default (None), the n-th status of the place's type, or a bogus one.
STATUS = st.sampled_from([None, None, None, 0, 1, 2, 3, 4, 0, 1, "Bogus"])

# Where each pool item starts, set up through the engine itself (a fresh database has every
# item on the shelf; from these starting points short random runs reach the interesting cases).
SCENES = ["shelf", "loan", "work_order", "hold_shelf", "transit_for_patron", "pick_list", "transit_to_department",
          "transit_home", "missing", "loan_with_requests"]

SERVING_STEPS = (TRANSIT_ITEM, IN_PROCESS, ON_HOLD_SHELF)
SHELF_STEPS = (PICKUP_FROM_SHELF, WAITING_FOR_REMOTE_STORAGE)
INITIAL_PROCESS = {code: process for code, _lib, _loc, process in ITEM_SPECS}


def _resolve_status(place: str | None, choice: int | str | None) -> str | None:
    if choice is None or isinstance(choice, str):
        return choice
    wo_type = INST.places[place].work_order_type if place in INST.places else None
    statuses = INST.work_order_types[wo_type or "TS"].statuses
    return statuses[choice % len(statuses)]


def _department_of(type_code: str, dept: int | str) -> str:
    """``dept`` as drawn: a place code as is, or the n-th department running ``type_code``."""
    if isinstance(dept, str):
        return dept
    of_type = INST.departments_of_type(type_code) if type_code in INST.work_order_types else []
    return of_type[dept % len(of_type)].code if of_type else "ITS625"


class LibdeskMachine(RuleBasedStateMachine):
    inst_file = INST
    """The institution file of the run (the test sets the queue policy)."""

    def __init__(self) -> None:
        super().__init__()
        self._previous_clock = clock.frozen_at()
        self.now = FROZEN
        clock.freeze(self.now)
        self.tmp = tempfile.mkdtemp(prefix="libdesk-sm-")
        self.inst = type(self).inst_file
        self.db = make_db(Path(self.tmp) / "desk.db", self.inst)
        self._cache: dict[str, Any] = {}
        self.event_count = self._count(event_t)
        # The database between steps: only steps write, so one fingerprint a step serves as
        # this step's "after" and the next step's "before".
        self.fingerprint = db_fingerprint(self.db)
        self.new_events: list[dict[str, Any]] = []
        self._checked: dict[str, str] = {}

    def teardown(self) -> None:
        self.db.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
        clock.freeze(self._previous_clock)

    # -- reading the tables (cached until the next step) --------------------------------------
    def _rows(self, stmt: Any) -> list[dict[str, Any]]:
        with self.db.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt)]

    def _count(self, table: Any) -> int:
        with self.db.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(table)).scalar_one()

    def _cached(self, key: str, read: Any) -> Any:
        if key not in self._cache:
            self._cache[key] = read()
        return self._cache[key]

    def _items(self) -> list[dict[str, Any]]:
        return self._cached("items", lambda: self._rows(select(item_t).order_by(item_t.c.id)))

    def _requests(self) -> list[dict[str, Any]]:
        return self._cached("requests", lambda: self._rows(select(request_t).order_by(request_t.c.id)))

    def _queue(self, barcode: str) -> list[dict[str, Any]]:
        """The item's queue as the engine gives it (``requests.list_requests``)."""
        return self._cached(f"queue:{barcode}", lambda: requests.list_requests(self.db, barcode))

    def _item(self, barcode: str) -> dict[str, Any] | None:
        return next((it for it in self._items() if it["barcode"] == barcode), None)

    def _item_by_id(self, item_id: int) -> dict[str, Any]:
        return next(it for it in self._items() if it["id"] == item_id)

    def _request(self, request_id: int) -> dict[str, Any] | None:
        return next((r for r in self._requests() if r["id"] == request_id), None)

    def _events(self, since_id: int = 0) -> list[dict[str, Any]]:
        return self._rows(select(event_t).where(event_t.c.id > since_id).order_by(event_t.c.id))

    def _notices(self) -> list[dict[str, Any]]:
        return self._rows(select(Notice.__table__).order_by(Notice.__table__.c.id))

    def _has_requests(self) -> bool:
        return bool(self._requests())

    def _pick_request(self, n: int) -> int:
        """Mostly an active request; sometimes any request; rarely one that does not exist."""
        everything = [r["id"] for r in self._requests()]
        active = [r["id"] for r in self._requests() if r["active"]]
        if n < 30 and active:
            return active[n % len(active)]
        if n < 40 and everything:
            return everything[n % len(everything)]
        return 10**6

    # -- one step -----------------------------------------------------------------------------
    def _step(self, dt: int, label: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run one engine action a little later than the last. A LibdeskError must leave the
        database unchanged; a success that changes it writes events, all stamped now, by us."""
        self._cache.clear()
        self.now += timedelta(seconds=dt)
        clock.freeze(self.now)
        before = self.fingerprint
        last_event_id = self._rows(select(func.coalesce(func.max(event_t.c.id), 0).label("m")))[0]["m"]
        try:
            result = fn(self.db, *args, **kwargs)
        except LibdeskError as exc:
            note(f"{label} -> {type(exc).__name__}: {exc}")
            assert db_fingerprint(self.db) == before, f"{label} raised {exc!r} but changed the database"
            return None
        self.fingerprint = db_fingerprint(self.db)
        note(f"{label} -> {result.message}")
        new_events = self.new_events = self._events(last_event_id)
        if self.fingerprint != before:
            assert new_events, f"{label} changed the database without writing any event"
        for ev in new_events:
            # The history names when, who and where (W1: every move is an event with the operator).
            assert ev["at"] == self.now, f"{label}: event {ev['action']} stamped {ev['at']}, clock is {self.now}"
            assert ev["operator"] == OPERATOR, f"{label}: event {ev['action']} by {ev['operator']}"
            assert ev["place"] == kwargs.get("at"), f"{label}: event {ev['action']} at {ev['place']}"
        # A request put on the hold shelf notifies its patron.
        notices = [n for n in self._notices() if n["at"] == self.now]
        for ev in new_events:
            if ev["action"] == "request_on_hold_shelf":
                req = self._request(ev["request_id"])
                assert req is not None and any(
                    n["kind"] == "hold_available" and n["patron"] == req["patron"] and n["request_id"] == req["id"]
                    for n in notices), (label, "no hold-available notice", req)
        if result.item is not None:
            # The item a result shows is what `item show` shows after the commit (SPEC 1).
            assert result.item == queries.item_show(self.db, result.item["barcode"]), (
                f"{label}: result.item differs from item show")
        return result

    def _expected_route(self, item: dict[str, Any], at: str, done_with: int | None = None) -> str | None:
        """W5/W6: where a freed item goes from ``at`` (read before the step): the first request
        in the queue (other than ``done_with``, the one just filled) decides: its pickup desk or
        its department; with no request, home: In place (None) at a desk of its home library,
        else In Transit to its remote-storage desk or its library's desk."""
        rest = [r for r in self._queue(item["barcode"]) if r["id"] != done_with]
        if rest:
            return rest[0]["department"] if rest[0]["kind"] == WORK_ORDER_REQUEST else rest[0]["pickup"]
        home = self.inst.home_desk(item["library"], item["location"])
        place = self.inst.places[at]
        return None if place.is_desk and place.library == home.library else home.code

    # -- the starting scene --------------------------------------------------------------------
    @initialize(scenes=st.lists(st.sampled_from(SCENES), min_size=len(POOL), max_size=len(POOL)),
                depts=st.lists(st.sampled_from(DEPARTMENTS), min_size=len(POOL), max_size=len(POOL)))
    def set_the_scene(self, scenes: list[str], depts: list[str]) -> None:
        for barcode, scene, dept in zip(POOL, scenes, depts, strict=True):
            item = self._item(barcode)
            assert item is not None
            home = self.inst.home_desk(item["library"], item["location"]).code
            elsewhere = "LAW-CIRC" if home != "LAW-CIRC" else "WID-CIRC"
            wo_type = self.inst.places[dept].work_order_type
            steps: list[tuple[Any, tuple[Any, ...], dict[str, Any]]] = {
                "shelf": [],
                "loan": [(circulation.loan, (barcode, "P0003"), {"at": home})],
                "work_order": [(scan.scan_in, (barcode,), {"at": dept})],
                "hold_shelf": [(requests.place_request, (barcode, "P0002", home), {}),
                               (scan.scan_in, (barcode,), {"at": home})],
                "transit_for_patron": [(requests.place_request, (barcode, "P0002", elsewhere), {}),
                                       (scan.scan_in, (barcode,), {"at": home})],
                "pick_list": [(requests.place_request, (barcode, "P0001", elsewhere), {})],
                "transit_to_department": [(workorders.place_work_order, (barcode, wo_type, dept), {"in_hand": True})],
                "transit_home": [(scan.scan_in, (barcode,), {"at": elsewhere})],
                "missing": [(circulation.mark_missing, (barcode,), {})],
                "loan_with_requests": [(circulation.loan, (barcode, "P0003"), {"at": home}),
                                       (requests.place_request, (barcode, "P0001", home), {}),
                                       (workorders.place_work_order, (barcode, wo_type, dept), {})],
            }[scene]
            for fn, args, kwargs in steps:
                self._step(1, f"{fn.__name__}{args} {kwargs} [scene {scene}]", fn, *args, operator=OPERATOR, **kwargs)

    # -- rules: Scan In -----------------------------------------------------------------------
    def _scan_department(self, dt: int, barcode: str, at: str, status: str | None, done: bool) -> None:
        before = self._item(barcode)
        expected = None
        if done and before is not None and before["process_type"] in (WORK_ORDER, TRANSIT) and (
                before["department"] == at or before["transit_to"] == at):
            expected = self._expected_route(before, at, done_with=before["current_request_id"])
        result = self._step(dt, f"scan_in({barcode!r}, at={at}, status={status}, done={done})",
                            scan.scan_in, barcode, at=at, operator=OPERATOR, status=status, done=done)
        if result is None:
            return
        after = self._item(barcode)
        place = self.inst.places[at]
        assert before is not None and after is not None
        if done:
            # W4/W5: completed and sent to the first request, or home.
            assert expected is not None, "Done succeeded where the item was not in a work order there"
            assert result.destination == expected, (result.destination, expected)
            return
        # W1/W8/W14: Done=No at a department leaves the item in a work order there.
        assert after["process_type"] == WORK_ORDER, after
        assert (after["department"], after["work_order_type"]) == (at, place.work_order_type), after
        if status is not None:
            assert after["status"] == status, after
        current = self._request(after["current_request_id"])
        assert current is not None, after
        if (before["process_type"], before["department"]) != (WORK_ORDER, at) and current["active"]:
            # W16: arrival at a department (first scan-in there): its request is In Process
            # there, expiring after the department's Days in Department.
            assert (current["step"], current["department"]) == (IN_PROCESS, at), current
            assert current["expiry"] == self.now.date() + timedelta(days=place.days or 0), current
        # W2: a loan is discharged in the same transaction, with its own history event.
        if before["process_type"] == LOAN:
            actions = [e["action"] for e in self._events() if e["item_id"] == after["id"] and e["at"] == self.now]
            assert "loan_returned" in actions, actions

    @rule(dt=DT, barcode=BARCODES, at=st.sampled_from(DEPARTMENTS * 2 + ["NOWHERE"]), status=STATUS,
          done=st.sampled_from([False, False, True]))
    def scan_at_department(self, dt: int, barcode: str, at: str, status: int | str | None, done: bool) -> None:
        self._scan_department(dt, barcode, at, _resolve_status(at, status), done)

    def _places_near(self, barcode: str) -> list[str]:
        """Places an item is likely to be scanned at next: its department and the other
        departments of its type (W8), where it travels to, its hold shelf, its home desk, and
        the pickup desks and departments of its requests."""
        item = self._item(barcode)
        if item is None:
            return ["WID-CIRC"]
        near = [item["department"], item["transit_to"], item["hold_shelf"]]
        if item["work_order_type"]:
            near += [p.code for p in self.inst.departments_of_type(item["work_order_type"])]
        near.append(self.inst.home_desk(item["library"], item["location"]).code)
        near += [r["department"] or r["pickup"] for r in self._queue(barcode)]
        return list(dict.fromkeys(p for p in near if p is not None))

    @rule(dt=DT, barcode=BARCODES, which=st.integers(0, 7), status=STATUS, done=st.booleans())
    def scan_nearby(self, dt: int, barcode: str, which: int, status: int | str | None, done: bool) -> None:
        """Scan the item where it is, goes or could go next (often Done at its department)."""
        near = self._places_near(barcode)
        at = near[which % len(near)]
        if self.inst.places[at].is_department:
            self._scan_department(dt, barcode, at, _resolve_status(at, status), done)
        else:
            self._scan_desk(dt, barcode, at, None, False)

    def _scan_desk(self, dt: int, barcode: str, at: str, status: str | None, done: bool) -> None:
        before = self._item(barcode.strip())
        result = self._step(dt, f"scan_in({barcode!r}, at={at}, status={status}, done={done})",
                            scan.scan_in, barcode, at=at, operator=OPERATOR, status=status, done=done)
        if done or status is not None:
            assert result is None, "a circulation-desk Scan In has no Done and no status"
        if result is None or before is None:
            return
        after = self._item(barcode.strip())
        assert after is not None
        assert after["process_type"] != LOAN, after  # W2/W10: a desk scan discharges a loan
        process, current = before["process_type"], self._request(before["current_request_id"] or 0)
        if process == WORK_ORDER:
            # W7: it stays in its work order; only its department can mark it Done.
            assert {k: after[k] for k in ITEM_STATE} == {k: before[k] for k in ITEM_STATE}, (before, after)
            assert result.destination == before["department"], result
        elif process == TRANSIT and current is not None and current["active"]:
            # Travelling for a request: filled here if it is for this desk, else passing through.
            assert result.destination == before["transit_to"], (result.destination, before)
            if before["transit_to"] != at:
                assert {k: after[k] for k in ITEM_STATE} == {k: before[k] for k in ITEM_STATE}, (before, after)
        elif process == HOLD_SHELF and current is not None and current["active"]:
            # On the hold shelf for a request: it stays there (W6).
            assert result.destination == current["pickup"], (result.destination, current)
            assert {k: after[k] for k in ITEM_STATE} == {k: before[k] for k in ITEM_STATE}, (before, after)
        elif process in (None, LOAN, MISSING, LOST, HOLD_SHELF) or (process == TRANSIT and current is None):
            # W6/W10: returned, found, pulled from the shelf or arrived: sent on by W5.
            expected = self._expected_route(before, at)
            assert result.destination == expected, (result.destination, expected)
            if expected is None:
                assert after["process_type"] is None, after
            elif expected == at:
                assert (after["process_type"], after["hold_shelf"]) == (HOLD_SHELF, at), after

    @rule(dt=DT, barcode=st.sampled_from(POOL * 3 + ["A01", "NOPE", " "]), at=st.sampled_from(DESKS * 2 + ["NOWHERE"]),
          bad_status=st.sampled_from([None] * 6 + ["Cataloging"]), done=st.sampled_from([False] * 6 + [True]))
    def scan_at_desk(self, dt: int, barcode: str, at: str, bad_status: str | None, done: bool) -> None:
        self._scan_desk(dt, barcode, at, bad_status, done)

    # -- rules: loans -------------------------------------------------------------------------
    @rule(dt=DT, barcode=BARCODES, patron=st.one_of(PATRONS, st.just("HOLDER")),
          at=st.sampled_from(DESKS * 3 + ["CCWID"]))
    def loan(self, dt: int, barcode: str, patron: str, at: str) -> None:
        if patron == "HOLDER":  # the patron the item is on the hold shelf (or first in queue) for
            queue = self._queue(barcode) if self._item(barcode) else []
            patron = next((r["patron"] for r in queue if r["kind"] == PATRON), "P0001")
        result = self._step(dt, f"loan({barcode}, {patron}, at={at})",
                            circulation.loan, barcode, patron, at=at, operator=OPERATOR)
        if result is not None:
            after = self._item(barcode)
            assert after is not None and after["process_type"] == LOAN and after["loan_patron"] == patron, after

    def _on_loan(self) -> list[str]:
        return [it["barcode"] for it in self._items() if it["process_type"] == LOAN]

    @precondition(lambda self: bool(self._on_loan()))
    @rule(dt=DT, pick=st.integers(0, 5), barcode=BARCODES, at=st.sampled_from(DESKS * 3 + ["ITS625"]))
    def return_item(self, dt: int, pick: int, barcode: str, at: str) -> None:
        """Return Items (W10), mostly of an item that is on loan."""
        if pick:
            barcode = self._on_loan()[pick % len(self._on_loan())]
        result = self._step(dt, f"return_item({barcode}, at={at})",
                            circulation.return_item, barcode, at=at, operator=OPERATOR)
        if result is not None:
            after = self._item(barcode)
            assert after is not None and after["process_type"] != LOAN and after["loan_patron"] is None, after

    # -- rules: requests ----------------------------------------------------------------------
    @rule(dt=DT, barcode=BARCODES, patron=PATRONS, pickup=st.sampled_from(DESKS * 3 + ["CCWID", "NOWHERE"]),
          at=MAYBE_AT)
    def place_request(self, dt: int, barcode: str, patron: str, pickup: str, at: str | None) -> None:
        before = self._item(barcode)
        notices = len(self._notices())
        result = self._step(dt, f"place_request({barcode}, {patron}, pickup={pickup}, at={at})",
                            requests.place_request, barcode, patron, pickup, operator=OPERATOR, at=at)
        if result is None:
            return
        req = self._request(result.extra["request"]["id"])
        assert req is not None and req["active"] and req["kind"] == PATRON and req["patron"] == patron, req
        assert req["step"] not in SERVING_STEPS, req
        assert before is not None
        # Q3: a patron request on a loaned item recalls it (due no later than today + recall
        # days) with a notice to the borrower; a loan already due by then is not recalled again.
        if before["process_type"] == LOAN:
            recall_due = self.now.date() + timedelta(days=self.inst.policy.recall_days)
            after = self._item(barcode)
            assert after is not None and after["loan_due"] == min(before["loan_due"], recall_due), (before, after)
            recalls = [n for n in self._notices()[notices:]
                       if n["kind"] == "recall" and n["patron"] == before["loan_patron"]]
            assert bool(recalls) == (before["loan_due"] > recall_due), (before, recalls)

    @rule(dt=DT, barcode=BARCODES, type_code=st.sampled_from(TYPES * 3 + ["NOPE"]),
          dept=st.sampled_from([0, 1, 2] * 5 + [*DEPARTMENTS, "WID-CIRC"]), in_hand=st.booleans(), at=MAYBE_AT)
    def place_work_order(self, dt: int, barcode: str, type_code: str, dept: int | str, in_hand: bool,
                         at: str | None) -> None:
        dept_code = _department_of(type_code, dept)
        before = self._item(barcode)
        queue_before = self._queue(barcode) if before is not None else []
        notices = len(self._notices())
        result = self._step(dt, f"place_work_order({barcode}, {type_code}, {dept_code}, in_hand={in_hand}, at={at})",
                            workorders.place_work_order, barcode, type_code, dept_code, operator=OPERATOR,
                            in_hand=in_hand, at=at)
        place = self.inst.places.get(dept_code)
        if place is None or place.work_order_type != type_code:
            assert result is None, "W11: a department of another type must be refused"
        if result is None:
            return
        req = self._request(result.extra["request"]["id"])
        assert req is not None and req["kind"] == WORK_ORDER_REQUEST, req
        assert (req["creator"], req["work_order_type"], req["department"]) == (OPERATOR, type_code, dept_code), req
        after = self._item(barcode)
        assert before is not None and after is not None
        # Q3: a work order never recalls a loan.
        assert not [n for n in self._notices()[notices:] if n["kind"] == "recall"]
        if before["process_type"] == LOAN:
            assert (after["loan_patron"], after["loan_due"]) == (before["loan_patron"], before["loan_due"]), after
        if in_hand and before["process_type"] is None and not queue_before:
            # W11 in hand ("Do not pick from shelf"): In Transit to the department at once, or
            # straight into its work order when placed at the department itself, or for a
            # remote-storage item (seed 000: nothing goes to remote storage; In Process).
            location = self.inst.locations.get(before["location"])
            if at == dept_code or (location is not None and location.remote_storage):
                assert (after["process_type"], after["department"], req["step"]) == (WORK_ORDER, dept_code,
                                                                                     IN_PROCESS), (after, req)
            else:
                assert (after["process_type"], after["transit_to"], req["step"]) == (TRANSIT, dept_code,
                                                                                     TRANSIT_ITEM), (after, req)

    @precondition(lambda self: self._has_requests())
    @rule(dt=DT, pick=REQUEST_PICK, at=MAYBE_AT)
    def activate(self, dt: int, pick: int, at: str | None) -> None:
        request_id = self._pick_request(pick)
        before = self._request(request_id)
        item_before = self._item_by_id(before["item_id"]) if before else None
        result = self._step(dt, f"activate({request_id}, at={at})", requests.activate, request_id,
                            operator=OPERATOR, at=at)
        if result is None:
            return
        assert before is not None and item_before is not None
        # Q2: forced, behind only requests forced before it; the item is untouched (no recall).
        queue = self._queue(result.barcode)
        ids = [r["id"] for r in queue]
        assert all(r["forced"] for r in queue[: ids.index(request_id) + 1]), queue
        assert self._item_by_id(before["item_id"]) == item_before, "activate changed the item (Q2)"

    @precondition(lambda self: self._has_requests())
    @rule(dt=DT, pick=REQUEST_PICK, confirm=st.booleans(), at=MAYBE_AT)
    def cancel(self, dt: int, pick: int, confirm: bool, at: str | None) -> None:
        request_id = self._pick_request(pick)
        before = self._request(request_id)
        item_before = self._item_by_id(before["item_id"]) if before else None
        result = self._step(dt, f"cancel({request_id}, confirm={confirm}, at={at})", requests.cancel, request_id,
                            operator=OPERATOR, at=at, confirm=confirm)
        if before is not None and before["active"] and before["step"] == TRANSIT_ITEM and not confirm:
            assert result is None, "Q5: cancelling a request in Transit Item needs the confirm flag"
        if result is None:
            return
        assert before is not None
        after = self._request(request_id)
        assert after is not None and not after["active"] and after["step"] == CANCELLED, after
        # Q5: the item stays where it is (on the shelf, in transit, in process, on the hold shelf).
        assert self._item_by_id(before["item_id"]) == item_before, "cancel moved the item (Q5)"

    @precondition(lambda self: self._has_requests())
    @rule(dt=DT, pick=REQUEST_PICK, days=st.integers(-10, 120),
          form=st.sampled_from(["date", "date", "text", "text", "bad"]), at=MAYBE_AT)
    def set_expiry(self, dt: int, pick: int, days: int, form: str, at: str | None) -> None:
        request_id = self._pick_request(pick)
        new = (self.now + timedelta(seconds=dt)).date() + timedelta(days=days)
        value: date | str = {"date": new, "text": new.isoformat(), "bad": "2026-13-45"}[form]
        result = self._step(dt, f"set_expiry({request_id}, {value!r}, at={at})", requests.set_expiry, request_id,
                            value, operator=OPERATOR, at=at)
        if form == "bad":
            assert result is None
        if result is not None:
            after = self._request(request_id)
            assert after is not None and after["expiry"] == new, after

    # -- rules: Physical Item Editor, receiving, missing --------------------------------------
    @rule(dt=DT, barcode=BARCODES, type_code=st.sampled_from(TYPES * 3 + ["NOPE"]),
          dept=st.sampled_from([0, 1, 2] * 5 + [*DEPARTMENTS, "LAW-CIRC"]), at=MAYBE_AT)
    def edit_item(self, dt: int, barcode: str, type_code: str, dept: int | str, at: str | None) -> None:
        dept_code = _department_of(type_code, dept)
        result = self._step(dt, f"edit_item({barcode}, {type_code}, {dept_code}, at={at})", workorders.edit_item,
                            barcode, type_code, dept_code, operator=OPERATOR, at=at)
        place = self.inst.places.get(dept_code)
        if place is None or place.work_order_type != type_code:
            assert result is None, "W12: the Physical Item Editor must refuse a department of another type"
        if result is None:
            return
        # W12: at that department, in a work order of that type, no status, no transit; a
        # history event says the editor was used.
        assert "physical_item_editor" in [e["action"] for e in self.new_events], self.new_events
        after = self._item(barcode)
        assert after is not None
        assert (after["process_type"], after["work_order_type"], after["department"], after["status"],
                after["transit_to"]) == (WORK_ORDER, type_code, dept_code, None, None), after

    @precondition(lambda self: any(it["process_type"] == ACQUISITION for it in self._items()
                                   if it["barcode"] in ACQUISITIONS))
    @rule(dt=DT, barcode=st.sampled_from(ACQUISITIONS * 2 + ["W01"]),
          at=st.sampled_from([0, 1] * 3 + RECEIVING + ["CCWID", "WID-CIRC"]), keep=st.booleans(), status=STATUS)
    def receive(self, dt: int, barcode: str, at: int | str, keep: bool, status: int | str | None) -> None:
        before = self._item(barcode)
        if isinstance(at, int):  # the n-th receiving department of the item's own library
            own = [d for d in RECEIVING if before is not None and self.inst.places[d].library == before["library"]]
            at = own[at % len(own)] if own else "ITS625"
        status_s = _resolve_status(at, status) if keep else None
        expected = self._expected_route(before, at) if before is not None and at in self.inst.places else None
        result = self._step(dt, f"receive({barcode}, at={at}, keep={keep}, status={status_s})",
                            receiving.receive, barcode, at=at, operator=OPERATOR, keep_in_department=keep,
                            status=status_s)
        if result is None:
            return
        after = self._item(barcode)
        assert after is not None and after["process_type"] != ACQUISITION, after
        if keep:  # W13: Keep in Department puts it in that department's work order, that status
            place = self.inst.places[at]
            status_s = status_s or self.inst.work_order_types[place.work_order_type or ""].statuses[0]
            assert (after["process_type"], after["department"], after["status"]) == (WORK_ORDER, at, status_s), after
        elif not self.inst.policy.received_items_in_place:
            # W13 without it: to the first request, else In Transit to its owning library.
            assert result.destination == expected, (result.destination, expected)

    @rule(dt=DT, barcode=BARCODES, lost=st.sampled_from([False, False, True]), at=MAYBE_AT)
    def mark_missing(self, dt: int, barcode: str, lost: bool, at: str | None) -> None:
        result = self._step(dt, f"mark_missing({barcode}, lost={lost}, at={at})", circulation.mark_missing,
                            barcode, operator=OPERATOR, at=at, lost=lost)
        if result is not None:
            after = self._item(barcode)
            assert after is not None and after["process_type"] == (LOST if lost else MISSING), after

    # -- invariants ---------------------------------------------------------------------------
    def _unchanged_since_checked(self, invariant_name: str) -> bool:
        """The invariants read only the database: after a step that changed nothing (a refused
        one) there is nothing new to check."""
        if self._checked.get(invariant_name) == self.fingerprint:
            return True
        self._checked[invariant_name] = self.fingerprint
        return False

    @invariant()
    def one_process_per_item(self) -> None:
        """(1) process_type is one value and the item carries that process's fields only."""
        if self._unchanged_since_checked("one_process_per_item"):
            return
        for it in self._items():
            p = it["process_type"]
            assert p is None or p in PROCESS_TYPES, it
            if p == WORK_ORDER:
                assert it["work_order_type"] in self.inst.work_order_types and it["department"] is not None, it
                statuses = self.inst.work_order_types[it["work_order_type"]].statuses
                assert it["status"] is None or it["status"] in statuses, it
                assert it["wo_since"] is not None, it
            else:
                assert (it["work_order_type"], it["department"], it["status"], it["wo_since"]) == (None,) * 4, it
            if p == LOAN:
                assert it["loan_patron"] is not None and it["loan_due"] is not None, it
            else:
                assert it["loan_patron"] is None and it["loan_due"] is None, it
            if p == TRANSIT:
                assert it["transit_to"] in self.inst.places, it
            else:
                assert it["transit_to"] is None, it
            if p == HOLD_SHELF:
                assert it["hold_shelf"] in self.inst.places and self.inst.places[it["hold_shelf"]].is_desk, it
            else:
                assert it["hold_shelf"] is None, it

    @invariant()
    def departments_run_their_type(self) -> None:
        """(2) a work-order item's (and request's) department runs its work-order type."""
        if self._unchanged_since_checked("departments_run_their_type"):
            return
        for it in self._items():
            if it["process_type"] == WORK_ORDER:
                place = self.inst.places.get(it["department"])
                assert place is not None and place.is_department, it
                assert place.work_order_type == it["work_order_type"], it
        for req in self._requests():
            if req["kind"] == WORK_ORDER_REQUEST:
                place = self.inst.places.get(req["department"])
                assert place is not None and place.is_department, req
                assert place.work_order_type == req["work_order_type"], req
                assert req["patron"] is None and req["pickup"] is None, req
            else:
                assert req["kind"] == PATRON, req
                assert req["patron"] is not None and self.inst.places[req["pickup"]].is_desk, req
                assert req["department"] is None and req["work_order_type"] is None, req

    @invariant()
    def queue_order(self) -> None:
        """(3) Q1: the queue is the active requests, forced ones first in the order they were
        forced, then by placement time (or, by the other policy, work orders before patron
        requests, each by placement time)."""
        if self._unchanged_since_checked("queue_order"):
            return
        active: dict[int, list[dict[str, Any]]] = {}
        for req in self._requests():
            if req["active"]:
                active.setdefault(req["item_id"], []).append(req)
        for it in self._items():
            mine = active.get(it["id"], [])
            if not mine:
                continue
            queue = self._queue(it["barcode"])
            equal = self.inst.policy.work_orders_equal_patron_requests
            expected = sorted(mine, key=lambda r: (not r["forced"], r["forced_rank"] if r["forced"] else 0,
                                                   0 if equal or r["kind"] == WORK_ORDER_REQUEST else 1,
                                                   r["placed_at"], r["id"]))
            assert [r["id"] for r in queue] == [r["id"] for r in expected], (it["barcode"], queue)
            flags = [r["forced"] for r in queue]
            assert flags == sorted(flags, reverse=True), (it["barcode"], "forced not first", queue)
            ranks = [r["forced_rank"] for r in expected if r["forced"]]
            assert None not in ranks and ranks == sorted(set(ranks)), (it["barcode"], "forced ranks", ranks)

    @invariant()
    def active_matches_step(self) -> None:
        """(4) active == step not in (completed, cancelled); closed requests have closed_at."""
        if self._unchanged_since_checked("active_matches_step"):
            return
        for req in self._requests():
            assert req["step"] in ACTIVE_STEPS + (COMPLETED, CANCELLED), req
            assert bool(req["active"]) == (req["step"] not in (COMPLETED, CANCELLED)), req
            assert (req["closed_at"] is None) == bool(req["active"]), req

    @invariant()
    def every_change_has_its_event(self) -> None:
        """(5) history only grows; each Ctx.update_item wrote one event (with the fields it
        set, "after") and bumped the version by one, so an item has version - 1 such events and
        replaying their "after" from the imported state gives the row; likewise each request's
        request_* events, from request_placed on, replay to its step, flags and destination."""
        if self._unchanged_since_checked("every_change_has_its_event"):
            return
        count = self._count(event_t)
        assert count >= self.event_count, "events were deleted"
        self.event_count = count
        by_item: dict[int, list[dict[str, Any]]] = {}
        by_request: dict[int, list[dict[str, Any]]] = {}
        for ev in self._events():
            if ev["request_id"] is not None:
                assert ev["action"].startswith("request_"), ev
                by_request.setdefault(ev["request_id"], []).append(ev)
            elif ev["item_id"] is not None and ev["after"] is not None:
                # Item events without "after" are notes that change nothing (seen_in_transit).
                assert not ev["action"].startswith("request_"), ev
                by_item.setdefault(ev["item_id"], []).append(ev)
        for it in self._items():
            mine = by_item.get(it["id"], [])
            assert it["version"] - 1 == len(mine), (it["barcode"], it["version"], [e["action"] for e in mine])
            state: dict[str, Any] = dict.fromkeys(ITEM_STATE)
            state["process_type"] = INITIAL_PROCESS[it["barcode"]]
            for ev in mine:
                assert ev["barcode"] == it["barcode"], ev
                before = json.loads(ev["before"] or "{}")
                assert before == {k: state[k] for k in before}, (it["barcode"], "event's before is not the state", ev)
                state.update(json.loads(ev["after"]))
            row = {k: _jsonable(it[k]) for k in ITEM_STATE}
            assert state == row, (it["barcode"], "the item's history does not replay to it", state, row)
        replayed = ("step", "active", "forced", "forced_rank", "department", "work_order_type", "pickup")
        for req in self._requests():
            mine = by_request.get(req["id"], [])
            assert mine and mine[0]["action"] == "request_placed", (req["id"], [e["action"] for e in mine])
            state = {"active": True, "forced": False, "forced_rank": None, "closed_at": None}
            for ev in mine:
                assert ev["item_id"] == req["item_id"], ev
                before = json.loads(ev["before"] or "{}")
                known = {k: v for k, v in before.items() if k in state and k != "expiry"}
                assert known == {k: state[k] for k in known}, (req["id"], "event's before is not the state", ev)
                state.update(json.loads(ev["after"] or "{}"))
            row = {k: _jsonable(req[k]) for k in replayed}
            assert {k: state.get(k) for k in replayed} == row, (req["id"], "request history", state, row)

    @invariant()
    def one_serving_request(self) -> None:
        """(6) at most one active request per item is being served (Transit Item, In Process,
        On Hold Shelf); it is the item's current_request_id, and the item is where it says."""
        if self._unchanged_since_checked("one_serving_request"):
            return
        by_id = {r["id"]: r for r in self._requests()}
        for it in self._items():
            serving = [r for r in by_id.values()
                       if r["item_id"] == it["id"] and r["active"] and r["step"] in SERVING_STEPS]
            assert len(serving) <= 1, (it["barcode"], "serves several requests", serving)
            current = by_id.get(it["current_request_id"]) if it["current_request_id"] is not None else None
            if it["current_request_id"] is not None:
                assert current is not None and current["item_id"] == it["id"], it
            if current is not None and current["active"]:
                assert serving == [current], (it["barcode"], "current request is active but not served", current)
            if not serving:
                continue
            req = serving[0]
            assert it["current_request_id"] == req["id"], (it["barcode"], "a served request is not current", req, it)
            if req["step"] == TRANSIT_ITEM:
                destination = req["department"] if req["kind"] == WORK_ORDER_REQUEST else req["pickup"]
                assert (it["process_type"], it["transit_to"]) == (TRANSIT, destination), (it, req)
            elif req["step"] == IN_PROCESS:
                assert req["kind"] == WORK_ORDER_REQUEST and it["process_type"] == WORK_ORDER, (it, req)
                assert (it["department"], it["work_order_type"]) == (req["department"], req["work_order_type"]), (
                    it, req)
            else:
                assert req["kind"] == PATRON, req
                assert (it["process_type"], it["hold_shelf"]) == (HOLD_SHELF, req["pickup"]), (it, req)

    @invariant()
    def pick_list_is_right(self) -> None:
        """(7) L5/W11: a request waits to be pulled (Pickup From Shelf / Waiting for Remote
        Storage) only while its item is on the shelf and it is first in the queue; an item on
        the shelf with requests has its first one on the pick list."""
        if self._unchanged_since_checked("pick_list_is_right"):
            return
        with_requests = {r["item_id"] for r in self._requests() if r["active"]}
        for it in self._items():
            if it["id"] not in with_requests:
                continue
            queue = self._queue(it["barcode"])
            loc = self.inst.locations.get(it["location"])
            shelf_step = WAITING_FOR_REMOTE_STORAGE if loc is not None and loc.remote_storage else PICKUP_FROM_SHELF
            for position, req in enumerate(queue):
                if req["step"] in SHELF_STEPS:
                    assert it["process_type"] is None, (it["barcode"], "on the pick list but not on the shelf", req, it)
                    assert position == 0 and req["step"] == shelf_step, (it["barcode"], queue)
            if it["process_type"] is None:
                assert queue[0]["step"] == shelf_step, (it["barcode"], "on the shelf, first request not to pull", queue)
        # The pick lists (L5) show exactly these requests: a library pulls its own shelves, and a
        # remote-storage library its locations' items.
        to_pull = {r["id"]: r for r in self._requests() if r["active"] and r["step"] in SHELF_STEPS}
        listed: dict[str, set[int]] = {}
        for library in self.inst.libraries:
            lists = circulation.picklist(self.db, library)
            listed[library] = {e["id"] for e in lists["pick_from_shelf"] + lists["waiting_for_remote_storage"]}
            for entry in lists["pick_from_shelf"] + lists["waiting_for_remote_storage"]:
                assert entry["id"] in to_pull, (library, "pick list shows a request not to be pulled", entry)
        for req in to_pull.values():
            it = self._item_by_id(req["item_id"])
            loc = self.inst.locations[it["location"]]
            puller = loc.library if loc.remote_storage else it["library"]
            assert req["id"] in listed[puller], (puller, "request to be pulled is not on the pick list", req)


@pytest.mark.parametrize(("path", "policy"), [
    ("fastpath", "equal"), ("sqlalchemy", "equal"), ("fastpath", "work_orders_first")])
def test_random_desk_sessions_keep_the_invariants(path: str, policy: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both statement paths (SQLite's direct one and SQLAlchemy's alone, as conftest's ``db``)
    and both queue policies (Q1)."""
    monkeypatch.setattr(fastpath, "ENABLED", path == "fastpath")
    monkeypatch.setattr(LibdeskMachine, "inst_file", INST if policy == "equal" else INST_WO_FIRST)
    run_state_machine_as_test(
        LibdeskMachine,
        settings=settings(max_examples=30, stateful_step_count=25, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]),
    )
