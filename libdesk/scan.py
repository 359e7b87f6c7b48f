"""Scan In Items: the single entry point for a scanned barcode at a place.

The wedge scanner, the serial scanner, the app's scan field, ``libdesk scan`` and
``libdesk listen`` all end here. One scan is one transaction of a handful of indexed
statements: the item by barcode, its queue, one update, one event.

At a circulation desk see :func:`libdesk.circulation.at_desk`. At a department (type T):
- Done=No: a loan is discharged first (W2); an item already in a work order here moves to
  the chosen status (W1), one in a work order of the same type elsewhere is transferred here
  (W8), one of another type is refused (it must be Done there first); any other item starts
  a work order here, filling a work-order request for this department if one waits (the
  arrival of W11; W14 after an accidental Done).
- Done=Yes: the item must be in a work order here (or on its way here); it is completed and
  sent on by the destination rule (W4, W5). Done elsewhere is refused.
"""

from __future__ import annotations

from typing import Any

from libdesk.barcodes import MAX_BARCODE_LENGTH, clean_barcode  # noqa: F401 - used from here too
from libdesk.circulation import at_desk
from libdesk.core import Ctx, Result, action, count_of
from libdesk.db import Database
from libdesk.errors import InvalidInput, NotFound, WrongState
from libdesk.institution import Place
from libdesk.models import (
    ACQUISITION,
    HOLD_SHELF,
    PATRON,
    RESOURCE_SHARING,
    TRANSIT,
    WORK_ORDER,
    WORK_ORDER_REQUEST,
)
from libdesk.routing import Routed, discharge, release_current, start_work_order, status_for
from libdesk.workorders import change_status, mark_done, transfer

MAX_BARCODE_FILE = 10 * 1024 * 1024
"""A barcode list larger than this is not a list someone scanned (100,000 barcodes is ~1.5 MB)."""


def read_barcode_file(path: str) -> list[str]:
    """Barcodes from a file someone scanned into, or exported: one barcode a line, or a CSV
    whose header has a ``barcode`` column. Blank lines are skipped; a barcode given twice
    counts once (the first time).

    Raises:
        InvalidInput: unreadable, not a regular file, too large, not UTF-8, no barcodes, or a
            CSV without a barcode column; a line that cannot be a barcode (named by number).
    """
    import csv
    import io

    from libdesk.importing import read_text_file  # loaded only for a barcode list

    text = read_text_file(path, what="the barcode list", max_bytes=MAX_BARCODE_FILE)
    lines = text.splitlines()
    first = lines[0] if lines else ""
    rows: list[tuple[int, str]]
    if "," in first or first.strip().lower() == "barcode":
        reader = csv.reader(io.StringIO(text))
        header = [h.strip().lower() for h in next(reader, [])]
        if "barcode" not in header:
            raise InvalidInput(f"{path}: a CSV barcode list needs a 'barcode' column (found: {', '.join(header)})")
        column = header.index("barcode")
        rows = [(n, row[column] if column < len(row) else "") for n, row in enumerate(reader, start=2)]
    else:
        rows = list(enumerate(lines, start=1))
    out: dict[str, None] = {}
    for number, value in rows:
        if not value.strip():
            continue
        try:
            out.setdefault(clean_barcode(value), None)
        except InvalidInput as exc:
            raise InvalidInput(f"{path}, line {number}: {exc.message}") from None
    if not out:
        raise InvalidInput(f"{path}: no barcodes in the file")
    return list(out)


def scan_in(db: Database, barcode: str, *, at: str, operator: str, status: str | None = None,
            done: bool = False) -> Result:
    """Scan In one item at a desk or department.

    Args:
        barcode: the scanned barcode.
        at: the place code (Currently At).
        operator: who scans; must be permitted at ``at`` (W3).
        status: Set Status To (departments only; default: keep, or the type's first status).
        done: Done=Yes (departments only).

    Returns:
        A Result whose message names where the item goes next and whose ``destination`` is
        a place code (or None for reshelve).

    Raises:
        NotFound: unknown barcode or place. NotPermitted: W3.
        InvalidInput: a status not of the department's type; Done or a status at a desk.
        WrongState: Done where the item is not in a work order here; another type's work
        order; an item still to be received.
    """
    barcode = clean_barcode(barcode)
    with action(db, operator, at, need_place=True) as ctx:
        place = ctx.place
        assert place is not None
        if place.is_desk:
            if done:
                raise InvalidInput(f"{place.name} is a circulation desk: Scan In there has no Done")
            if status is not None:
                raise InvalidInput(f"{place.name} is a circulation desk: it sets no work-order status")
            try:
                item = ctx.item(barcode)
            except NotFound:
                from libdesk import borrowing  # imports this module: loaded on first use

                arrived = borrowing.arrived_by_barcode(ctx, barcode, place)
                if arrived is None:
                    raise
                item, routed = arrived
            else:
                routed = at_desk(ctx, item, place)
        else:
            if status is not None:
                status_for(ctx, place, status)  # refuse a wrong status before anything else
            item = ctx.item(barcode)
            routed = at_department(ctx, item, place, status, done)
        return Result(routed.message, barcode=item["barcode"], destination=routed.destination,
                      next_step=routed.next_step, item=ctx.view(item))


def at_department(ctx: Ctx, item: dict[str, Any], dept: Place, status: str | None, done: bool) -> Routed:
    process = item["process_type"]
    if process == ACQUISITION:
        raise WrongState(f"Item {item['barcode']} has not been received yet: use Receiving at {dept.code}")
    # A borrowed temporary item is refused whatever its process: on loan or in transit it
    # would otherwise be discharged into a work order (resource sharing, B4).
    if process == RESOURCE_SHARING or item["borrowing_id"] is not None:
        raise WrongState(f"Item {item['barcode']} is a borrowed resource-sharing item: it cannot enter a work order")
    if done:
        return _done_here(ctx, item, dept)
    who = discharge(ctx, item, f"discharged by Scan In at {dept.code}")
    routed = _scan_here(ctx, item, dept, status)
    if who is not None:
        routed.message = f"Loan to {who} discharged — {routed.message}"
    return routed


def _done_here(ctx: Ctx, item: dict[str, Any], dept: Place) -> Routed:
    if item["process_type"] == WORK_ORDER:
        if item["department"] != dept.code:
            owner = ctx.inst.place(item["department"])
            raise WrongState(f"Item {item['barcode']} is in a work order at {owner.name} ({owner.code}): "
                             f"only {owner.code} can mark it Done")
        return mark_done(ctx, item, dept)
    if item["process_type"] == TRANSIT and item["transit_to"] == dept.code:
        # Arrived and finished in one go (also the Q5 case: its request was cancelled in transit).
        req = ctx.request(item["current_request_id"]) if item["current_request_id"] else None
        start_work_order(ctx, item, dept, None, req if req and req["active"] else None, action="arrived")
        return mark_done(ctx, item, dept)
    raise WrongState(f"Item {item['barcode']} is not in a work order at {dept.code}: nothing to mark Done")


def _scan_here(ctx: Ctx, item: dict[str, Any], dept: Place, status: str | None) -> Routed:
    if item["process_type"] == WORK_ORDER:
        if item["department"] == dept.code:
            return change_status(ctx, item, dept, status)
        if item["work_order_type"] == dept.work_order_type:
            return transfer(ctx, item, dept, status)
        owner = ctx.inst.place(item["department"])
        wo = ctx.inst.work_order_types[item["work_order_type"]]
        raise WrongState(
            f"Item {item['barcode']} is in a {wo.name} work order at {owner.name}: it must be marked Done there "
            f"first (or place a work-order request for {dept.code} so it comes here next)")
    # Arriving for a work-order request: of this department, or of another department of the
    # same type (the item came to the wrong one: the request moves here, as a W8 transfer
    # would, instead of the item bouncing on after Done).
    req = None
    note = ""
    if item["current_request_id"] is not None:
        current = ctx.request(item["current_request_id"])
        if (current["active"] and current["kind"] == WORK_ORDER_REQUEST
                and current["work_order_type"] == dept.work_order_type):
            req = current
            sent_to = current["department"]  # read before the update changes the request
            if sent_to != dept.code:
                ctx.update_request(req, "request_transferred", item=item, department=dept.code,
                                   message=f"arrived at {dept.code} instead of {sent_to}")
                note = f" (arrived here instead of {ctx.place_name(sent_to)}: request moved here)"
    if req is None:
        req = next((r for r in ctx.queue(item["id"])
                    if r["kind"] == WORK_ORDER_REQUEST and r["department"] == dept.code), None)
        released = release_current(ctx, item)
        if released is not None and released["kind"] == PATRON:
            where = "hold" if item["process_type"] == HOLD_SHELF else "request"
            note = f" (patron {released['patron']}'s {where} withdrawn: the request waits until Done)"
    routed = start_work_order(ctx, item, dept, status, req,
                              action="arrived" if req is not None else "work_order_started")
    routed.message += note
    waiting = [r for r in ctx.queue(item["id"]) if r["id"] != item["current_request_id"]]
    if waiting:
        routed.message += (f" ({count_of(len(waiting), 'more request')} "
                           f"{'waits; it follows' if len(waiting) == 1 else 'wait; they follow'} when Done)")
    return routed

