"""Issue 14: with sign-in required, ctrl+o asks the new operator's secret (a wrong one is
refused on screen and changes nothing), and an idle desk locks until a secret is given."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, Label, OptionList

from libdesk import institution, operators
from libdesk.config import Settings
from screens.app import LibdeskApp, make_app
from screens.choosers import Chooser
from screens.sign_in import SecretDialog
from tests.conftest import make_db
from tests.screens.conftest import SIZE


def _signin_db(tmp_path: Path):  # type: ignore[no-untyped-def]
    text = institution.demo_path().read_text(encoding="utf-8").replace(
        "sign_in = false", "[sign_in]\nidle_minutes = 1\n", 1)
    db = make_db(tmp_path / "desk.db", institution.parse(text, "signin.toml"))
    operators.set_secret(db, "admin", "admin-pass", by=None)
    operators.set_secret(db, "cc", "cc-pass", by="admin")
    return db


async def _secret(app: LibdeskApp, pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    assert isinstance(app.screen, SecretDialog)
    app.screen.query_one("#secret", Input).value = text
    app.screen.query_one("#secret", Input).focus()
    await pilot.press("enter")
    await pilot.pause()


async def test_ctrl_o_asks_the_new_operators_secret(tmp_path: Path) -> None:
    db = _signin_db(tmp_path)
    app = make_app(db, Settings(operator="admin", currently_at="CCWID"))
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
    db.close()


async def test_an_idle_desk_locks_until_a_secret(tmp_path: Path) -> None:
    db = _signin_db(tmp_path)
    app = make_app(db, Settings(operator="admin", currently_at="CCWID"))
    async with app.run_test(size=SIZE) as pilot:
        app._last_input -= 61  # a minute and more without a key
        app._sign_out_when_idle()
        await pilot.pause()
        assert isinstance(app.screen, SecretDialog)
        await pilot.press("escape")
        assert isinstance(app.screen, SecretDialog)  # no way round it
        await _secret(app, pilot, "admin-pass")
        assert not isinstance(app.screen, SecretDialog) and app.operator == "admin"
    db.close()
