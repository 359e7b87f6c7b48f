"""Files in and out through the command line, as a subprocess (exit codes matter): exports to
places that cannot be written, imports of hostile CSV (issue 14 items 3, 4, 6, 7)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

LIBDESK = [sys.executable, "-m", "libdesk.cli"]


def run(args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIBDESK_")}
    env |= {"LIBDESK_HOME": str(home), "LIBDESK_FROZEN_TIME": "2026-03-02T09:00:00"}
    return subprocess.run([*LIBDESK, *args], capture_output=True, text=True, env=env, timeout=120, check=False)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("files-home")
    done = run(["init"], home)
    assert done.returncode == 0, done.stderr
    return home


def one_line_error(done: subprocess.CompletedProcess[str], *fragments: str) -> str:
    assert done.returncode == 1, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("target", [
    "/proc/libdesk-out.csv", "/proc/libdesk-out.xlsx", "/sys/libdesk-out.xlsx", "/sys/kernel/libdesk-out.csv",
    "{file}/out.csv", "{file}/out.xlsx", "{missing}/out.csv",
])
def test_export_where_nothing_can_be_written_is_one_line_and_exit_1(home, tmp_path, target):
    """Issue 14 item 4: an export to a read-only or virtual filesystem ended in exit 70. These
    paths cannot be written even by root, so the test never skips."""
    (tmp_path / "file").write_text("a regular file\n")
    path = target.format(file=tmp_path / "file", missing=tmp_path / "missing")
    for args in (["export", "search", "anything", "-o", path], ["export", "monitor", "-o", path]):
        one_line_error(run(args, home), path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_export_into_a_read_only_folder_is_one_line_and_exit_1(home, tmp_path):
    """File modes stop a user; root is stopped by the immutable attribute (chattr +i, lifted in
    the finally), so this runs as root too."""
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    immutable = os.geteuid() == 0 and subprocess.run(["chattr", "+i", str(folder)], capture_output=True,
                                                      check=False).returncode == 0
    try:
        if os.geteuid() == 0:
            assert immutable, "root without CAP_LINUX_IMMUTABLE: chattr +i failed"
        for target in ("out.xlsx", "out.csv"):
            one_line_error(run(["export", "search", "anything", "-o", str(folder / target)], home),
                           str(folder / target))
        assert list(folder.iterdir()) == []
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], capture_output=True, check=False)
        folder.chmod(0o755)


@pytest.mark.parametrize(("body", "says"), [
    ('"../../etc/x",T,A,QA1,BOOK,WID,WID-STACKS\n', "line 2, column barcode"),
    ('N1,"Title \x1b[2J",A,QA1,BOOK,WID,WID-STACKS\n', "line 2, column title: contains a control character"),
    ('N1,"A\x00B",A,QA1,BOOK,WID,WID-STACKS\n', "line 2, column title"),
])
def test_hostile_csv_rows_are_refused_with_line_and_column(home, tmp_path, body, says):
    path = tmp_path / "items.csv"
    path.write_text("barcode,title,author,call_number,material_type,library,location\n" + body, encoding="utf-8")
    one_line_error(run(["import", "items", str(path)], home), says)


def test_a_repeated_header_column_is_refused(home, tmp_path):
    path = tmp_path / "items.csv"
    path.write_text("barcode,title,author,call_number,material_type,library,location,title\n"
                    "N1,T,A,QA1,BOOK,WID,WID-STACKS,T2\n", encoding="utf-8")
    one_line_error(run(["import", "items", str(path)], home), "line 1", "'title' is given twice")


def test_a_file_without_line_breaks_is_refused_at_the_line_cap(home, tmp_path):
    path = tmp_path / "blob.csv"
    with open(path, "wb") as fh:
        fh.write(b"barcode,title,author,call_number,material_type,library,location\n")
        fh.write(b"\x00" * (3 * 1024 * 1024))
    one_line_error(run(["import", "items", str(path)], home), "line 2", "longer than")


def test_init_demo_killed_half_way_says_so_and_init_demo_again_fixes_it(tmp_path):
    """Issue 14 item 7: a killed ``init --demo`` left part of the demo and nothing said so."""
    import signal
    import sqlite3
    import time

    home, db = tmp_path / "home", tmp_path / "desk.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIBDESK_")}
    env |= {"LIBDESK_HOME": str(home), "LIBDESK_FROZEN_TIME": "2026-03-02T09:00:00"}
    child = subprocess.Popen([*LIBDESK, "--db", str(db), "init", "--demo"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        events, deadline = 0, time.monotonic() + 120
        while events < 50:  # the items are in and the demo's actions have begun
            assert child.poll() is None, "init --demo finished before it could be stopped"
            assert time.monotonic() < deadline
            time.sleep(0.02)
            try:
                con = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True, timeout=5)
                try:
                    events = con.execute("SELECT count(*) FROM event").fetchone()[0]
                finally:
                    con.close()
            except sqlite3.Error:
                continue
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    line = one_line_error(run(["--db", str(db), "item", "show", "32044000000001"], home), str(db))
    assert "set-up did not finish" in line and "libdesk init --demo" in line
    one_line_error(run(["--db", str(db), "search", "letters"], home), "set-up did not finish")
    done = run(["--db", str(db), "init", "--demo", "--json"], home)
    assert done.returncode == 0, done.stderr
    assert '"demo_items": 320' in done.stdout
    again = run(["--db", str(db), "item", "show", "32044000000001", "--json"], home)
    assert again.returncode == 0, again.stderr
    assert run(["--db", str(db), "init", "--demo"], home).returncode == 1  # a whole one is never redone


def test_init_on_another_programs_postgres_database_is_one_line_and_changes_nothing(tmp_path):
    from sqlalchemy import create_engine, text

    from tests.conftest import scratch_postgres

    with scratch_postgres() as url:
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE invoices (id int PRIMARY KEY)"))
        engine.dispose()
        line = one_line_error(run(["--db", url, "init", "--demo"], tmp_path / "home"), "another program's database",
                              "invoices")
        assert "SECRET" not in line
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                tables = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars()
                extensions = conn.execute(text("SELECT extname FROM pg_extension")).scalars()
                assert (sorted(tables), sorted(extensions)) == (["invoices"], ["plpgsql"])
        finally:
            engine.dispose()
