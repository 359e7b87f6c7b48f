"""Demo items for ``libdesk init --demo``: a few hundred items in every state.

The states are reached by running the real engine actions (loans, requests, scans, Done,
receiving) with the clock set back where an item must be old (past its expiry), so the
demo's history is the history those actions write. Deterministic for a given seed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from libdesk import borrowing as rs
from libdesk import circulation, clock, requests, scan, workorders
from libdesk.core import action
from libdesk.db import Database
from libdesk.importing import insert_items
from libdesk.models import ACQUISITION, LOAN
from libdesk.routing import NO_PROCESS

_ADJ = ["Collected", "Selected", "Early", "Late", "Complete", "Illustrated", "Annotated", "Lost", "Forgotten",
        "Modern", "Ancient", "Hidden", "Northern", "Southern", "Urban", "Rural", "Silent", "Public"]
_NOUN = ["Letters", "Essays", "Poems", "Histories", "Maps", "Sermons", "Papers", "Voyages", "Gardens", "Cities",
         "Rivers", "Laws", "Courts", "Contracts", "Treaties", "Archives", "Manuscripts", "Songs", "Journals"]
_TOPIC = ["New England", "the Ottoman Empire", "Judaica", "Maritime Trade", "Constitutional Law", "Botany",
          "the Printing Press", "Harvard College", "Medieval Latin", "Early Photography", "Torts", "Tax Policy",
          "Bookbinding", "Astronomy", "Yiddish Theatre", "the Common Law"]
_AUTHORS = ["Adams, Abigail", "Bradstreet, Anne", "Cohen, Hermann", "Dickinson, Emily", "Eliot, Charles W.",
            "Fuller, Margaret", "Holmes, Oliver Wendell", "James, William", "Kagan, Elena", "Longfellow, H. W.",
            "Melville, Herman", "Noether, Emmy", "Peabody, Elizabeth", "Story, Joseph", "Thoreau, Henry D.",
            "Wheatley, Phillis"]
_CLASSES = ["PS", "PR", "BM", "KF", "QK", "Z", "DR", "E", "F", "HJ", "LD", "QB", "PN", "K"]

DEMO_OPERATOR = "admin"


def barcode(n: int) -> str:
    """Demo barcodes look like Harvard's 14-digit library barcodes."""
    return f"3204400{n:07d}"


def make_records(count: int, rng: random.Random, now: datetime) -> list[dict[str, Any]]:
    out = []
    for n in range(1, count + 1):
        roll = rng.random()
        if roll < 0.55:
            library, location = "WID", "WID-STACKS"
        elif roll < 0.62:
            library, location = "WID", "WID-REF"
        elif roll < 0.84:
            library, location = "LAW", "LAW-STACKS"
        else:
            library, location = rng.choice(["WID", "LAW"]), "HD"
        cls = rng.choice(_CLASSES if library == "WID" else ["KF", "K", "KD", "KZ"])
        out.append({
            "barcode": barcode(n),
            "title": f"{rng.choice(_ADJ)} {rng.choice(_NOUN)} of {rng.choice(_TOPIC)}",
            "author": rng.choice(_AUTHORS),
            "call_number": f"{cls}{rng.randint(1, 9999)} .{rng.choice('ABCDEFGHKLMNPRSTW')}{rng.randint(1, 99)} {rng.randint(1850, 2024)}",
            "material_type": rng.choice(["BOOK"] * 8 + ["ISSUE", "MAP", "SCORE"]),
            "library": library,
            "location": location,
            "process_type": None,
            "version": 1,
            "created_at": now,
            "updated_at": now,
        })
    return out


class _Pool:
    """Hands out demo barcodes of a kind (by library/location), each once."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = list(records)

    def take(self, want: Callable[[dict[str, Any]], bool]) -> str:
        for i, rec in enumerate(self.records):
            if want(rec):
                return self.records.pop(i)["barcode"]
        raise LookupError("demo pool exhausted")


def _wid(rec: dict[str, Any]) -> bool:
    return rec["library"] == "WID" and rec["location"] != "HD"


def _law(rec: dict[str, Any]) -> bool:
    return rec["library"] == "LAW" and rec["location"] != "HD"


def _remote(rec: dict[str, Any]) -> bool:
    return rec["location"] == "HD"


def load_demo(db: Database, count: int = 320, seed: int = 20190201) -> dict[str, int]:
    """Load ``count`` demo items and put many of them through the desk's workflows."""
    rng = random.Random(seed)
    real_now = clock.now()
    was_frozen = clock.frozen_at()
    records = make_records(count, rng, real_now - timedelta(days=400))
    acquisitions = [r for r in records if r["location"] != "HD"][-24:]
    for rec in acquisitions:
        rec["process_type"] = ACQUISITION
    insert_items(db, records, operator=DEMO_OPERATOR, source="demo")
    pool = _Pool([r for r in records if r["process_type"] is None])
    patrons = [f"P{n:04d}" for n in range(1, 41)]
    op = DEMO_OPERATOR

    def at(days_ago: int) -> None:
        clock.freeze(real_now - timedelta(days=days_ago, hours=rng.randint(0, 6)))

    try:
        # Work orders scanned in at every department, in several statuses; the older ones
        # are past their Days in Department.
        for dept in db.institution.places.values():
            if not dept.is_department:
                continue
            statuses = db.institution.work_order_types[dept.work_order_type or ""].statuses
            want = _law if dept.library == "LAW" else _wid
            for k in range(6):
                at(rng.choice([1, 3, 5, 20, 45, 90]))
                code = pool.take(want)
                scan.scan_in(db, code, at=dept.code, operator=op, status=statuses[k % len(statuses)])
                if k == 5:  # moved along the line later
                    at(0)
                    scan.scan_in(db, code, at=dept.code, operator=op, status=statuses[-1])

        # Loans to patrons, some recalled by a patron request, some with work orders waiting.
        loaned = []
        for k in range(36):
            at(rng.randint(2, 40))
            code = pool.take(_wid if k % 3 else _law)
            circulation.loan(db, code, patrons[k % len(patrons)], at="WID-CIRC" if k % 3 else "LAW-CIRC", operator=op)
            loaned.append(code)
        for k, code in enumerate(loaned[:10]):
            at(1)
            requests.place_request(db, code, patrons[(k + 7) % len(patrons)], "WID-CIRC" if k % 2 else "LAW-CIRC",
                                   operator=op)
        for code in loaned[10:16]:
            at(1)
            workorders.place_work_order(db, code, "PRES", "CCWID", operator=op, note="Spine loose on return")

        # Loans to the migrated pseudopatron (no new ones can be made: these came from Aleph).
        for _ in range(6):
            code = pool.take(_wid)
            at(500)
            with action(db, op) as ctx:
                item = ctx.item(code)
                ctx.update_item(item, "migrated_loan", **{**NO_PROCESS, "process_type": LOAN,
                                                          "loan_patron": "PSEUDO-TS", "loan_due": None},
                                message="loan migrated from Aleph")

        # Queues of mixed patron and work-order requests, one forced.
        for k in range(8):
            at(10)
            code = pool.take(_wid)
            circulation.loan(db, code, patrons[(k + 20) % len(patrons)], at="WID-CIRC", operator=op)
            at(6)
            requests.place_request(db, code, patrons[(k + 3) % len(patrons)], "WID-CIRC", operator=op)
            at(5)
            wo = workorders.place_work_order(db, code, "IMG", "IMG", operator=op, note="Digitize for course reserve")
            at(4)
            requests.place_request(db, code, patrons[(k + 11) % len(patrons)], "LAW-CIRC", operator=op)
            if k % 2 == 0:
                at(3)
                requests.activate(db, wo.extra["request"]["id"], operator=op)

        # Not in hand: on the pick lists (Pickup From Shelf / Waiting for Remote Storage).
        for k in range(10):
            at(2)
            code = pool.take(_wid if k % 2 else _law)
            workorders.place_work_order(db, code, "TS", "ITS625" if k % 2 else "ITSLAW", operator=op,
                                        note="Cataloging cleanup: check edition")
        for k in range(8):
            at(2)
            code = pool.take(_remote)
            if k % 2:
                requests.place_request(db, code, patrons[k], "WID-CIRC", operator=op)
            else:
                workorders.place_work_order(db, code, "SCP", "SCP", operator=op, note="Single-copy scan")
        for k in range(10):
            at(1)
            code = pool.take(_wid if k % 2 else _law)
            requests.place_request(db, code, patrons[(k + 5) % len(patrons)], "WID-CIRC" if k % 3 else "LAW-CIRC",
                                   operator=op)

        # In hand: In Transit to the department at once.
        for _ in range(6):
            at(1)
            code = pool.take(_wid)
            workorders.place_work_order(db, code, "WPC", "WPC", operator=op, in_hand=True, note="Mould: isolate")

        # Hold shelf: a request filled from the shelf.
        for k in range(8):
            at(3)
            code = pool.take(_wid if k % 2 else _law)
            desk = "WID-CIRC" if k % 2 else "LAW-CIRC"
            requests.place_request(db, code, patrons[(k + 13) % len(patrons)], desk, operator=op)
            scan.scan_in(db, code, at=desk, operator=op)

        # In transit: to another library's pickup desk, and home after a return elsewhere.
        for k in range(6):
            at(1)
            code = pool.take(_wid)
            requests.place_request(db, code, patrons[(k + 17) % len(patrons)], "LAW-CIRC", operator=op)
            scan.scan_in(db, code, at="WID-CIRC", operator=op)
        for k in range(6):
            at(12)
            code = pool.take(_wid)
            circulation.loan(db, code, patrons[(k + 25) % len(patrons)], at="WID-CIRC", operator=op)
            at(0)
            circulation.return_item(db, code, at="LAW-CIRC", operator=op)

        # Done: work orders finished, on their way home or to a waiting request.
        for k in range(6):
            at(30)
            code = pool.take(_wid)
            scan.scan_in(db, code, at="CCWID", operator=op, status="Repair")
            if k % 2:
                at(2)
                requests.place_request(db, code, patrons[(k + 30) % len(patrons)], "LAW-CIRC", operator=op)
            at(0)
            scan.scan_in(db, code, at="CCWID", operator=op, done=True)

        # Missing and lost.
        for k in range(5):
            at(15)
            circulation.mark_missing(db, pool.take(_wid), operator=op, lost=k >= 3)

        # -- resource-sharing borrowing requests (SPEC section B) ------------------------------
        load_borrowing_demo(db, at, patrons)
        # ---------------------------------------------------------------------------------------
    finally:
        clock.freeze(was_frozen)
    return {"items": count, "acquisitions": len(acquisitions)}


# -- resource-sharing borrowing requests (SPEC section B) ---------------------------------------------

_RS_TITLES = [
    ("The Whaling Logs of Nantucket", "Starbuck, Mary"), ("Letters from the Levant", "Montagu, Mary Wortley"),
    ("A Grammar of Old Irish", "Thurneysen, Rudolf"), ("Printing in Early Cambridge", "Day, Stephen"),
    ("Tide Tables of the Gulf of Maine", "Bowditch, Nathaniel"), ("Maps of the Erie Canal", "Clinton, DeWitt"),
    ("Sermons on the Great Awakening", "Edwards, Jonathan"), ("The Law of Salvage", "Story, Joseph"),
    ("Yiddish Song Sheets, 1910-1930", "Rumshinsky, Joseph"), ("Botany of the White Mountains", "Gray, Asa"),
]


def load_borrowing_demo(db: Database, at: Callable[[int], None], patrons: list[str]) -> int:
    """Borrowing requests in every status (B1), made by the engine's own calls with the clock
    set back (``at(days_ago)``), so their histories are real; plus general messages, a note,
    and completed requests stuck in Transit, Loan and Resource Sharing Request (B8).
    Returns the number of requests."""
    op = DEMO_OPERATOR
    made: list[int] = []

    def new(days_ago: int, **kw: Any) -> int:
        at(days_ago)
        title, author = _RS_TITLES[len(made) % len(_RS_TITLES)]
        who = patrons[(len(made) * 3 + 1) % len(patrons)]
        result = rs.new_request(db, who, title, author=author, pickup=kw.pop("pickup", "WID-CIRC"), operator=op,
                                identifier=f"ocm{4410000 + len(made)}", **kw)
        made.append(result.extra["borrowing"]["id"])
        return made[-1]

    def shipped(days_ago: int, rejected_first: bool = False, **kw: Any) -> int:
        """Sent days_ago, shipped a day later (by the second partner when rejected_first)."""
        i = new(days_ago, **kw)
        if rejected_first:
            at(days_ago - 1)
            rs.partner_reject(db, i, operator=op, reason="not on shelf")
        at(days_ago - 2)
        rs.partner_ship(db, i, operator=op)
        return i

    def received(days_ago: int, **kw: Any) -> int:
        i = shipped(days_ago, **kw)
        at(days_ago - 4)
        rs.receive(db, i, at="WID-CIRC", operator=op)
        return i

    def loaned(days_ago: int, **kw: Any) -> int:
        i = received(days_ago, **kw)
        at(days_ago - 5)
        rs.loan(db, i, operator=op)
        return i

    new(9, locate_now=False)                                    # Locate in Process (the locate hung)
    i = new(8, locate_now=False)                                # Locate Failed: cancelled before the locate
    rs.cancel(db, i, by="patron", operator=op)
    new(6, partners=[])                                         # Cancelled by Staff: no partner holds it
    # Ready to be Sent: Brown takes requests by hand (sends_automatically = false); the others
    # were sent to their first partner by the locate itself (seed 004).
    new(2, partners=["BROWN", "COLUMBIA"], note="Patron needs it for a dissertation defence")
    new(1, partners=["BROWN", "YALE"])
    i = new(10)                                                 # Request Sent to Partner, with a message
    at(3)
    rs.partner_message(db, i, "We only hold the e-book edition: would that do? Otherwise ask us to reject.",
                       operator=op)
    i = new(4)                                                  # Request Sent to Partner (second partner)
    at(2)
    rs.partner_expire(db, i, operator=op)
    i = new(12)                                                 # Waiting for Cancel Response
    at(2)
    rs.cancel(db, i, by="staff", operator=op)
    i = new(20)                                                 # Cancelled by Patron (partner confirmed)
    at(18)
    rs.cancel(db, i, by="patron", operator=op)
    at(17)
    rs.partner_reject(db, i, operator=op)
    # The next two pass on to Brown, last in the rota, who takes requests by hand: each waits in
    # Ready to be Sent until staff e-mail it to Brown and record Send, that same day.
    i = new(15)                                                 # Rejected by Partner: the rota exhausted
    for days in (13, 11, 9):
        at(days)
        if rs.show(db, i)["status"] == rs.READY_TO_BE_SENT:
            rs.send(db, i, operator=op)
        rs.partner_reject(db, i, operator=op, reason="non-circulating")
    i = new(16)                                                 # Expired: the last partner never answered
    for days, step in ((14, rs.partner_reject), (12, rs.partner_reject), (5, rs.partner_expire)):
        at(days)
        if rs.show(db, i)["status"] == rs.READY_TO_BE_SENT:
            rs.send(db, i, operator=op)
        step(db, i, operator=op)
    shipped(7, rejected_first=True)                             # Shipped Physically (by the second partner)
    i = shipped(9)                                              # Shipped Physically, with a message
    at(6)
    rs.partner_message(db, i, "Shipped in two volumes; please return both together.", operator=op)
    received(14)                                                # Physically Received (on the hold shelf)
    loaned(20)                                                  # Loaned Item to Patron
    i = loaned(30)                                              # Returned Item to Patron (at Langdell)
    at(2)
    rs.return_item(db, i, at="LAW-CIRC", operator=op)
    i = loaned(35)                                              # Returned Item to Partner
    at(3)
    rs.return_item(db, i, at="WID-CIRC", operator=op)
    i = loaned(60)                                              # Request Completed, returned properly
    at(30)
    rs.return_item(db, i, at="WID-CIRC", operator=op)
    at(25)
    rs.partner_checkin(db, i, operator=op)
    i = loaned(70)                                              # Completed, stuck in Transit (B8)
    at(40)
    rs.return_item(db, i, at="LAW-CIRC", operator=op)
    at(33)
    rs.partner_checkin(db, i, operator=op)
    i = loaned(65)                                              # Completed, stuck on Loan (B8)
    at(28)
    rs.partner_checkin(db, i, operator=op)
    i = shipped(50)                                             # Completed, never received (B8)
    at(38)
    rs.partner_checkin(db, i, operator=op)
    i = shipped(11)                                             # Cancelled by Patron after shipping:
    at(8)                                                       # the item arrived and went back (B5)
    rs.cancel(db, i, by="patron", operator=op)
    at(6)
    rs.receive(db, i, at="WID-CIRC", operator=op)
    return len(made)
