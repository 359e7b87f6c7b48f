"""Fixtures for the desk app's tests: a seeded database, a frozen clock, a steady screen.

The database is built exactly as the engine tests build theirs (``tests/conftest.py``'s
``make_db``: the demo institution and items W01-W30, L01-L10, R01-R06, acquisitions A01-A06
and B01-B03), once per test and through one path only (the app is not what the engine's
fast-path/SQLAlchemy parametrisation tests). ``LIBDESK_HOME`` is already a temporary folder
(``tests/conftest.py``'s autouse ``isolated_home``), so the settings file is the test's own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
import textual.constants
from sqlalchemy import func, select
from textual import events
from textual.message import Message
from textual.pilot import Pilot
from textual.widgets import Input

from libdesk import clock, institution
from libdesk.config import Settings
from libdesk.db import Database
from libdesk.models import Event
from screens.app import LibdeskApp, make_app
from tests.conftest import FROZEN, make_db

SIZE = (120, 36)
"""Every Pilot and snapshot test runs at this terminal size (STYLE.md section 10)."""

SCANNER_GAP = 0.003
"""Seconds between a test scanner's keys: a steady scanner's rhythm (wedge.py: 1-15 ms)."""


def scanner_burst(app: LibdeskApp, barcode: str) -> None:
    """Queue a barcode and Enter at once, as a scanner faster than the app would.

    Each key is stamped ``SCANNER_GAP`` after the last (continuing after the previous burst
    queued on this app), not with the moment the test happened to create it: a pause of the
    test process between two keys (a garbage collection on a busy CI machine) would otherwise
    look like a person's key before the scan, and the burst detector would rightly split it
    off."""
    stamp = max(Message().time, getattr(app, "_test_scanner_clock", 0.0))
    for key, char in [(c, c) for c in barcode] + [("enter", "\r")]:
        event = events.Key(key, char)
        event.time = stamp
        app.post_message(event)
        stamp += SCANNER_GAP
    app._test_scanner_clock = stamp  # type: ignore[attr-defined]


@pytest.fixture
def frozen() -> Iterator[datetime]:
    """The engine's clock, frozen (the app shows times from it)."""
    clock.freeze(FROZEN)
    yield FROZEN
    clock.freeze(None)


@pytest.fixture(autouse=True)
def steady_screen(monkeypatch: pytest.MonkeyPatch) -> None:
    """No blinking cursor, no animations, notifications that do not vanish mid-test."""
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)
    monkeypatch.setattr(textual.constants, "TEXTUAL_ANIMATIONS", "none")
    monkeypatch.setattr(LibdeskApp, "NOTIFICATION_TIMEOUT", 600)


async def wedge_settled(app: LibdeskApp, timeout: float = 5.0) -> None:
    """Wait until the keyboard-wedge detector has let go of the keys it holds.

    The app holds a typed key for up to ~40 ms (it could be the start of a scanner's burst,
    SPEC S3) and then replays it to the focused widget. A test that presses a key and then
    changes a widget directly (moves a table's cursor) must wait for that, as it waits for
    workers; keys pressed one after another need no wait (they keep their order)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while app.wedge is not None and app.wedge.deadline() is not None and loop.time() < end:
        await asyncio.sleep(0.005)


@pytest.fixture(autouse=True)
def presses_settle(monkeypatch: pytest.MonkeyPatch) -> None:
    """``pilot.press`` returns once the keys it pressed have reached their widgets (see
    :func:`wedge_settled`), so tests read the screen as a person would see it."""
    press = Pilot.press

    async def settle(pilot: Pilot[object]) -> None:
        app = pilot.app
        if isinstance(app, LibdeskApp) and app.wedge is not None:
            await wedge_settled(app)
            await pilot.pause()  # the released keys, replayed, reach their widget

    async def press_and_settle(self: Pilot[object], *keys: str) -> None:
        # A key that is not a character (Enter, F3, ctrl+w) may switch screens, open a pop-up
        # or commit a scan: the keys after it must reach what it brought up, as they would
        # for a person who looks before typing on. On a loaded CI machine a snapshot's
        # ``press=["f3", *"W04", "enter", "ctrl+w"]`` otherwise raced the screen switch.
        group: list[str] = []
        for key in keys:
            group.append(key)
            if len(key) > 1 and key != "space":
                await press(self, *group)
                await settle(self)
                group = []
        if group:
            await press(self, *group)
            await settle(self)

    monkeypatch.setattr(Pilot, "press", press_and_settle)


@pytest.fixture
def desk_db(tmp_path: Path, frozen: datetime) -> Iterator[Database]:
    """The seeded test database."""
    database = make_db(tmp_path / "desk.db", institution.load_file(institution.demo_path()))
    yield database
    database.close()


AppFactory = Callable[..., LibdeskApp]


@pytest.fixture
def desk_app(desk_db: Database, frozen: datetime) -> AppFactory:
    """Build the app at a place: ``desk_app("CCWID", status="Pocket", done=False)``."""

    def build(at: str | None = "CCWID", *, status: str | None = None, done: bool = False,
              operator: str = "admin", settings: Settings | None = None) -> LibdeskApp:
        app = make_app(desk_db, settings or Settings(operator=operator, currently_at=at, status=status, done=done),
                       clock=lambda: frozen)
        # The header names the database file; a fixed name keeps snapshots free of tmp paths.
        app.set_reactive(LibdeskApp.database, "desk.db")
        return app

    return build


def events_of(db: Database, action: str) -> dict[str, int]:
    """How many events of ``action`` each barcode has."""
    stmt = (select(Event.barcode, func.count()).where(Event.action == action)  # type: ignore[arg-type]
            .group_by(Event.barcode))
    with db.read() as conn:
        return {barcode: count for barcode, count in conn.execute(stmt)}
