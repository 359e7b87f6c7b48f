"""Database failures become one clear user error, classified by the driver's error codes
(SQLite's result codes, PostgreSQL's SQLSTATE), never by the wording of a message: real locks,
a real deadlock, a real lock timeout, a server that is not there, a database that is not there."""

from __future__ import annotations

import socket
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from libdesk import db as db_mod
from libdesk import queries, scan
from libdesk.db import Database, create_database, is_retryable_conflict, open_database
from libdesk.errors import (
    ConcurrentChange,
    ConfigError,
    DatabaseBusy,
    DatabaseConflict,
    DatabaseUnreachable,
    DatabaseUnusable,
)
from tests.conftest import make_db


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now: a connect is refused
    return port


# -- SQLite -------------------------------------------------------------------------------------

def test_sqlite_write_lock_held_by_another_connection_is_busy(tmp_path: Path, inst, monkeypatch) -> None:
    monkeypatch.setattr(db_mod, "BUSY_TIMEOUT_MS", 50)  # do not wait the desk's 10 s here
    database = make_db(tmp_path / "desk.db", inst)
    other = sqlite3.connect(tmp_path / "desk.db", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another desk's write transaction
        with pytest.raises(DatabaseBusy, match="busy") as err:
            scan.scan_in(database, "W01", at="CCWID", operator="cc", status="Pocket")
        assert err.value.kind == "busy" and "desk.db" in err.value.message
        other.execute("ROLLBACK")
        assert scan.scan_in(database, "W01", at="CCWID", operator="cc", status="Pocket").destination == "CCWID"
    finally:
        other.close()
        database.close()


def test_a_message_that_merely_contains_locked_is_not_busy(sqlite_db) -> None:
    # "blocked" contains "locked": the old substring classifier called this "busy".
    with pytest.raises(OperationalError) as err:
        with sqlite_db.read() as conn:
            conn.execute(text("SELECT * FROM blocked_items"))
    assert "blocked" in str(err.value)
    assert db_mod.classify_db_error(err.value, sqlite_db.url) is None


def test_sqlite_read_only_database_says_so(tmp_path: Path, inst) -> None:
    make_db(tmp_path / "desk.db", inst).close()
    url = f"sqlite:///file:{tmp_path / 'desk.db'}?mode=ro&uri=true"  # SQLite itself refuses writes
    database = Database(url, db_mod.make_engine(url), inst)
    try:
        with pytest.raises(DatabaseUnusable, match="read-only"):
            scan.scan_in(database, "W01", at="CCWID", operator="cc", status="Pocket")
    finally:
        database.close()


def test_sqlite_file_that_is_not_a_database(tmp_path: Path) -> None:
    notes = tmp_path / "notes.db"
    notes.write_text("shopping list\n" * 200)
    with pytest.raises(ConfigError, match="not a libdesk database") as err:
        open_database(notes)
    assert "notes.db" in err.value.message


# -- PostgreSQL ---------------------------------------------------------------------------------

def test_postgres_deadlock_is_a_conflict_to_retry(postgres_url: str, inst) -> None:
    database = create_database(postgres_url, inst)
    try:
        with database.write() as conn:
            conn.execute(text("CREATE TABLE pair (id int PRIMARY KEY, n int)"))
            conn.execute(text("INSERT INTO pair VALUES (1, 0), (2, 0)"))
        both_locked_one = threading.Barrier(2, timeout=30)
        outcomes: list[BaseException | None] = [None, None]

        def desk(slot: int, first: int, second: int) -> None:
            try:
                with database.write() as conn:
                    conn.execute(text("SET LOCAL deadlock_timeout = '50ms'"))
                    conn.execute(text("UPDATE pair SET n = n + 1 WHERE id = :id"), {"id": first})
                    both_locked_one.wait()
                    conn.execute(text("UPDATE pair SET n = n + 1 WHERE id = :id"), {"id": second})
            except BaseException as exc:  # noqa: BLE001 - asserted below
                outcomes[slot] = exc

        threads = [threading.Thread(target=desk, args=(0, 1, 2)), threading.Thread(target=desk, args=(1, 2, 1))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        failed = [o for o in outcomes if o is not None]
        assert len(failed) == 1, outcomes  # PostgreSQL breaks the cycle by failing one of the two
        assert isinstance(failed[0], DatabaseConflict) and isinstance(failed[0], ConcurrentChange)
        assert "deadlock" in failed[0].message and "busy" not in failed[0].message
        assert is_retryable_conflict(failed[0])
        with database.read() as conn:  # the winner's two updates, nothing of the loser's
            assert conn.execute(text("SELECT sum(n) FROM pair")).scalar_one() == 2
    finally:
        database.close()


def test_postgres_raw_deadlock_error_is_retryable(postgres_url: str, inst) -> None:
    database = create_database(postgres_url, inst)
    try:
        with pytest.raises(OperationalError) as err:  # the driver's own error, as SQLAlchemy raises it
            with database.engine.connect() as conn:
                conn.execute(text("DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '40001'; END $$"))
        assert is_retryable_conflict(err.value)
        assert not is_retryable_conflict(ValueError("deadlock"))
    finally:
        database.close()


def test_postgres_lock_timeout_is_busy(postgres_url: str, inst) -> None:
    database = make_db(postgres_url, inst)  # type: ignore[arg-type]
    holder = database.engine.connect()
    try:
        tx = holder.begin()
        holder.execute(text("SELECT id FROM item WHERE barcode = 'W01' FOR UPDATE"))
        with pytest.raises(DatabaseBusy, match="lock timeout") as err:
            with database.write() as conn:
                conn.execute(text("SET LOCAL lock_timeout = '50ms'"))
                conn.execute(text("SELECT id FROM item WHERE barcode = 'W01' FOR UPDATE"))
        assert err.value.kind == "busy"
        tx.rollback()
    finally:
        holder.close()
        database.close()


def test_postgres_connection_killed_by_the_server_is_unreachable_then_recovers(postgres_url: str, inst) -> None:
    database = make_db(postgres_url, inst)  # type: ignore[arg-type]
    admin = open_database(postgres_url)
    try:
        with pytest.raises(DatabaseUnreachable, match="unreachable") as err:
            with database.write() as conn:
                pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
                with admin.read() as other:
                    other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                conn.execute(text("SELECT 1"))
        assert err.value.kind == "unreachable"
        # The pool's dead connection is not handed out again: the next action just works.
        assert scan.scan_in(database, "W01", at="CCWID", operator="cc", status="Pocket").destination == "CCWID"
        assert queries.item_show(database, "W01")["status"] == "Pocket"
    finally:
        admin.close()
        database.close()


def test_postgres_refused_connection_is_unreachable(postgres_url: str) -> None:
    url = make_url(postgres_url).set(port=_closed_port()).render_as_string(hide_password=False)
    with pytest.raises(DatabaseUnreachable) as err:
        open_database(url)
    assert err.value.kind == "unreachable" and isinstance(err.value, ConfigError)
    assert "unreachable" in err.value.message and "\n" not in err.value.message
    assert "not a libdesk database" not in err.value.message


def test_postgres_wrong_database_name_is_not_unreachable(postgres_url: str) -> None:
    url = make_url(postgres_url).set(database="no_such_library").render_as_string(hide_password=False)
    with pytest.raises(DatabaseUnusable) as err:
        open_database(url)
    assert not isinstance(err.value, DatabaseUnreachable)
    assert "no_such_library" in err.value.message and "\n" not in err.value.message
    assert "refused" in err.value.message



def test_cli_with_the_server_unreachable_is_one_line_and_exit_1(postgres_url: str) -> None:
    import subprocess
    import sys

    url = make_url(postgres_url).set(port=_closed_port()).render_as_string(hide_password=False)
    done = subprocess.run([sys.executable, "-m", "libdesk.cli", "--db", url, "scan", "W01", "--at", "WID-CIRC"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("libdesk: The library database is unreachable")
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
