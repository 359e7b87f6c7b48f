"""Monitor Requests & Item Processes: facets with counts, row actions, export."""

from __future__ import annotations

import csv
from pathlib import Path

from textual.widgets import Button, DataTable, Input, Select

from libdesk import queries, requests
from libdesk.queries import MONITOR_COLUMNS
from screens.item_detail import ItemDetailScreen
from screens.item_dialogs import (
    ConfirmDialog,
    EventsDialog,
    PromptDialog,
    RequestEditDialog,
)
from screens.monitor import MonitorScreen
from screens.widgets.facet_list import option_id
from tests.screens.lists_fixtures import SIZE, list_app, list_db, settle

__all__ = ["list_db"]  # a fixture


def _read_csv(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


async def _open(pilot) -> MonitorScreen:  # type: ignore[no-untyped-def]
    await pilot.press("f7")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, MonitorScreen)
    return screen


async def _choose_facet(pilot, screen: MonitorScreen, facet: str, value: str) -> None:  # type: ignore[no-untyped-def]
    facets = screen.facet_list
    facets.focus()
    facets.highlighted = facets.get_option_index(option_id(facet, value))
    await pilot.press("enter")
    await settle(pilot)


async def _on_row(pilot, screen: MonitorScreen, barcode: str) -> int:  # type: ignore[no-untyped-def]
    """Put the cursor on the (first) request of ``barcode``; its id."""
    key = next(k for k, row in screen.rows.items() if row["barcode"] == barcode)
    screen.table.focus()
    screen.move_to_key(screen.table, key)
    await pilot.pause()
    return int(key)


async def test_facet_choice_narrows_rows_and_every_count(list_db) -> None:
    """L3: choosing Patron request narrows the list and the other facets' counts to it;
    choosing it again widens back."""
    app = list_app(list_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        everything = queries.monitor(app.db)
        assert screen.total == everything["total"] == 14
        assert screen.facets["type"]["patron"] == 4
        await _choose_facet(pilot, screen, "type", "patron")
        narrowed = queries.monitor(app.db, {"type": "patron"})
        assert screen.filters == {"type": "patron"}
        assert screen.total == 4 and {row["type"] for row in screen.rows.values()} == {"patron"}
        assert screen.facets == narrowed["facets"]
        assert sum(screen.facets["owner"].values()) == 4
        assert screen.facets["pickup"] == {"WID-CIRC": 3, "LAW-CIRC": 1}
        await _choose_facet(pilot, screen, "pickup", "LAW-CIRC")
        assert [row["barcode"] for row in screen.rows.values()] == ["W10"]
        await _choose_facet(pilot, screen, "type", "patron")  # again: widens back on that facet
        assert screen.filters == {"pickup": "LAW-CIRC"}
        assert screen.total == 1


async def test_cancel_from_the_monitor_follows_q5(list_db) -> None:
    """Del on a Pickup From Shelf work order: the Q5 explanation, then the request is gone."""
    app = list_app(list_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        request_id = await _on_row(pilot, screen, "W09")
        await pilot.press("delete")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog)
        assert "Pickup From Shelf" in str(dialog.query_one(".dialog-body").render())
        dialog.query_one("#yes", Button).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert str(request_id) not in screen.rows
        assert queries.item_show(app.db, "W09")["requests"] == []
        assert screen.total == 13


async def test_edit_moves_a_work_order_to_another_department_of_its_type(list_db) -> None:
    """ctrl+y: the note and a department of the same type only."""
    app = list_app(list_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        request_id = await _on_row(pilot, screen, "W09")
        await pilot.press("ctrl+y")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, RequestEditDialog)
        departments = dialog.query_one("#edit-department", Select)
        assert {value for _, value in departments._options} == {"ITS625", "ITSLAW", "JUD"}
        departments.value = "JUD"
        dialog.query_one("#edit-note", Input).value = "for Judaica"
        await pilot.press("ctrl+s")
        await settle(pilot)
        req = next(r for r in requests.list_requests(app.db, "W09") if r["id"] == request_id)
        assert (req["department"], req["note"]) == ("JUD", "for Judaica")
        assert screen.rows[str(request_id)]["pickup"] == "JUD"


async def test_update_expiry_and_audit_trail(list_db) -> None:
    """ctrl+e sets the expiry; ctrl+t shows the audit trail with that change in it (Q6)."""
    app = list_app(list_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        request_id = await _on_row(pilot, screen, "W03")
        await pilot.press("ctrl+e")
        await pilot.pause()
        assert isinstance(app.screen, PromptDialog)
        app.screen.query_one("#answer", Input).value = "2026-05-01"
        await pilot.press("enter")
        await settle(pilot)
        assert screen.rows[str(request_id)]["expiry"] == "2026-05-01"
        await pilot.press("ctrl+t")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, EventsDialog)
        table = dialog.query_one(DataTable)
        actions = [str(table.get_row(k)[3]) for k in table.rows]
        assert actions[0] == "Request placed" and actions[-1] == "Request expiry"
        assert len(actions) == len(requests.audit_trail(app.db, request_id))
        await pilot.press("escape")
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert isinstance(app.screen, ItemDetailScreen) and app.screen.barcode == "W03"


async def test_export_writes_the_narrowed_list(list_db, tmp_path: Path) -> None:
    """L4: ctrl+s exports exactly the rows the facets leave, with the list's columns."""
    app = list_app(list_db)
    target = tmp_path / "monitor.csv"
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        await _choose_facet(pilot, screen, "type", "PRES")
        await pilot.press("ctrl+s")
        await pilot.pause()
        app.screen.query_one("#answer", Input).value = str(target)
        await pilot.press("enter")
        await settle(pilot)
        assert screen.result_line.kind == "ok"
        shown = [row["id"] for row in screen.rows.values()]
    rows = _read_csv(target)
    assert rows[0] == [header for _, header in MONITOR_COLUMNS]
    assert [int(row[0]) for row in rows[1:]] == shown
    assert {row[1] for row in rows[1:]} == {"PRES"}


class TestMonitorSnapshots:
    def test_everything_with_facet_counts(self, list_db, snap_compare) -> None:
        """Every active request, the facets with their counts."""
        async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
            await _open(pilot)

        assert snap_compare(list_app(list_db), terminal_size=SIZE, run_before=run_before)

    def test_narrowed_to_patron_requests(self, list_db, snap_compare) -> None:
        """Patron requests chosen: the facet ticked, every count narrowed."""
        async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
            screen = await _open(pilot)
            await _choose_facet(pilot, screen, "type", "patron")

        assert snap_compare(list_app(list_db), terminal_size=SIZE, run_before=run_before)
