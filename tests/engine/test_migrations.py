"""Schema migrations (Alembic) and moving a database (issue 11, items 1 and 3).

- The database file committed in ``tests/fixtures/schema3-demo.db`` was made by the release
  before Alembic (``libdesk init --demo`` at schema 3, commit 2f825f5): opening it keeps every
  row and every history event, and leaves the same schema a new database has.
- Two desks opening an old database at the same moment both succeed (SQLite and PostgreSQL).
- A failed upgrade changes nothing; a database from a newer libdesk is refused unchanged.
- ``libdesk db copy`` moves every row and event to a new database (SQLite or PostgreSQL) and
  the desk carries on there.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, text

from libdesk import circulation, migrations, queries, scan
from libdesk.db import Database, create_database, open_database
from libdesk.errors import ConfigError
from libdesk.institution import Institution
from libdesk.models import SCHEMA_VERSION
from libdesk.transfer import event_digest
from tests.conftest import db_fingerprint, make_db

FIXTURE = Path(__file__).parent.parent / "fixtures" / "schema3-demo.db"


def schema_of(engine: Any) -> dict[str, Any]:
    """Tables with their columns (name, type, nullable), indexes and, on SQLite, triggers and
    virtual tables: what two databases must agree on to be the same schema."""
    insp = inspect(engine)
    out: dict[str, Any] = {}
    for table in sorted(insp.get_table_names()):
        columns = sorted((c["name"], str(c["type"]).split("(")[0], bool(c["nullable"])) for c in insp.get_columns(table))
        indexes = sorted((i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in insp.get_indexes(table))
        out[table] = (columns, indexes)
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            out["sqlite_master"] = sorted(conn.execute(text(
                "SELECT type, name FROM sqlite_master WHERE type IN ('trigger', 'table') AND name NOT LIKE 'sqlite_%'")).all())
    return out


def fresh_schema(url: str, inst: Institution) -> dict[str, Any]:
    db = create_database(url, inst)
    try:
        return schema_of(db.engine)
    finally:
        db.close()


def rows_by_table(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    con = sqlite3.connect(path)
    try:
        names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'item_fts%'")]
        return {name: con.execute(f'SELECT * FROM "{name}" ORDER BY 1').fetchall() for name in names}
    finally:
        con.close()


def test_the_migration_files_end_at_this_libdesks_schema() -> None:
    assert migrations.HEAD == f"{SCHEMA_VERSION:04d}"
    assert migrations.script_head() == migrations.HEAD
    for path in migrations.VERSIONS.glob("[0-9]*.py"):
        assert f'revision = "{path.name[:4]}"' in path.read_text(encoding="utf-8"), path.name


def test_the_schema_3_file_of_the_last_release_keeps_every_row_and_event(tmp_path: Path, inst: Institution) -> None:
    path = tmp_path / "desk.db"
    shutil.copy(FIXTURE, path)
    before = rows_by_table(path)
    assert len(before["event"]) > 500 and len(before["borrowingrequest"]) > 10  # a real day's data
    db = open_database(path)
    try:
        with db.engine.connect() as conn:
            assert migrations.up_to_date(conn)
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == migrations.HEAD
        after = rows_by_table(path)
        for table, rows in before.items():
            if table == "meta":
                continue
            # Every row is still there with the values it had (new columns may follow them),
            # and nothing else but the upgrade's own history event.
            width = len(rows[0]) if rows else 0
            kept = sorted(row[:width] for row in after[table])
            if table == "event":
                assert kept[:len(rows)] == sorted(rows)
                assert all(r[4] == "schema_upgraded" for r in after["event"][len(rows):])
            else:
                assert kept == sorted(rows), table
        assert schema_of(db.engine) == fresh_schema(str(tmp_path / "new.db"), inst)
        # And the desk carries on: a scan, a word search, the Monitor.
        scan.scan_in(db, "32044000000001", at="CCWID", operator="cc", status="Repair")
        assert queries.item_show(db, "32044000000001")["department"] == "CCWID"
        assert "32044000000016" in [r["barcode"] for r in queries.search(db, "yiddish")], "the word index survived"
        assert queries.monitor(db, {})["total"] > 0
    finally:
        db.close()


def _make_schema_1(db: Database) -> None:
    """Turn a new database back into one the first release made (before Alembic)."""
    with db.engine.begin() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            for trigger in ("request_facets_ai", "request_facets_ad", "request_facets_au"):
                conn.exec_driver_sql(f"DROP TRIGGER {trigger}")
            conn.exec_driver_sql("DROP TABLE request_facets")
        for table in ("borrowingmessage", "borrowingrequest", "alembic_version"):
            conn.exec_driver_sql(f"DROP TABLE {table}")
        conn.exec_driver_sql("DROP INDEX ix_request_monitor")
        conn.exec_driver_sql("DROP INDEX ix_event_borrowing_id")
        for table, column in (("request", "owner"), ("request", "material_type"), ("item", "borrowing_id"),
                              ("event", "borrowing_id")):
            conn.exec_driver_sql(f"ALTER TABLE {table} DROP COLUMN {column}")
        conn.exec_driver_sql("UPDATE meta SET value = '1' WHERE key = 'schema_version'")


@pytest.fixture(params=["sqlite", "postgres"])
def old_url(request: pytest.FixtureRequest, tmp_path: Path, inst: Institution) -> Any:
    """The URL of a seeded database as the first release left it."""
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
    else:
        url = str(tmp_path / "old.db")
    db = make_db(url, inst)
    circulation.loan(db, "L01", "P0001", at="LAW-CIRC", operator="circ")
    _make_schema_1(db)
    db.close()
    return url


def test_two_desks_opening_an_old_database_at_once_both_succeed(old_url: str, tmp_path: Path,
                                                                  inst: Institution) -> None:
    barrier = threading.Barrier(2)
    opened: list[Database] = []
    failed: list[BaseException] = []

    def desk() -> None:
        barrier.wait()
        try:
            opened.append(open_database(old_url))
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            failed.append(exc)

    threads = [threading.Thread(target=desk) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failed == [] and len(opened) == 2
    db = opened[0]
    try:
        with db.read() as conn:
            upgrades = conn.execute(text("SELECT message FROM event WHERE action = 'schema_upgraded'")).scalars().all()
            owners = conn.execute(text("SELECT count(*) FROM request WHERE owner IS NULL")).scalar_one()
        assert upgrades == [f"Schema upgraded from 1 to {SCHEMA_VERSION}"], "one desk upgraded, the other waited"
        assert owners == 0  # schema 2's backfill ran
        # Both desks work on the upgraded database at once.
        circulation.return_item(opened[1], "L01", at="LAW-CIRC", operator="circ")
        assert queries.item_show(db, "L01")["process_type"] is None
        fresh = str(tmp_path / "fresh.db") if db.engine.dialect.name == "sqlite" else None
        if fresh is not None:
            assert schema_of(db.engine) == fresh_schema(fresh, inst)
    finally:
        for d in opened:
            d.close()


def test_a_failed_upgrade_changes_nothing(old_url: str) -> None:
    engine = create_engine(old_url if "://" in old_url else f"sqlite:///{old_url}")
    with engine.begin() as conn:  # something in the way of schema 3's index
        conn.exec_driver_sql("CREATE TABLE blocker (x INTEGER)")
        conn.exec_driver_sql("CREATE INDEX ix_borrowingrequest_patron ON blocker (x)")
    engine.dispose()
    before = open_database(old_url, upgrade=False)
    fingerprint = db_fingerprint(before)
    before.close()
    with pytest.raises(ConfigError, match="upgrade from 0001 to .* failed and was undone"):
        open_database(old_url)
    after = open_database(old_url, upgrade=False)
    try:
        assert db_fingerprint(after) == fingerprint
        with after.engine.connect() as conn:
            assert migrations.current(conn) == "0001"
            assert not conn.dialect.has_table(conn, "alembic_version")
            assert "owner" not in {c["name"] for c in inspect(conn).get_columns("request")}
    finally:
        after.close()


def test_a_database_from_a_newer_libdesk_is_refused_and_left_alone(tmp_path: Path, inst: Institution) -> None:
    path = tmp_path / "newer.db"
    db = make_db(path, inst)
    with db.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0099'")
    fingerprint = db_fingerprint(db)
    db.close()
    with pytest.raises(ConfigError, match="made by a newer libdesk"):
        open_database(path)
    con = sqlite3.connect(path)
    assert con.execute("SELECT version_num FROM alembic_version").fetchone() == ("0099",)
    con.close()
    again = Database.__new__(Database)  # fingerprint without opening through libdesk
    again.engine = create_engine(f"sqlite:///{path}")
    assert db_fingerprint(again) == fingerprint
    again.engine.dispose()


# -- db copy ----------------------------------------------------------------------------------

@pytest.fixture(params=["sqlite", "postgres"])
def target_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_url"))
    return str(tmp_path / "copy.db")


def test_db_copy_moves_every_row_and_event_and_the_desk_carries_on(tmp_path: Path, target_url: str) -> None:
    from libdesk import transfer

    path = tmp_path / "desk.db"
    shutil.copy(FIXTURE, path)
    source = open_database(path)
    try:
        result = transfer.copy_database(source, target_url, operator="admin")
        with source.read() as conn:
            digest = event_digest(conn)
            counts = {t.name: conn.execute(text(f'SELECT count(*) FROM "{t.name}"')).scalar_one()
                      for t in transfer.copied_tables()}
    finally:
        source.close()
    assert result["verified"] and result["rows"] == counts and result["events_digest"] == digest
    target = open_database(target_url)
    try:
        with target.read() as conn:
            copied = {t.name: conn.execute(text(f'SELECT count(*) FROM "{t.name}"')).scalar_one()
                      for t in transfer.copied_tables()}
            moved = conn.execute(text("SELECT operator, message FROM event WHERE action = 'database_copied'")).all()
            old_events = conn.execute(text("SELECT count(*) FROM event WHERE action <> 'database_copied'")).scalar_one()
        assert copied == {**counts, "event": counts["event"] + 1}
        assert old_events == counts["event"]
        assert moved[0][0] == "admin" and str(path) in moved[0][1]
        # New rows get new ids (PostgreSQL's sequences continue after the copied ids); words index.
        scan.scan_in(target, "32044000000001", at="CCWID", operator="cc", status="Repair")
        assert queries.item_show(target, "32044000000001")["department"] == "CCWID"
        assert "32044000000016" in [r["barcode"] for r in queries.search(target, "yiddish")]
    finally:
        target.close()


def test_db_copy_refuses_a_target_already_set_up_and_changes_neither(tmp_path: Path, inst: Institution) -> None:
    from libdesk import transfer

    source = make_db(tmp_path / "a.db", inst)
    other = make_db(tmp_path / "b.db", inst)
    scan.scan_in(other, "W01", at="CCWID", operator="cc", status="Repair")
    prints = db_fingerprint(source), db_fingerprint(other)
    with pytest.raises(ConfigError, match="already set up"):
        transfer.copy_database(source, str(tmp_path / "b.db"), operator="admin")
    with pytest.raises(ConfigError, match="being copied"):
        transfer.copy_database(source, str(tmp_path / "a.db"), operator="admin")
    assert (db_fingerprint(source), db_fingerprint(other)) == prints
    source.close()
    other.close()


def test_db_commands_from_the_shell(tmp_path: Path) -> None:
    """``libdesk db current|upgrade|copy`` as a script would run them."""
    import json

    path = tmp_path / "desk.db"
    shutil.copy(FIXTURE, path)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "libdesk.cli", "--db", str(path), *args, "--json"],
                              capture_output=True, text=True, timeout=120)

    current = run("db", "current")
    assert current.returncode == 0, current.stderr
    assert json.loads(current.stdout)["up_to_date"] is False  # made before Alembic: not stamped yet
    upgraded = run("db", "upgrade")
    assert upgraded.returncode == 0 and json.loads(upgraded.stdout)["to"] == migrations.HEAD
    assert json.loads(run("db", "current").stdout)["up_to_date"] is True
    copied = run("db", "copy", "--to", str(tmp_path / "moved.db"))
    assert copied.returncode == 0, copied.stderr
    assert json.loads(copied.stdout)["rows"]["event"] >= 558
    again = run("db", "copy", "--to", str(tmp_path / "moved.db"))
    assert again.returncode == 1 and len(again.stderr.strip().splitlines()) == 1
    assert "already set up" in again.stderr


def test_a_postgres_database_of_schema_3_gets_its_word_index(postgres_url: str, inst: Institution) -> None:
    """Schema 4: a PostgreSQL database made before the word index (search was LIKE then) gets
    the column and index on open, and search finds by word right away."""
    db = make_db(postgres_url, inst)
    with db.engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_item_words")
        conn.exec_driver_sql("ALTER TABLE item DROP COLUMN search_words")
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0003'")
        conn.exec_driver_sql("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    db.close()
    upgraded = open_database(postgres_url)
    try:
        with upgraded.read() as conn:
            assert migrations.up_to_date(conn)
            assert "search_words" in {c["name"] for c in inspect(conn).get_columns("item")}
        assert [r["barcode"] for r in queries.search(upgraded, "W05")] == ["W05"]
        assert "W05" in [r["barcode"] for r in queries.search(upgraded, "title", limit=100)]
    finally:
        upgraded.close()
