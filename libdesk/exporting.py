"""Export any list to CSV or XLSX: exactly the rows and columns shown, with a header (L4).

- Cells that start with ``=``, ``+``, ``-`` or ``@`` are made inert: in CSV they get a leading
  apostrophe (the usual guard against spreadsheet formula injection); in XLSX every text cell
  is written as a string, never a formula, so it is inert as it stands and keeps its value.
- The file is written to a temporary name beside the target and renamed at the end: an
  interrupted export never leaves half a file under the real name.
- XLSX is written with XlsxWriter in ``constant_memory`` mode: rows go to disk as they are
  written, so memory stays flat however long the list (chosen over openpyxl's write-only
  mode, which measured slower here; see benchmarks/run.py), and it needs no compiled parts.
"""

from __future__ import annotations

import csv
import os
import tempfile
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
    if not folder.is_dir():
        raise InvalidInput(f"{target}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise InvalidInput(f"{target}: cannot write here (permission denied)")
    return target, fmt


def export_rows(path: str | Path, columns: Columns, rows: Iterable[dict[str, Any]], *,
                progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Write ``rows`` (dicts) with ``columns`` ((key, header) pairs, in order) to a CSV or
    XLSX file chosen by the extension.

    Returns:
        ``{"path", "format", "rows"}``.

    Raises:
        InvalidInput: the path cannot be written (nothing is left behind then).
    """
    target, fmt = _prepare(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or ".")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        count = (_write_csv if fmt == "csv" else _write_xlsx)(tmp, columns, rows, progress)
        os.replace(tmp, target)
    except OSError as exc:
        raise InvalidInput(f"{target}: cannot write: {exc.strerror or exc}") from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return {"path": str(target), "format": fmt, "rows": count}


def _write_csv(tmp: Path, columns: Columns, rows: Iterable[dict[str, Any]],
               progress: Callable[[int], None] | None) -> int:
    count = 0
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
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


def _write_xlsx(tmp: Path, columns: Columns, rows: Iterable[dict[str, Any]],
                progress: Callable[[int], None] | None) -> int:
    import xlsxwriter  # loaded on first export only: start-up stays light (DESIGN.md)

    workbook = xlsxwriter.Workbook(str(tmp), {"constant_memory": True, "strings_to_formulas": False,
                                              "strings_to_numbers": False, "strings_to_urls": False})
    sheet = workbook.add_worksheet("libdesk")
    bold = workbook.add_format({"bold": True})
    keys = [key for key, _ in columns]
    write_string, write_number = sheet.write_string, sheet.write_number
    for col, (_, header) in enumerate(columns):
        write_string(0, col, header, bold)
    count = 0
    for count, row in enumerate(rows, start=1):
        for col, key in enumerate(keys):
            value = row.get(key)
            if value is None:
                continue
            if isinstance(value, bool):
                write_string(count, col, "yes" if value else "no")
            elif isinstance(value, (int, float)):
                write_number(count, col, value)
            else:
                write_string(count, col, str(value))
        if progress is not None and count % 1000 == 0:
            progress(1000)
    sheet.freeze_panes(1, 0)
    workbook.close()
    if progress is not None:
        progress(count % 1000)
    return count
