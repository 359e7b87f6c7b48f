"""Fixtures for the list screens' tests (Physical Items, item detail, In Process, Monitor, Pick
From Shelf): a seeded desk day and the app made by ``screens.app.make_app``.

The seeded day (frozen clock; the days are before ``FROZEN``):

- Collections Care (Widener), ``CCWID``: W01 (Assessment) and W02 (Pocket) arrived 40 days ago,
  so their expiry (30 days) is past: overdue; W03, W04 (Repair), W05 (Rehousing) and L01
  (a Langdell item, Pocket) arrived 5 days ago. W02 has a patron request waiting (P0001).
- Work orders not in hand: W09 (Technical Services, ITS625, on Widener's pick list), R01
  (Preservation, CCWID, Waiting for Remote Storage at the Depository); W11 in hand at the
  Widener desk, in transit to CCWID (Transit Item).
- Patron requests: W10 for P0002, pickup LAW-CIRC (on Widener's pick list); W12 on loan to
  P0003, requested by P0004 (recalled); W13 requested by P0005 then a work order for IMG.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from libdesk import circulation, clock, requests, scan, workorders
from libdesk.config import Settings
from libdesk.db import Database
from libdesk.institution import Institution, demo_path, load_file
from screens.app import LibdeskApp, make_app
from tests.conftest import FROZEN, make_db

SIZE = (120, 36)
"""Every snapshot's terminal size (STYLE.md section 10)."""

def demo_institution() -> Institution:
    return load_file(demo_path())


def seed_day(db: Database) -> None:
    """The seeded desk day described in the module docstring."""
    try:
        clock.freeze(FROZEN - timedelta(days=40))
        scan.scan_in(db, "W01", at="CCWID", operator="cc", status="Assessment")
        scan.scan_in(db, "W02", at="CCWID", operator="cc", status="Pocket")
        clock.freeze(FROZEN - timedelta(days=5))
        scan.scan_in(db, "W03", at="CCWID", operator="cc", status="Repair")
        scan.scan_in(db, "W04", at="CCWID", operator="cc", status="Repair")
        scan.scan_in(db, "W05", at="CCWID", operator="admin", status="Rehousing")
        scan.scan_in(db, "L01", at="CCWID", operator="admin", status="Pocket")
        requests.place_request(db, "W02", "P0001", "WID-CIRC", operator="circ", at="WID-CIRC")
        clock.freeze(FROZEN - timedelta(days=2))
        workorders.place_work_order(db, "W09", "TS", "ITS625", operator="its", note="check edition", at="ITS625")
        requests.place_request(db, "W10", "P0002", "LAW-CIRC", operator="circ", at="WID-CIRC")
        workorders.place_work_order(db, "R01", "PRES", "CCWID", operator="cc", at="CCWID")
        workorders.place_work_order(db, "W11", "PRES", "CCWID", operator="circ", in_hand=True, at="WID-CIRC",
                                    note="spine detached")
        circulation.loan(db, "W12", "P0003", at="WID-CIRC", operator="circ")
        clock.freeze(FROZEN - timedelta(days=1))
        requests.place_request(db, "W12", "P0004", "WID-CIRC", operator="circ", at="WID-CIRC")
        requests.place_request(db, "W13", "P0005", "WID-CIRC", operator="circ", at="WID-CIRC")
        workorders.place_work_order(db, "W13", "IMG", "IMG", operator="admin", note="scan plates")
    finally:
        clock.freeze(FROZEN)


def seeded_db(path: Path) -> Database:
    """The tests' item set (tests/conftest.py ``make_db``) plus the seeded desk day."""
    db = make_db(path, demo_institution())
    seed_day(db)
    return db


@pytest.fixture
def list_db(tmp_path: Path) -> Iterator[Database]:
    """The seeded desk day (import it into a test module to use it as a fixture)."""
    database = seeded_db(tmp_path / "desk.db")
    yield database
    database.close()


def list_app(db: Database, *, operator: str = "admin", at: str | None = "CCWID") -> LibdeskApp:
    """The desk app on ``db`` for ``operator`` at ``at``, with a fixed database label (the
    temporary path would change every snapshot)."""
    app = make_app(db, Settings(operator=operator, currently_at=at), clock=lambda: FROZEN)
    app.set_reactive(LibdeskApp.database, "desk.db")
    return app


async def settle(pilot) -> None:  # type: ignore[no-untyped-def]
    """Let workers finish and the screen catch up with their messages."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
