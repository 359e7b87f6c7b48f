"""The benchmark suite runs end to end at a tiny size (CI never times anything)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_benchmark_suite_runs_at_smoke_size(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--smoke", "--workdir",
                           str(tmp_path / "work"), "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    results = json.loads(out.read_text())
    for key in ("scan", "bulk_done", "import", "xlsx_export", "search", "inprocess_first_page", "monitor_facets",
                "scan_session_rss_mb", "dataset", "table"):
        assert key in results
    assert results["bulk_done"]["items"] > 0 and results["import"]["items"] == 3000
    assert "Scan In p99" in proc.stdout
    # issue 16: repeated measures (median and spread, CPU beside wall clock), two raw baselines,
    # a row for every scan kind
    bulk = results["bulk_done"]
    assert set(bulk) >= {"libdesk", "raw_minimal", "raw_same", "ratio_minimal", "cpu_ratio_minimal"}
    assert bulk["libdesk"]["wall_s"]["n"] >= 3 and bulk["libdesk"]["cpu_s"]["median"] > 0
    kinds = results["scan_kinds"]
    assert {"status_move", "done_routed", "arrival_in_transit"} <= set(kinds)
    assert set(kinds["status_move"]) >= {"libdesk", "raw_minimal", "raw_same", "ratio_p99_minimal"}
    for kind in kinds.values():
        assert kind["libdesk"]["p99_ms"]["n"] >= 3 and kind["raw_minimal"]["cpu_ms_per_scan"]["median"] > 0
    for row in ("Done, routed", "arrival", "return w/ queue", "bulk Done"):
        assert row in proc.stdout


def test_postgres_search_benchmark_runs_at_smoke_size(tmp_path):
    from tests.conftest import postgres_admin_url

    url = postgres_admin_url()  # skips without a server
    out = tmp_path / "pg.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "postgres_search.py"), "--url", url,
                           "--items", "2000", "--searches", "5", "--before-searches", "2", "--workdir",
                           str(tmp_path / "work"), "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    results = json.loads(out.read_text())
    assert results["items"] == 2000 and results["active_requests"] == 400
    for key in ("search_p50_ms", "before_like_p50_ms", "miss_p50_ms", "monitor_facets_p50_ms"):
        assert results[key] > 0


def test_postgres_bulk_benchmark_runs_at_smoke_size(tmp_path):
    from tests.conftest import postgres_admin_url

    url = postgres_admin_url()  # skips without a server
    out = tmp_path / "pg-bulk.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "postgres_bulk.py"), "--url", url,
                           "--items", "20", "--repeats", "3", "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    results = json.loads(out.read_text())
    assert results["items"] == 20
    for way in ("set_based", "one_by_one"):
        assert results[way]["wall_s"]["n"] == 3 and results[way]["cpu_s"]["median"] > 0


def test_desks_benchmark_runs_at_quick_size(tmp_path):
    """benchmarks/desks.py (issue 11): every scenario runs, each desk in its own process; on
    SQLite only here (the PostgreSQL half needs --url; its code path is the same)."""
    out = tmp_path / "desks.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "desks.py"), "--quick", "--sqlite-only",
                           "--workdir", str(tmp_path / "work"), "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    results = json.loads(out.read_text())["sqlite"]
    assert set(results) == {"desks", "wal", "bulk_while_scanning", "import_while_scanning"}
    (bulk,) = results["bulk_while_scanning"].values()
    assert bulk["bulk"]["done"] == 100 and bulk["desk"]["scans"] > 0
    assert results["import_while_scanning"]["import"]["rows"] == 300
    assert sorted(results["desks"]) == ["1", "2"] and results["wal"]["scans"] > 0
    assert "a. bulk Done" in proc.stdout


def test_app_latency_startup_runs(tmp_path):
    """benchmarks/app_latency.py's start-up half (issue 12 item 4): the real command, the
    minimal app and the minimal app with the database layer all reach a drawn screen on a
    pseudo-terminal and quit on ctrl+q."""
    from libdesk import demo, institution
    from libdesk.db import create_database

    db_path = tmp_path / "demo.db"
    db = create_database(str(db_path), institution.load_file(institution.demo_path()))
    demo.load_demo(db)
    db.close()
    out = tmp_path / "app.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "app_latency.py"), "--startup-only",
                           "--startups", "1", "--db", str(db_path), "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    results = json.loads(out.read_text())
    assert results["startup_ratio"] > 0
    assert set(results["startup_s"]) == {"libdesk", "minimal", "minimal + database layer"}
    assert results["startup_ratio_database_layer"] > 0
    assert "start-up ratio" in proc.stdout
