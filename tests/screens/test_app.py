"""The app frame: sticky settings, who and where, the F-key footer, the screen registry, the palette."""

from __future__ import annotations

import pytest
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static

from libdesk.config import Settings, load_settings
from screens import app as app_module
from screens.app import LibdeskApp, ScreenSpec, make_app
from screens.choosers import Chooser
from screens.scan_in import ScanInScreen
from screens.widgets import DeskHeader
from tests.screens.conftest import SIZE, AppFactory


def _footer_keys(app: LibdeskApp) -> list[str]:
    """The keys the footer shows, in order."""
    return [key.key for key in app.screen.query_one(Footer).query("FooterKey")]  # type: ignore[attr-defined]


async def _choose(app: LibdeskApp, pilot: object, option_id: str) -> None:
    """Highlight ``option_id`` in the open chooser and press Enter."""
    assert isinstance(app.screen, Chooser)
    options = app.screen.query_one(OptionList)
    options.highlighted = options.get_option_index(option_id)
    await pilot.press("enter")  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]


async def test_sticky_settings_survive_an_app_restart(desk_app: AppFactory, desk_db: object) -> None:
    """S1: Currently At, Set Status To and Done chosen in the app are there after a restart."""
    app = desk_app("WID-CIRC")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f10")
        await _choose(app, pilot, "CCLAW")
        await pilot.press("f9")
        await _choose(app, pilot, "Rehousing")
        await pilot.press("f8")
        await pilot.pause()
        await pilot.press("ctrl+q")
    saved = load_settings()
    assert (saved.currently_at, saved.status, saved.done) == ("CCLAW", "Rehousing", True)

    again = make_app(desk_db, load_settings())  # type: ignore[arg-type]
    async with again.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert (again.currently_at, again.status, again.done) == ("CCLAW", "Rehousing", True)
        screen = again.screen
        assert isinstance(screen, ScanInScreen)
        assert "Rehousing" in str(screen.query_one("#setting-status", Static).render())
        assert screen.query_one("#done-row").has_class("-done-yes")


async def test_status_is_remembered_per_department(desk_app: AppFactory) -> None:
    """S1: leaving a department and coming back brings its Set Status To back; another
    department has its own."""
    app = desk_app("CCWID")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f9")
        await _choose(app, pilot, "Pocket")
        for place in ("WID-CIRC", "ITS625", "CCWID"):
            await pilot.press("f10")
            await _choose(app, pilot, place)
            await pilot.pause()
            assert app.status == {"WID-CIRC": None, "ITS625": None, "CCWID": "Pocket"}[place], place
    assert load_settings().statuses == {"CCWID": "Pocket"}


async def test_a_desk_clears_status_and_done(desk_app: AppFactory) -> None:
    """Moving to a circulation desk drops the department's status and Done (they mean nothing there)."""
    app = desk_app("CCWID", status="Pocket", done=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f10")
        await _choose(app, pilot, "LAW-CIRC")
        assert (app.currently_at, app.status, app.done) == ("LAW-CIRC", None, False)
    saved = load_settings()
    assert (saved.currently_at, saved.status, saved.done) == ("LAW-CIRC", None, False)


async def test_currently_at_offers_only_the_operators_places(desk_app: AppFactory) -> None:
    """W3: operator its sees only ITS@625 and ITS@Langdell."""
    app = desk_app("ITS625", operator="its")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f10")
        await pilot.pause()
        options = app.screen.query_one(OptionList)
        offered = [options.get_option_at_index(i).id for i in range(options.option_count)]
        assert [o for o in offered if o] == ["ITS625", "ITSLAW"]


async def test_switching_operator_asks_for_a_place_they_may_use(desk_app: AppFactory) -> None:
    """W3: cc cannot stay at WID-CIRC; the app asks where cc works and saves the operator."""
    app = desk_app("WID-CIRC")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+o")
        await _choose(app, pilot, "cc")
        assert (app.operator, app.currently_at) == ("cc", None)
        assert isinstance(app.screen, Chooser) and app.screen.id == "choose-place"
        await _choose(app, pilot, "CCWID")
        assert app.currently_at == "CCWID"
    assert (load_settings().operator, load_settings().currently_at) == ("cc", "CCWID")


async def test_first_start_asks_where_you_are(desk_app: AppFactory) -> None:
    """With no Currently At in the settings the app opens the chooser at once."""
    app = desk_app(None)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, Chooser) and app.screen.id == "choose-place"


async def test_footer_shows_f_keys_in_order_and_hides_unregistered_screens(desk_app: AppFactory,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """STYLE section 7: F-keys only, same order everywhere; F4/F6/F7 show once their screen is
    registered, and stay hidden (and do nothing) where it is not."""
    app = desk_app("CCWID")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert _footer_keys(app) == ["f1", "f2", "f3", "f4", "f6", "f7", "f8", "f9", "f10", "ctrl+q"]
        await pilot.press("f3")
        await pilot.pause()
        assert _footer_keys(app) == ["f1", "f2", "f3", "f4", "f6", "f7", "f10", "ctrl+q"]
    for mode in ("physical_items", "in_process", "monitor"):
        monkeypatch.delitem(app_module.SCREENS, mode)
    app = desk_app("CCWID")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert _footer_keys(app) == ["f1", "f2", "f3", "f8", "f9", "f10", "ctrl+q"]
        await pilot.press("f4")
        assert isinstance(app.screen, ScanInScreen)


class _PlaceholderItems(Screen[None]):
    """A stand-in for a screen another issue delivers."""


async def test_registering_a_screen_lights_up_its_reserved_key(desk_app: AppFactory,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The registry contract: one ScreenSpec line makes F4 appear and open the screen."""
    monkeypatch.setitem(app_module.SCREENS, "physical_items",
                        ScreenSpec("Physical Items", lambda app: _PlaceholderItems(), "Search items"))
    app = desk_app("CCWID")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "f4" in _footer_keys(app)
        await pilot.press("f4")
        await pilot.pause()
        assert isinstance(app.screen, _PlaceholderItems)


async def test_a_screen_registered_at_run_time_gets_its_key(desk_app: AppFactory) -> None:
    """register_screen: the mode, the palette entry and a non-reserved key (ctrl+z here: f11 is the Hold Shelf)."""
    app = desk_app("CCWID")
    app.register_screen("plug_in", ScreenSpec("Shelf Reading", lambda app: _PlaceholderItems(),
                                              "A plug-in screen", key="ctrl+z"))
    async with app.run_test(size=SIZE) as pilot:
        assert "Shelf Reading" in [c.name for c in app.desk_commands(app.screen)]
        await pilot.press("ctrl+z")
        await pilot.pause()
        assert isinstance(app.screen, _PlaceholderItems)


async def test_header_shows_operator_place_database_scanner_and_tasks(desk_app: AppFactory) -> None:
    """The header's slots repaint when the app's reactives change."""
    app = desk_app("CCWID", operator="cc")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        header = app.screen.query_one(DeskHeader)
        text = header.render().plain
        for part in ("Scan In Items", "Operator cc", "Collections Care (Widener) · CCWID", "DB desk.db",
                     "Scanner keyboard", "Tasks 0"):
            assert part in text
        app.scanner_status = "serial /dev/ttyUSB0"
        app.task_count = 3
        await pilot.pause()
        assert "Scanner serial /dev/ttyUSB0" in header.render().plain
        assert "Tasks 3" in header.render().plain


async def test_command_palette_finds_screens_and_actions_by_desk_words(desk_app: AppFactory) -> None:
    """ctrl+p, "return", Enter: Return Items; "currently": the Currently At chooser."""
    app = desk_app("WID-CIRC")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p", *"return items")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.id == "return-items"
        await pilot.press("ctrl+p", *"currently at")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, Chooser) and app.screen.id == "choose-place"


async def test_help_lists_the_screens_keys(desk_app: AppFactory) -> None:
    """F1 shows the screen's help and the keys as bound now."""
    app = desk_app("CCWID")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f1")
        await pilot.pause()
        assert app.screen.id == "help"
        keys = dict(app.screen.keys)  # type: ignore[attr-defined]
        assert keys["F8"] == "Done" and keys["F10"] == "Currently At" and keys["^o"] == "Switch operator"
        await pilot.press("escape")
        assert isinstance(app.screen, ScanInScreen)


async def test_keymap_in_the_settings_file_remaps_a_key(desk_db: object) -> None:
    """Bindings have ids, so an institution can remap them ([keys] in the settings file)."""
    app = make_app(desk_db, Settings(currently_at="CCWID", keys={"toggle-done": "f12"}))  # type: ignore[arg-type]
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f12")
        assert app.done is True


class TestChooserSnapshots:
    """The pop-ups that change who and where."""

    def test_currently_at_chooser(self, snap_compare: object, desk_app: AppFactory) -> None:
        """Desks, then departments under their work-order type; only the operator's places."""
        assert snap_compare(desk_app("WID-CIRC"), press=["f10"], terminal_size=SIZE)  # type: ignore[operator]

    def test_status_chooser(self, snap_compare: object, desk_app: AppFactory) -> None:
        """The department type's statuses in order, the current one highlighted."""
        assert snap_compare(desk_app("CCWID", status="Repair"), press=["f9"], terminal_size=SIZE)  # type: ignore[operator]
