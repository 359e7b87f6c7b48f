"""Issue 14: with sign-in required, the app opens on a sign-in screen unless the CLI already
signed someone in (a session, LIBDESK_SECRET); a wrong secret is refused there in red and
counted toward the lockout; an idle desk signs out back to it; ctrl+o asks the new
operator's secret. The demo (sign_in = false) opens straight at the desk, as it always did."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from textual.widgets import Input, Label, OptionList

from libdesk import institution, operators
from libdesk.config import Settings
from libdesk.models import OperatorAccount
from screens.app import LibdeskApp, make_app
from screens.choosers import Chooser
from screens.scan_in import ScanInScreen
from screens.sign_in import SecretDialog, SignInScreen
from tests.conftest import db_fingerprint, make_db
from tests.screens.conftest import SIZE, scanner_burst


def _signin_db(tmp_path: Path):  # type: ignore[no-untyped-def]
    text = institution.demo_path().read_text(encoding="utf-8").replace(
        "sign_in = false", "[sign_in]\nidle_minutes = 1\n", 1)
    db = make_db(tmp_path / "desk.db", institution.parse(text, "signin.toml"))
    operators.set_secret(db, "admin", "admin-pass", by=None)
    operators.set_secret(db, "cc", "cc-pass", by="admin")
    return db


@pytest.fixture
def signin_db(tmp_path: Path, frozen):  # type: ignore[no-untyped-def]
    db = _signin_db(tmp_path)
    yield db
    db.close()


def _app(db, settings: Settings, **kw) -> LibdeskApp:  # type: ignore[no-untyped-def]
    app = make_app(db, settings, **kw)
    app.set_reactive(LibdeskApp.database, "desk.db")  # no tmp path in the snapshot's header
    return app


async def _secret(app: LibdeskApp, pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    assert isinstance(app.screen, SecretDialog)
    app.screen.query_one("#secret", Input).value = text
    app.screen.query_one("#secret", Input).focus()
    await pilot.press("enter")
    await pilot.pause()


async def _sign_in(app: LibdeskApp, pilot, operator: str | None, secret: str) -> None:  # type: ignore[no-untyped-def]
    screen = app.screen
    assert isinstance(screen, SignInScreen)
    if operator is not None:
        screen.query_one("#operator", Input).value = operator
    screen.query_one("#secret", Input).value = secret
    screen.query_one("#secret", Input).focus()
    await pilot.press("enter")
    await pilot.pause()


def _failures(db, op: str) -> int:  # type: ignore[no-untyped-def]
    t = OperatorAccount.__table__
    with db.read() as conn:
        return int(conn.execute(select(t.c.failures).where(t.c.operator == op)).scalar_one())


async def test_the_app_opens_on_sign_in_and_the_right_secret_opens_the_desk(signin_db) -> None:
    app = _app(signin_db, Settings(operator="admin", currently_at="CCWID"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SignInScreen)
        assert screen.query_one("#operator", Input).value == "admin"  # the workstation's last operator
        secret = screen.query_one("#secret", Input)
        assert secret.password and app.focused is secret  # typed hidden
        for key in ("f2", "f10", "ctrl+o", "escape", "f1"):  # no way round it
            await pilot.press(key)
            assert app.screen is screen
        await _sign_in(app, pilot, "cc", "cc-pass")
        assert isinstance(app.screen, ScanInScreen)  # the normal first screen
        assert app.operator == "cc" and app.currently_at == "CCWID"
        assert app.settings.operator == "cc"  # this workstation's operator now


async def test_signing_in_goes_on_to_currently_at_when_none_is_set(signin_db) -> None:
    app = _app(signin_db, Settings(operator="admin", currently_at=None))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await _sign_in(app, pilot, None, "admin-pass")
        assert isinstance(app.screen, Chooser) and app.operator == "admin"


async def test_a_wrong_secret_is_refused_in_red_and_counted(signin_db) -> None:
    app = _app(signin_db, Settings(operator="cc", currently_at="CCWID"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await _sign_in(app, pilot, None, "wrong")
        screen = app.screen
        assert isinstance(screen, SignInScreen)
        error = screen.query_one("#error", Label)
        assert "Wrong secret for cc" in str(error.render()) and error.has_class("dialog-error")
        assert screen.query_one("#secret", Input).value == ""  # never kept
        assert _failures(signin_db, "cc") == 1  # counted toward the lockout, as `libdesk login`
        for _ in range(signin_db.institution.sign_in.max_failures - 1):
            await _sign_in(app, pilot, None, "wrong")
        await _sign_in(app, pilot, None, "cc-pass")  # locked: the right secret is refused too
        assert isinstance(app.screen, SignInScreen) and "locked" in str(error.render())
        await _sign_in(app, pilot, "nobody", "whatever")
        assert isinstance(app.screen, SignInScreen) and "Unknown operator 'nobody'" in str(error.render())


async def test_a_scan_before_sign_in_is_refused_and_changes_nothing(signin_db) -> None:
    app = _app(signin_db, Settings(operator="admin", currently_at="CCWID"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        before = db_fingerprint(signin_db)
        scanner_burst(app, "32044000000221")
        await pilot.pause(0.2)
        screen = app.screen
        assert isinstance(screen, SignInScreen)
        assert "Sign in first: 32044000000221 was not used" in str(screen.query_one("#error", Label).render())
        assert screen.query_one("#secret", Input).value == "" and screen.query_one("#operator", Input).value == "admin"
        assert db_fingerprint(signin_db) == before


async def test_idle_sign_out_returns_to_the_sign_in_screen(signin_db) -> None:
    app = _app(signin_db, Settings(operator="admin", currently_at="CCWID"), signed_in_as="admin")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ScanInScreen)  # the CLI's session signed admin in
        await pilot.press("f10")  # a pop-up open when the desk goes idle
        assert isinstance(app.screen, Chooser)
        app._last_input -= 61  # a minute and more without a key
        app._sign_out_when_idle()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SignInScreen) and app.is_running  # signed out, not exited
        assert "Signed out after 1 minute(s)" in str(screen.query_one("#reason").render())
        await pilot.press("escape")
        assert app.screen is screen
        await _sign_in(app, pilot, "cc", "cc-pass")  # anyone may sign in here
        assert isinstance(app.screen, ScanInScreen) and app.operator == "cc"
        assert len(app.screen_stack) == 1  # the old pop-up is gone


async def test_an_operator_disabled_while_signed_in_is_signed_out(signin_db) -> None:
    app = _app(signin_db, Settings(operator="admin", currently_at="CCWID"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await _sign_in(app, pilot, "cc", "cc-pass")
        assert app.standing is not None and app.standing.operator == "cc"
        app.check_sign_in()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, ScanInScreen)  # still stands
        operators.set_disabled(signin_db, "cc", True, by="admin")  # an administrator, elsewhere
        app.check_sign_in()  # the app does this every SIGN_IN_CHECK_EVERY_S
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SignInScreen) and app.needs_sign_in
        assert "Signed out: Operator cc is disabled" in str(screen.query_one("#reason").render())
        await _sign_in(app, pilot, "cc", "cc-pass")
        assert app.screen is screen and "disabled" in str(screen.query_one("#error", Label).render())


async def test_ctrl_o_asks_the_new_operators_secret(signin_db) -> None:
    app = _app(signin_db, Settings(operator="admin", currently_at="CCWID"), signed_in_as="admin")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+o")
        assert isinstance(app.screen, Chooser)
        options = app.screen.query_one(OptionList)
        options.highlighted = options.get_option_index("cc")
        await pilot.press("enter")
        await pilot.pause()
        await _secret(app, pilot, "wrong")
        assert isinstance(app.screen, SecretDialog) and app.operator == "admin"
        assert "Wrong secret" in str(app.screen.query_one("#error", Label).render())
        await _secret(app, pilot, "cc-pass")
        assert app.operator == "cc"


async def test_the_demo_opens_at_the_desk_without_sign_in(desk_app) -> None:
    app = desk_app("CCWID")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ScanInScreen) and not app.needs_sign_in


class TestSignInSnapshot:
    def test_sign_in_screen(self, snap_compare: object, signin_db) -> None:  # type: ignore[no-untyped-def]
        """Operator offered, a wrong try's red line, the next secret typed hidden."""

        async def wrong_try(pilot) -> None:  # type: ignore[no-untyped-def]
            await pilot.pause()
            await pilot.press(*"oops", "enter")
            await pilot.pause()
            await pilot.press(*"cc-p")
            await pilot.pause()

        app = _app(signin_db, Settings(operator="cc", currently_at="CCWID"))
        assert snap_compare(app, run_before=wrong_try, terminal_size=SIZE)  # type: ignore[operator]
