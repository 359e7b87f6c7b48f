"""Exports as files a person keeps: their usual permissions, dates as dates, blanks blank, and
no litter from an export that was killed or could not write (issues 12 item 8, 14 items 4, 7)."""

from __future__ import annotations

import csv
import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import openpyxl
import pytest

from libdesk import config, exporting
from libdesk.errors import InvalidInput

COLUMNS = [("barcode", "Barcode"), ("expiry", "Expiry"), ("since", "Since"), ("note", "Note"), ("n", "Count")]
ROWS = [
    {"barcode": "X1", "expiry": "2026-03-09", "since": dt.datetime(2026, 3, 1, 14, 30), "note": "", "n": 3},
    {"barcode": "X2", "expiry": None, "since": dt.date(2026, 2, 1), "note": None, "n": None},
    {"barcode": "X3", "expiry": "not a date", "since": "", "note": "kept", "n": 0},
]


def test_xlsx_dates_are_date_cells_and_blank_cells_are_blank(tmp_path):
    path = tmp_path / "out.xlsx"
    exporting.export_rows(path, COLUMNS, ROWS)
    sheet = openpyxl.load_workbook(path).active
    x1, x2, x3 = list(sheet.iter_rows(min_row=2))
    assert x1[1].value == dt.datetime(2026, 3, 9) and x1[1].is_date and x1[1].number_format == "yyyy-mm-dd"
    assert x1[2].value == dt.datetime(2026, 3, 1, 14, 30) and x1[2].is_date
    assert x2[2].value == dt.datetime(2026, 2, 1) and x2[2].number_format == "yyyy-mm-dd"
    assert x3[1].value == "not a date" and x3[1].data_type == "s"  # text that is not a date stays text
    # Blank on screen (None or ""): no cell at all, not an empty string nor "None".
    for cell in (x1[3], x2[1], x2[3], x2[4], x3[2]):
        assert cell.value is None, cell
    assert x3[4].value == 0


def test_csv_keeps_iso_dates_and_blank_cells_empty(tmp_path):
    path = tmp_path / "out.csv"
    exporting.export_rows(path, COLUMNS, ROWS)
    with open(path, newline="", encoding="utf-8") as fh:
        table = list(csv.reader(fh))
    assert table[1] == ["X1", "2026-03-09", "2026-03-01 14:30:00", "", "3"]
    assert table[2] == ["X2", "", "2026-02-01", "", ""]
    assert "None" not in path.read_text(encoding="utf-8")


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_an_export_has_the_users_usual_permissions(tmp_path, suffix, umask, mode):
    """Issue 12 item 8: exports were always 0600 (a private temporary file renamed)."""
    old = os.umask(umask)
    try:
        exporting.export_rows(tmp_path / f"out.{suffix}", COLUMNS, ROWS)
    finally:
        os.umask(old)
    assert (tmp_path / f"out.{suffix}").stat().st_mode & 0o777 == mode


@pytest.mark.parametrize("target", [
    "/proc/libdesk-export.csv", "/proc/libdesk-export.xlsx", "/sys/libdesk-export.xlsx",
    "/proc/self/libdesk-export.csv", "{file}/out.csv", "{file}/deeper/out.xlsx",
])
def test_an_unwritable_target_is_one_clear_error_even_for_root(tmp_path, target):
    """A virtual filesystem, or a 'folder' that is a regular file, stops root too: no skips."""
    (tmp_path / "file").write_text("a file, not a folder\n")
    path = Path(target.format(file=tmp_path / "file"))
    with pytest.raises(InvalidInput) as info:
        exporting.export_rows(path, COLUMNS, ROWS)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_a_failure_while_writing_leaves_nothing_beside_the_target(tmp_path):
    def rows():
        yield ROWS[0]
        raise OSError(28, "No space left on device")

    for suffix in ("csv", "xlsx"):
        with pytest.raises(InvalidInput, match="No space left on device"):
            exporting.export_rows(tmp_path / f"out.{suffix}", COLUMNS, rows())
    assert list(tmp_path.iterdir()) == []


_SLOW_EXPORT = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from libdesk import exporting

    target, ready = Path(sys.argv[1]), Path(sys.argv[2])

    def rows():
        for n in range(1_000_000):
            if n == 20_000:
                ready.write_text("halfway")
                time.sleep(600)
            yield {"barcode": f"B{n:07d}", "title": "x" * 200}

    exporting.export_rows(target, [("barcode", "Barcode"), ("title", "Title")], rows())
""")


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_a_killed_export_leaves_no_litter_the_next_export_does_not_clean(tmp_path, suffix):
    """Issue 14 item 7: kill -9 halfway left a 0-byte temp file beside the target and XlsxWriter's
    5-10 MB row file in /tmp. Now both are in one folder beside the target, which the next
    export there removes; the system's temp folder gets nothing."""
    out, temp = tmp_path / "out", tmp_path / "tmp"
    out.mkdir()
    temp.mkdir()
    target, ready = out / f"list.{suffix}", tmp_path / "ready"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIBDESK_")}
    env |= {"LIBDESK_HOME": str(tmp_path / "home"), "TMPDIR": str(temp)}
    child = subprocess.Popen([sys.executable, "-c", _SLOW_EXPORT, str(target), str(ready)], env=env)
    try:
        deadline = time.monotonic() + 120
        while not ready.exists():
            assert child.poll() is None, "the export ended before it was killed"
            assert time.monotonic() < deadline, "the export never got halfway"
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert list(temp.iterdir()) == []  # nothing in the system's temp folder
    assert not target.exists()
    left = list(out.iterdir())
    assert len(left) == 1 and left[0].is_dir(), left
    assert left[0].name.startswith(f".{target.name}.{child.pid}-") and left[0].name.endswith(exporting.WORK_SUFFIX)
    # The next export to that folder (of any list) cleans up what the killed one left.
    exporting.export_rows(out / f"other.{suffix}", [("barcode", "Barcode")], [{"barcode": "B1"}])
    assert sorted(p.name for p in out.iterdir()) == [f"other.{suffix}"]


def test_the_work_folder_of_an_export_still_running_is_left_alone(tmp_path):
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        theirs = tmp_path / f".list.csv.{running.pid}-0a1b2c3d{exporting.WORK_SUFFIX}"
        theirs.mkdir()
        exporting.export_rows(tmp_path / "mine.csv", [("barcode", "Barcode")], [{"barcode": "B1"}])
        assert theirs.is_dir()
    finally:
        running.kill()
        running.wait()


def test_the_apps_default_export_folder_is_the_documents_folder(monkeypatch, tmp_path):
    """Issue 12 item 8: not the folder the app was started from."""
    from platformdirs import user_documents_path

    monkeypatch.chdir(tmp_path)
    folder = config.export_dir()
    assert folder != tmp_path
    documents = user_documents_path()
    assert folder == (documents if documents.is_dir() else Path.home())


def test_two_exports_of_one_process_into_one_folder_do_not_disturb_each_other(tmp_path):
    """The app may export from two screens at once, into the documents folder."""
    def rows():
        yield {"barcode": "B1"}
        # While this export is half-way, another one (same process, same folder) runs whole.
        exporting.export_rows(tmp_path / "other.xlsx", [("barcode", "Barcode")], [{"barcode": "B2"}])
        yield {"barcode": "B3"}

    assert exporting.export_rows(tmp_path / "first.xlsx", [("barcode", "Barcode")], rows())["rows"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["first.xlsx", "other.xlsx"]
