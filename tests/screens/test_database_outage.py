"""The desk app on PostgreSQL survives the server going away (issue 11, item 7): the header's
DB slot turns red, a scan is refused with a clear message and changes nothing, the app does
not exit, the server is tried again with backoff, and the header turns green and scans go
through once it is back. The outage is a cut in a test proxy (tests/pg_proxy.py) in front of
the real server, never a stopped server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from libdesk.config import Settings
from libdesk.db import Database, open_database
from libdesk.queries import item_show
from screens.app import LibdeskApp, make_app
from screens.base import UNREACHABLE_REFUSAL
from screens.scan_in import ScanInScreen
from screens.widgets import DeskHeader
from tests.conftest import scratch_postgres
from tests.pg_proxy import CuttableProxy, proxy_for
from tests.screens.conftest import SIZE
from tests.screens.test_scanning import SCANNER_GAP, settled, type_keys, until


@pytest.fixture
def outage(request: pytest.FixtureRequest, frozen: datetime) -> Iterator[tuple[Database, CuttableProxy]]:
    template = request.getfixturevalue("_postgres_seeded_template")
    with scratch_postgres(template) as url, proxy_for(url) as proxy:
        database = open_database(proxy.url(url))
        yield database, proxy
        database.close()


def _header_text(app: LibdeskApp) -> str:
    return str(app.screen.query_one(DeskHeader).render())


async def test_a_database_outage_turns_the_header_red_refuses_scans_and_recovers(
        outage: tuple[Database, CuttableProxy], frozen: datetime) -> None:
    database, proxy = outage
    app = make_app(database, Settings(operator="admin", currently_at="CCWID", status="Pocket"), clock=lambda: frozen)
    app.set_reactive(LibdeskApp.database, "library-server")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ScanInScreen)
        type_keys(app, "W01", SCANNER_GAP)
        await settled(pilot)
        assert not screen.banner.has_class("-error") and app.database_state == "ok"
        header = app.screen.query_one(DeskHeader)
        assert not header.has_class("-database-unreachable")

        proxy.cut()  # the server goes away under a pooled connection
        type_keys(app, "W02", SCANNER_GAP)
        await settled(pilot)
        assert screen.banner.has_class("-error")
        assert UNREACHABLE_REFUSAL in screen.banner.headline
        assert screen.scan_log.entries[0].outcome == "error"
        assert app.database_state == "unreachable" and header.has_class("-database-unreachable")
        assert "library-server: unreachable" in _header_text(app)
        assert app.is_running  # no exit

        proxy.restore()  # the app's own retry (backoff from 0.5 s) finds it back, with no scan
        await until(pilot, lambda: app.database_state == "back", "the header to turn green")
        assert header.has_class("-database-back") and "unreachable" not in _header_text(app)
        type_keys(app, "W03", SCANNER_GAP)
        await settled(pilot)
        assert not screen.banner.has_class("-error")

        # Cut and restored between two scans: the dead pooled connection is replaced, the
        # scan goes through and the header stays green.
        proxy.cut()
        proxy.restore()
        type_keys(app, "W04", SCANNER_GAP)
        await settled(pilot)
        assert not screen.banner.has_class("-error") and app.database_state == "back"
    assert item_show(database, "W01")["status"] == "Pocket"
    assert item_show(database, "W02")["process_type"] is None  # refused: nothing changed
    assert item_show(database, "W03")["status"] == "Pocket"
    assert item_show(database, "W04")["status"] == "Pocket"


async def test_the_periodic_check_turns_the_header_red_before_any_scan(
        outage: tuple[Database, CuttableProxy], frozen: datetime) -> None:
    database, proxy = outage
    app = make_app(database, Settings(operator="admin", currently_at="CCWID"), clock=lambda: frozen)
    app.database_check_every = 0.1  # instead of 30 s
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        proxy.cut()
        await until(pilot, lambda: app.database_state == "unreachable", "the check to find the server gone")
        proxy.restore()
        await until(pilot, lambda: app.database_state == "back", "the check to find it back")
        assert app.is_running


async def test_a_return_refused_at_a_desk_turns_the_header_red_too(
        outage: tuple[Database, CuttableProxy], frozen: datetime) -> None:
    database, proxy = outage
    app = make_app(database, Settings(operator="admin", currently_at="WID-CIRC"), clock=lambda: frozen)
    app.database_check_every = 0  # no periodic check: the refused scan itself must tell
    async with app.run_test(size=SIZE) as pilot:
        await app.switch_mode("return_items")
        await pilot.pause()
        proxy.cut()
        type_keys(app, "W05", SCANNER_GAP)
        await settled(pilot)
        await until(pilot, lambda: app.database_state == "unreachable", "the header to turn red")
        assert app.is_running and app.screen.query_one(DeskHeader).has_class("-database-unreachable")
        assert UNREACHABLE_REFUSAL in app.screen.banner.headline
        proxy.restore()
        await until(pilot, lambda: app.database_state == "back", "the header to turn green")
