"""Desk tasks of issue 12 item 6 in the app: in-house use on Return Items (ctrl+u), ..."""

from __future__ import annotations

from libdesk import circulation, queries
from screens.return_items import ReturnItemsScreen
from tests.conftest import db_fingerprint
from tests.screens.conftest import SIZE, AppFactory


def _return_screen(app: object) -> ReturnItemsScreen:
    screen = app.screen  # type: ignore[attr-defined]
    assert isinstance(screen, ReturnItemsScreen)
    return screen


def _state(db, barcode):  # type: ignore[no-untyped-def]
    item = queries.item_show(db, barcode)
    return {k: item[k] for k in ("process_type", "transit_to", "hold_shelf", "loan", "requests")}


async def test_ctrl_u_on_return_items_registers_in_house_use_and_changes_nothing_else(desk_app: AppFactory) -> None:
    app = desk_app("WID-CIRC")
    before = _state(app.db, "W05")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3", "ctrl+u")
        screen = _return_screen(app)
        assert screen.in_house and "IN-HOUSE USE" in str(screen.query_one("#return-place").render())
        await pilot.press(*"W05", "enter")
        await pilot.press(*"W07", "enter")
        await pilot.pause()
        assert _state(app.db, "W05") == before
        uses = [e for e in queries.item_history(app.db, "W05") if e["action"] == "in_house_use"]
        assert len(uses) == 1 and all(e["operator"] == "admin" and e["place"] == "WID-CIRC" for e in uses)
        assert "In-house use registered" in screen.banner.detail
        assert screen.highlighted is not None and screen.highlighted.next_step.startswith("In-house use (")
        assert app.focused is screen.scan_field
        await pilot.press("ctrl+u")  # back to returns
        assert not screen.in_house


async def test_in_house_use_of_a_loaned_item_is_red_and_changes_nothing(desk_app: AppFactory) -> None:
    app = desk_app("WID-CIRC")
    circulation.loan(app.db, "W06", "P0001", at="WID-CIRC", operator="circ")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3", "ctrl+u")
        before = db_fingerprint(app.db)
        await pilot.press(*"W06", "enter")
        await pilot.pause()
        screen = _return_screen(app)
        assert screen.banner.has_class("-error") and "on loan to P0001" in screen.banner.headline
        assert db_fingerprint(app.db) == before


async def test_a_barcode_not_found_in_scan_in_offers_a_search_on_f4(desk_app: AppFactory) -> None:
    """A mistyped barcode: the red banner names F4; F4 opens Physical Items searching for it."""
    from screens.physical_items import PhysicalItemsScreen
    from tests.screens.lists_fixtures import settle

    app = desk_app("WID-CIRC")
    async with app.run_test(size=SIZE) as pilot:
        before = db_fingerprint(app.db)
        await pilot.press(*"W0599", "enter")
        await pilot.pause()
        banner = app.screen.banner  # type: ignore[attr-defined]
        assert banner.has_class("-error") and "press F4 to search for W05*" in banner.headline
        assert db_fingerprint(app.db) == before
        await pilot.press("f4")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, PhysicalItemsScreen)
        assert screen.search_box.value == "W05*" and list(screen.rows) == ["W05"]
        await pilot.press("f2")  # F4 again after a good scan: no stale search is carried
        await pilot.press(*"W06", "enter")
        await pilot.press("f4")
        await settle(pilot)
        assert screen.search_box.value == "W05*" and app.search_offer is None


async def test_a_barcode_not_found_in_return_items_offers_the_same_search(desk_app: AppFactory) -> None:
    from screens.physical_items import PhysicalItemsScreen
    from tests.screens.lists_fixtures import settle

    app = desk_app("WID-CIRC")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3", *"L0277", "enter")
        await pilot.pause()
        screen = _return_screen(app)
        assert "press F4 to search for L02*" in screen.banner.headline
        await pilot.press("f4")
        await settle(pilot)
        assert isinstance(app.screen, PhysicalItemsScreen) and list(app.screen.rows) == ["L02"]


async def test_ctrl_d_on_physical_items_renews_the_highlighted_loan(desk_app: AppFactory) -> None:
    from screens.physical_items import PhysicalItemsScreen
    from tests.screens.lists_fixtures import settle

    app = desk_app("WID-CIRC")
    circulation.loan(app.db, "W08", "P0001", at="WID-CIRC", operator="circ")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4", *"W08", "enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, PhysicalItemsScreen)
        await pilot.press("ctrl+d")
        await settle(pilot)
        assert "Renewed for P0001" in screen.result_line.text
        assert any(e["action"] == "renewed" and e["operator"] == "admin"
                   for e in queries.item_history(app.db, "W08"))


async def test_renewing_a_requested_loan_is_red_and_changes_nothing(desk_app: AppFactory) -> None:
    from libdesk import requests
    from screens.physical_items import PhysicalItemsScreen
    from tests.screens.lists_fixtures import settle

    app = desk_app("WID-CIRC")
    circulation.loan(app.db, "W09", "P0001", at="WID-CIRC", operator="circ")
    requests.place_request(app.db, "W09", "P0002", "WID-CIRC", operator="circ")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4", *"W09", "enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, PhysicalItemsScreen)
        before = db_fingerprint(app.db)
        await pilot.press("ctrl+d")
        await settle(pilot)
        assert "patron P0002 requested it" in screen.result_line.text
        assert db_fingerprint(app.db) == before


# -- transit and hold slips on one key ---------------------------------------------------------------

def _no_printer(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """No ``lp`` on the test machine's PATH: slips are saved in the data folder."""
    from libdesk import slips

    monkeypatch.setattr(slips.shutil, "which", lambda name: None)


def _saved_slips() -> list[str]:
    from libdesk import config

    folder = config.data_dir() / "slips"
    return sorted(p.read_text(encoding="utf-8") for p in folder.glob("*.txt")) if folder.exists() else []


async def test_scan_in_offers_the_transit_slip_on_ctrl_k(desk_app: AppFactory, monkeypatch) -> None:
    from libdesk import requests

    _no_printer(monkeypatch)
    app = desk_app("WID-CIRC")
    requests.place_request(app.db, "W04", "P0002", "LAW-CIRC", operator="circ")
    async with app.run_test(size=SIZE) as pilot:
        before = db_fingerprint(app.db)
        await pilot.press("ctrl+k")  # nothing sent on yet: said, nothing printed
        await pilot.pause()
        assert _saved_slips() == []
        await pilot.press(*"W04", "enter")
        await pilot.pause()
        banner = app.screen.banner  # type: ignore[attr-defined]
        assert banner.has_class("-transit") and "ctrl+k: print the slip" in banner.item_line
        before = db_fingerprint(app.db)
        await pilot.press("ctrl+k")
        await pilot.pause()
        (slip,) = _saved_slips()
        assert slip.startswith("IN TRANSIT TO") and "For patron  P0002" in slip and "W04" in slip
        assert db_fingerprint(app.db) == before  # a slip changes nothing
        assert any("Slip for W04 saved to" in n.message for n in app._notifications)


async def test_return_items_prints_hold_slips_automatically_when_set(desk_app: AppFactory, monkeypatch) -> None:
    from libdesk import config, requests

    _no_printer(monkeypatch)
    app = desk_app("WID-CIRC")
    circulation.loan(app.db, "W05", "P0001", at="WID-CIRC", operator="circ")
    requests.place_request(app.db, "W05", "P0003", "WID-CIRC", operator="circ")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        screen = _return_screen(app)
        screen.action_toggle_auto_slips()  # the palette's "Print slips automatically: On"
        assert config.load_settings().auto_slips is True
        await pilot.press(*"W05", "enter")
        await pilot.pause()
        (slip,) = _saved_slips()
        assert slip.startswith("HOLD SHELF") and "P 0 0 0 3" in slip and "Pick up by" in slip
        assert "slip saved to" in screen.banner.item_line
        titles = [c.name for c in app.desk_commands(screen)]
        assert "Print slips automatically: Off" in titles and "Print the slip" in titles


async def test_ctrl_k_on_the_destination_pop_up_prints_the_slip(desk_app: AppFactory, monkeypatch) -> None:
    from libdesk import requests
    from screens.return_items import DestinationPopup

    _no_printer(monkeypatch)
    app = desk_app("WID-CIRC")
    circulation.loan(app.db, "W06", "P0001", at="WID-CIRC", operator="circ")
    requests.place_request(app.db, "W06", "P0002", "LAW-CIRC", operator="circ")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3", *"W06", "enter")
        await pilot.pause()
        assert isinstance(app.screen, DestinationPopup)
        await pilot.press("ctrl+k")
        await pilot.pause()
        assert not isinstance(app.screen, DestinationPopup)
        (slip,) = _saved_slips()
        assert slip.startswith("IN TRANSIT TO") and "L A N G D E L L" in slip
