"""Lists and bulk work (L1-L5, W16): search, in-process list, bulk actions, monitor facets,
pick list, exports read back cell by cell."""

from __future__ import annotations

import csv
import itertools
from collections import Counter
from datetime import datetime, timedelta

import openpyxl
import pytest
from sqlalchemy import text, update

from libdesk import circulation, clock, exporting, importing, queries, requests, scan, workorders
from libdesk.core import item_t
from libdesk.demo import load_demo
from libdesk.errors import InvalidInput
from libdesk.queries import InProcessFilter
from tests.conftest import FROZEN, db_fingerprint


# -- Physical Items search ---------------------------------------------------------------------

def test_search_exact_barcode_prefix_and_words(db):
    with db.write() as conn:
        conn.execute(update(item_t).where(item_t.c.barcode == "W01").values(title="Moby-Dick; or, The Whale",
                                                                              author="Melville, Herman"))
    assert [r["barcode"] for r in queries.search(db, "W01")] == ["W01"]
    assert [r["barcode"] for r in queries.search(db, "L0*")] == [f"L{n:02d}" for n in range(1, 10)]
    assert [r["barcode"] for r in queries.search(db, "whale melv")] == ["W01"]
    assert [r["barcode"] for r in queries.search(db, "MOBY")] == ["W01"]
    assert queries.search(db, "zebra") == []


def test_search_row_shows_process_like_alma(db):
    scan.scan_in(db, "W02", at="ITS625", operator="its", status="Cataloging")
    requests.place_request(db, "W02", "P0001", "WID-CIRC", operator="circ")
    (row,) = queries.search(db, "W02")
    assert row["process"] == "Technical Services Work Order (Cataloging)"
    assert row["department"] == "ITS625" and row["base_status"] == "Not in place" and row["requests"] == 2


def test_fts_index_follows_title_changes(db):
    with db.write() as conn:
        conn.execute(update(item_t).where(item_t.c.barcode == "W03").values(title="Gardens of Babylon"))
    assert [r["barcode"] for r in queries.search(db, "babylon")] == ["W03"]
    with db.write() as conn:
        conn.execute(update(item_t).where(item_t.c.barcode == "W03").values(title="Plain"))
    assert queries.search(db, "babylon") == []


def test_search_rejects_empty(db):
    with pytest.raises(InvalidInput):
        queries.search(db, "   ")


# -- Manage In Process Items (L1) -----------------------------------------------------------

def _fill_department(db, codes, statuses=("Assessment", "Repair")):
    for code, status in zip(codes, itertools.cycle(statuses)):
        scan.scan_in(db, code, at="CCWID", operator="cc", status=status)


@pytest.mark.parametrize("sort", ["barcode", "title", "call_number", "status", "since"])
def test_inprocess_keyset_pages_cover_every_row_once(db, sort):
    codes = [f"W{n:02d}" for n in range(1, 26)]
    for i, code in enumerate(codes):
        clock.freeze(FROZEN + timedelta(minutes=i % 4))
        scan.scan_in(db, code, at="CCWID", operator="cc", status=["Assessment", "Repair", "Pocket"][i % 3])
    flt = InProcessFilter("CCWID")
    seen, after = [], None
    while True:
        page = queries.inprocess_page(db, flt, sort=sort, after=after, limit=7)
        assert page.total == 25
        seen += [r["barcode"] for r in page.rows]
        if page.next_after is None:
            break
        after = page.next_after
    assert sorted(seen) == codes and len(seen) == 25
    assert seen == [r["barcode"] for r in queries.inprocess_all(db, flt, sort=sort, page_size=3)]


def test_inprocess_filters_days_expiry_overdue_and_requests(db):
    clock.freeze(FROZEN - timedelta(days=40))
    scan.scan_in(db, "W01", at="CCWID", operator="cc", status="Repair")   # 30 days: overdue now
    clock.freeze(FROZEN)
    _fill_department(db, ["W02", "W03", "L01"])
    requests.place_request(db, "W02", "P0001", "WID-CIRC", operator="circ")
    rows = {r["barcode"]: r for r in queries.inprocess_page(db, InProcessFilter("CCWID")).rows}
    assert rows["W01"]["days_in_department"] == 40 and rows["W01"]["overdue"] is True
    assert rows["W01"]["expiry"] == (FROZEN.date() - timedelta(days=10)).isoformat()
    assert rows["W02"]["overdue"] is False and rows["W02"]["requests"] == 1 and rows["W03"]["requests"] == 0
    only = lambda **kw: [r["barcode"] for r in queries.inprocess_page(db, InProcessFilter("CCWID", **kw)).rows]
    assert only(status="Repair") == ["W01", "W03"]
    assert only(library="LAW") == ["L01"]
    assert only(requested=True) == ["W02"]
    assert only(search="L0*") == ["L01"]
    assert only(search="W03") == ["W03"]


# -- bulk Change Status / Done (L2) -----------------------------------------------------------

def test_bulk_done_groups_destinations_and_reports_failures(db, monkeypatch):
    monkeypatch.setattr(workorders, "BULK_BATCH", 3)  # several batches
    _fill_department(db, ["W01", "W02", "W03", "W04", "L01", "R01"])
    requests.place_request(db, "W04", "P0002", "LAW-CIRC", operator="circ")
    result = workorders.bulk_done(db, "CCWID", ["W01", "W02", "W03", "W04", "L01", "R01", "W05", "nope"],
                                  operator="cc")
    assert result.groups == Counter({"WID-CIRC": 3, "LAW-CIRC": 2, "HD": 1})
    assert [code for code, _ in result.failures] == ["W05", "nope"]
    assert "3 → WID-CIRC" in result.message and "2 failed" in result.message
    assert queries.item_show(db, "W04")["transit_to"] == "LAW-CIRC"
    assert queries.item_show(db, "W05")["process_type"] is None
    done_events = [e for e in queries.item_history(db, "W01") if e["action"] == "work_order_done"]
    assert "bulk Done of 8 items" in done_events[0]["message"]


def test_bulk_done_all_matching_filters(db):
    _fill_department(db, ["W01", "W02", "W03", "W04"], statuses=("Repair", "Pocket"))
    barcodes = queries.inprocess_barcodes(db, InProcessFilter("CCWID", status="Repair"))
    assert barcodes == ["W01", "W03"]
    result = workorders.bulk_done(db, "CCWID", barcodes, operator="cc")
    assert result.done == 2 and queries.item_show(db, "W02")["department"] == "CCWID"


def test_bulk_change_status_and_wrong_status(db):
    _fill_department(db, ["W01", "W02"])
    before = db_fingerprint(db)
    with pytest.raises(InvalidInput):
        workorders.bulk_change_status(db, "CCWID", "Cataloging", ["W01", "W02"], operator="cc")
    assert db_fingerprint(db) == before
    result = workorders.bulk_change_status(db, "CCWID", "Rehousing", ["W01", "W02", "W03"], operator="cc")
    assert result.done == 2 and result.groups == Counter({"CCWID": 2}) and result.failures[0][0] == "W03"
    assert queries.item_show(db, "W02")["status"] == "Rehousing"


def test_bulk_failure_mid_batch_keeps_other_items_whole(db):
    _fill_department(db, ["W01", "W02", "W03"])
    scan.scan_in(db, "W02", at="CCWID", operator="cc", done=True)  # no longer in the department
    result = workorders.bulk_done(db, "CCWID", ["W01", "W02", "W03"], operator="cc")
    assert result.done == 2 and result.failures[0][0] == "W02"
    for code in ("W01", "W03"):
        item = queries.item_show(db, code)
        assert item["process_type"] == "transit" and item["requests"] == []


# -- Monitor (L3) -----------------------------------------------------------------------------

@pytest.fixture
def demo_db(tmp_path, inst):
    from libdesk.db import create_database

    database = create_database(tmp_path / "demo.db", inst)
    load_demo(database)
    assert clock.now() == FROZEN  # the demo puts the clock back as it found it
    yield database
    database.close()


def _brute_force_rows(db):
    today = clock.today()
    with db.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT r.kind, r.work_order_type, r.pickup, r.department, r.step, r.placed_at, r.active, "
            "i.library, i.material_type FROM request r JOIN item i ON i.id = r.item_id")).all()
    out = []
    for r in rows:
        if not r.active:
            continue
        placed = r.placed_at if not isinstance(r.placed_at, str) else __import__("datetime").datetime.fromisoformat(r.placed_at)
        age = (today - placed.date()).days
        bucket = "today" if age <= 0 else "last 7 days" if age <= 7 else "last 30 days" if age <= 30 else "older"
        out.append({"type": "patron" if r.kind == "patron" else r.work_order_type, "owner": r.library,
                    "pickup": r.pickup or r.department, "material_type": r.material_type, "step": r.step,
                    "requested": bucket})
    return out


@pytest.fixture(params=["sqlite-summary", "portable-group-by"])
def facet_path(request, monkeypatch):
    """Facet counts from SQLite's trigger-kept summary, and from the plain GROUP BY that other
    databases use: both must agree with a brute-force count."""
    if request.param == "portable-group-by":
        monkeypatch.setattr(queries, "has_fts", lambda engine: False)
    return request.param


@pytest.mark.parametrize("filters", [
    {}, {"type": "patron"}, {"owner": "LAW"}, {"type": "TS", "owner": "WID"}, {"step": "in_process"},
    {"requested": "older"}, {"pickup": "WID-CIRC", "material_type": "BOOK"}, {"type": "nothing"},
])
def test_monitor_facet_counts_match_brute_force(demo_db, facet_path, filters):
    data = queries.monitor(demo_db, filters, limit=1000)
    rows = [r for r in _brute_force_rows(demo_db) if all(r[k] == v for k, v in filters.items())]
    assert data["total"] == len(rows) == len(data["rows"])
    for facet in queries.MONITOR_FACETS:
        assert data["facets"][facet] == dict(Counter(r[facet] for r in rows)), facet


def test_monitor_pages_and_since(demo_db, facet_path):
    everything = queries.monitor(demo_db, limit=10_000)["rows"]
    assert [r["id"] for r in queries.monitor_all(demo_db, page_size=9)] == [r["id"] for r in everything]
    since = FROZEN.date() - timedelta(days=2)
    recent = queries.monitor(demo_db, since=since, limit=10_000)
    assert recent["rows"] and all(r["placed"] >= since.isoformat() for r in recent["rows"])
    assert recent["total"] < len(everything)


def test_monitor_actions_cancel_edit_expiry_audit_trail(db):
    wo = workorders.place_work_order(db, "W01", "TS", "ITS625", operator="its").extra["request"]["id"]
    requests.edit(db, wo, operator="its", note="duplicate?", department="JUD")
    requests.set_expiry(db, wo, "2026-05-01", operator="jud")
    requests.cancel(db, wo, operator="jud")
    trail = [e["action"] for e in requests.audit_trail(db, wo)]
    assert trail == ["request_placed", "request_step", "request_edited", "request_expiry", "request_cancelled"]
    with pytest.raises(InvalidInput, match="same type"):
        wo2 = workorders.place_work_order(db, "W02", "TS", "ITS625", operator="its").extra["request"]["id"]
        requests.edit(db, wo2, operator="its", department="CCWID")


# -- Pick list (L5) ----------------------------------------------------------------------------

def test_picklist_in_shelf_order_with_remote_separate(db):
    for code in ("W09", "W03", "W05"):
        workorders.place_work_order(db, code, "TS", "ITS625", operator="its")
    requests.place_request(db, "W07", "P0001", "LAW-CIRC", operator="circ")
    requests.place_request(db, "R01", "P0002", "WID-CIRC", operator="circ")
    requests.place_request(db, "L01", "P0003", "LAW-CIRC", operator="circ")
    circulation.loan(db, "W11", "P0004", at="WID-CIRC", operator="circ")
    requests.place_request(db, "W11", "P0005", "WID-CIRC", operator="circ")  # on loan: not on the pick list
    picks = circulation.picklist(db, "WID")
    shelf = [p["barcode"] for p in picks["pick_from_shelf"]]
    assert shelf == ["W03", "W05", "W07", "W09"]
    assert [p["call_number"] for p in picks["pick_from_shelf"]] == sorted(p["call_number"] for p in picks["pick_from_shelf"])
    assert [p["barcode"] for p in picks["waiting_for_remote_storage"]] == ["R01"]
    assert [p["barcode"] for p in circulation.picklist(db, "LAW")["pick_from_shelf"]] == ["L01"]


# -- Exports (L4) -------------------------------------------------------------------------------

COLUMNS = [("barcode", "Barcode"), ("title", "Title"), ("n", "Count"), ("flag", "Flag"), ("empty", "Empty")]
ROWS = [
    {"barcode": "X1", "title": "=HYPERLINK(\"http://evil\")", "n": 3, "flag": True, "empty": None},
    {"barcode": "X2", "title": "+1+1", "n": 0, "flag": False, "empty": None},
    {"barcode": "X3", "title": "-2", "n": 12, "flag": False, "empty": None},
    {"barcode": "X4", "title": "@SUM(A1)", "n": 1, "flag": True, "empty": None},
    {"barcode": "X5", "title": "Ünïcode, \"quoted\"\nnewline", "n": 5, "flag": False, "empty": None},
]


def test_csv_export_reads_back_with_inert_formulas(tmp_path):
    path = tmp_path / "out.csv"
    result = exporting.export_rows(path, COLUMNS, ROWS)
    assert result == {"path": str(path), "format": "csv", "rows": 5}
    with open(path, newline="", encoding="utf-8") as fh:
        table = list(csv.reader(fh))
    assert table[0] == ["Barcode", "Title", "Count", "Flag", "Empty"]
    expected = [[r["barcode"], exporting.inert(r["title"]), str(r["n"]), "yes" if r["flag"] else "no", ""] for r in ROWS]
    assert table[1:] == expected
    assert all(not row[1].startswith(("=", "+", "-", "@")) for row in table[1:])


def test_xlsx_export_reads_back_cell_by_cell(tmp_path):
    path = tmp_path / "out.xlsx"
    exporting.export_rows(path, COLUMNS, ROWS)
    sheet = openpyxl.load_workbook(path).active
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert cells[0] == ["Barcode", "Title", "Count", "Flag", "Empty"]
    assert cells[1:] == [[r["barcode"], r["title"], r["n"], "yes" if r["flag"] else "no", None] for r in ROWS]
    for row in sheet.iter_rows(min_row=2):
        assert row[1].data_type == "s"  # text, never a formula


def test_export_of_list_equals_list_shown(db, tmp_path):
    _fill_department(db, [f"W{n:02d}" for n in range(1, 12)])
    shown = list(queries.inprocess_all(db, InProcessFilter("CCWID")))
    exporting.export_rows(tmp_path / "ip.xlsx", queries.INPROCESS_COLUMNS, queries.inprocess_all(db, InProcessFilter("CCWID")))
    sheet = openpyxl.load_workbook(tmp_path / "ip.xlsx").active
    got = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    keys = [k for k, _ in queries.INPROCESS_COLUMNS]
    def cell(key, value):  # as a spreadsheet reads it back: dates are date cells (issue 12 item 8)
        if isinstance(value, bool):
            return "yes" if value else "no"
        if key in exporting.DATE_KEYS and value:
            return datetime.fromisoformat(value)
        return value

    want = [[cell(k, r[k]) for k in keys] for r in shown]
    assert got == want


@pytest.mark.parametrize("target", ["missing-dir/out.csv", "out.txt", "."])
def test_export_to_unusable_path_is_a_clear_error_and_leaves_nothing(tmp_path, target):
    path = tmp_path / target
    with pytest.raises(InvalidInput):
        exporting.export_rows(path, COLUMNS, ROWS)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_export_into_a_file_used_as_folder(tmp_path):
    (tmp_path / "plain").write_text("x")
    with pytest.raises(InvalidInput, match="is a file, not a folder"):
        exporting.export_rows(tmp_path / "plain" / "out.csv", COLUMNS, ROWS)


# -- import loans and patrons ----------------------------------------------------------------

def test_import_loans_all_or_nothing(db, tmp_path):
    good = tmp_path / "loans.csv"
    good.write_text("barcode,patron,due\nW01,P0001,2026-04-01\nW02,P0002,\n", encoding="utf-8")
    assert importing.import_loans(db, good, operator="admin")["imported"] == 2
    assert queries.item_show(db, "W01")["loan"] == {"patron": "P0001", "due": "2026-04-01"}
    assert queries.item_show(db, "W02")["loan"]["due"] == (FROZEN.date() + timedelta(days=28)).isoformat()
    assert queries.item_history(db, "W01")[-1]["action"] == "loan"
    bad = tmp_path / "bad.csv"
    bad.write_text("barcode,patron\nW03,P0001\nW01,P0003\n", encoding="utf-8")
    before = db_fingerprint(db)
    with pytest.raises(InvalidInput, match="line 3, column barcode: item 'W01' is not In place"):
        importing.import_loans(db, bad, operator="admin")
    bad.write_text("barcode,patron\nW03,NOBODY\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="line 2, column patron"):
        importing.import_loans(db, bad, operator="admin")
    assert db_fingerprint(db) == before


def test_import_patrons(db, tmp_path):
    path = tmp_path / "patrons.csv"
    path.write_text("id,name\nX100,Ada\nX101,Grace\n", encoding="utf-8")
    assert importing.import_patrons(db, path, operator="admin")["imported"] == 2
    requests.place_request(db, "W01", "X100", "WID-CIRC", operator="circ")
    with pytest.raises(InvalidInput, match="already exists"):
        importing.import_patrons(db, path, operator="admin")
