"""Export any list to CSV or XLSX: exactly the rows and columns shown, with a header (L4).

- Cells that start with ``=``, ``+``, ``-`` or ``@`` are made inert: in CSV they get a leading
  apostrophe (the usual guard against spreadsheet formula injection); in XLSX every text cell
  is written as a string, never a formula, so it is inert as it stands and keeps its value.
- The file is written in a work folder beside the target and renamed at the end: an
  interrupted export never leaves half a file under the real name, and the next export
  removes what a killed one left (:data:`WORK_SUFFIX`).
- XLSX is written with XlsxWriter in ``constant_memory`` mode: rows go to disk as they are
  written, so memory stays flat however long the list (chosen over openpyxl's write-only
  mode, which measured slower here; see benchmarks/run.py), and it needs no compiled parts.
"""

from __future__ import annotations

import csv
import os
import secrets
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from libdesk.errors import InvalidInput

FORMULA_PREFIXES = ("=", "+", "-", "@")
Columns = Sequence[tuple[str, str]]


def inert(value: str) -> str:
    """A text cell a spreadsheet will not evaluate."""
    # Spreadsheets skip leading blanks before a formula, and a leading tab or CR is itself a
    # known injection vector (OWASP CSV injection).
    if value.startswith(("\t", "\r")) or value.lstrip(" \t\r\n").startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _prepare(path: str | Path) -> tuple[Path, str]:
    """Check the target can be written and return (target, format).

    Raises:
        InvalidInput: unknown extension, a folder, a missing or unwritable folder.
    """
    target = Path(path).expanduser()
    fmt = target.suffix.lower().lstrip(".")
    if fmt not in ("csv", "xlsx"):
        raise InvalidInput(f"{target}: export to a .csv or .xlsx file")
    if target.is_dir():
        raise InvalidInput(f"{target}: is a folder; give a file name")
    folder = target.parent if str(target.parent) else Path(".")
    if folder.exists() and not folder.is_dir():
        raise InvalidInput(f"{target}: {folder} is a file, not a folder")
    if not folder.is_dir():
        raise InvalidInput(f"{target}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise InvalidInput(f"{target}: cannot write here (permission denied)")
    return target, fmt


WORK_SUFFIX = ".libdesk-export"
"""An export is written in a folder ``.<target name>.<pid>-<random>.libdesk-export`` beside the target
(the file itself, and in XLSX XlsxWriter's temporary files, which otherwise go to the system's
temp folder); the finished file is renamed onto the target and the folder removed. An export
that was killed leaves that folder: the next export to the same folder removes it (when the
process that made it is gone), so nothing piles up beside the target or in /tmp."""

DATE_KEYS = frozenset({"expiry", "placed", "since", "completed", "due", "loan_due"})
"""Columns that hold a date (an ISO ``YYYY-MM-DD`` string, a date or a datetime): in XLSX they
are date cells, so a spreadsheet sorts and filters them as dates. CSV keeps the ISO text."""


def _work_dir(target: Path) -> Path:
    # The pid says whose it is (see clean_leftovers); the random part keeps two exports of one
    # process (two screens of the app) apart.
    return target.parent / f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}{WORK_SUFFIX}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: alive, not ours to judge
        return True
    return True


def clean_leftovers(folder: Path) -> list[Path]:
    """Remove what killed exports left in ``folder`` (see :data:`WORK_SUFFIX`); a folder of an
    export that is still running (its process is alive) stays. Returns what was removed."""
    import shutil

    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not (entry.name.startswith(".") and entry.name.endswith(WORK_SUFFIX)):
            continue
        pid_text = entry.name[: -len(WORK_SUFFIX)].rsplit(".", 1)[-1].split("-", 1)[0]
        if not pid_text.isdigit() or int(pid_text) == os.getpid() or _alive(int(pid_text)):
            continue  # this process's own exports clean up after themselves (a finally)
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(Path(entry.path))
    return removed


def export_rows(path: str | Path, columns: Columns, rows: Iterable[dict[str, Any]], *,
                progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Write ``rows`` (dicts) with ``columns`` ((key, header) pairs, in order) to a CSV or
    XLSX file chosen by the extension. The file gets the user's usual permissions (the umask),
    as any file they save. A cell that is blank on screen (None or "") is blank in the file.

    Returns:
        ``{"path", "format", "rows"}``.

    Raises:
        InvalidInput: the path cannot be written: a missing, read-only or virtual folder
            (/proc, /sys), a full disk (nothing is left behind then).
    """
    import shutil

    target, fmt = _prepare(path)
    folder = target.parent
    clean_leftovers(folder)
    work = _work_dir(target)
    try:
        try:
            work.mkdir(mode=0o700)
            tmp = work / target.name
            count = (_write_csv if fmt == "csv" else _write_xlsx)(tmp, columns, rows, progress)
            os.replace(tmp, target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    except OSError as exc:
        raise InvalidInput(f"{target}: cannot write: {exc.strerror or exc}") from None
    return {"path": str(target), "format": fmt, "rows": count}


def _blank(value: Any) -> bool:
    return value is None or value == ""


def _write_csv(tmp: Path, columns: Columns, rows: Iterable[dict[str, Any]],
               progress: Callable[[int], None] | None) -> int:
    count = 0
    with open(tmp, "x", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([header for _, header in columns])
        keys = [key for key, _ in columns]
        for row in rows:
            writer.writerow([inert(_cell_text(row.get(k))) for k in keys])
            count += 1
            if progress is not None and count % 1000 == 0:
                progress(1000)
    if progress is not None:
        progress(count % 1000)
    return count


def _as_date(value: Any) -> Any:
    """A date column's value as a date or datetime, or None when it is not one (kept as text)."""
    import datetime as dt

    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and len(value) == 10:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _write_xlsx(tmp: Path, columns: Columns, rows: Iterable[dict[str, Any]],
                progress: Callable[[int], None] | None) -> int:
    import datetime as dt

    import xlsxwriter  # loaded on first export only: start-up stays light (DESIGN.md)
    from xlsxwriter.exceptions import XlsxWriterException

    workbook = xlsxwriter.Workbook(str(tmp), {"constant_memory": True, "strings_to_formulas": False,
                                              "strings_to_numbers": False, "strings_to_urls": False,
                                              "tmpdir": str(tmp.parent), "remove_timezone": True})
    try:
        sheet = workbook.add_worksheet("libdesk")
        bold = workbook.add_format({"bold": True})
        day = workbook.add_format({"num_format": "yyyy-mm-dd"})
        moment = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        keys = [key for key, _ in columns]
        dated = [key in DATE_KEYS for key in keys]
        write_string, write_number, write_datetime = sheet.write_string, sheet.write_number, sheet.write_datetime
        for col, (_, header) in enumerate(columns):
            write_string(0, col, header, bold)
            if dated[col]:
                sheet.set_column(col, col, max(11, len(header)))  # wide enough for yyyy-mm-dd
        count = 0
        for count, row in enumerate(rows, start=1):
            for col, key in enumerate(keys):
                value = row.get(key)
                if _blank(value):
                    continue  # blank on screen, blank in the file (no empty-string cell)
                if dated[col] and (when := _as_date(value)) is not None:
                    if isinstance(when, dt.datetime):
                        write_datetime(count, col, when, moment)
                    else:
                        write_datetime(count, col, when, day)
                elif isinstance(value, bool):
                    write_string(count, col, "yes" if value else "no")
                elif isinstance(value, (int, float)):
                    write_number(count, col, value)
                else:
                    write_string(count, col, str(value))
            if progress is not None and count % 1000 == 0:
                progress(1000)
        sheet.freeze_panes(1, 0)
    except BaseException:
        _close_quietly(workbook)
        raise
    try:
        workbook.close()
    except XlsxWriterException as exc:
        cause = exc.__context__ if isinstance(exc.__context__, OSError) else None
        raise OSError(getattr(cause, "errno", None) or 0, getattr(cause, "strerror", None) or str(exc)) from None
    if progress is not None:
        progress(count % 1000)
    return count


def _close_quietly(workbook: Any) -> None:
    """Close the worksheet's row file after a failed export (its folder is removed next)."""
    for sheet in workbook.worksheets():
        fh = getattr(sheet, "row_data_fh", None)
        if fh is not None:
            try:
                fh.close()
            except OSError:
                pass
