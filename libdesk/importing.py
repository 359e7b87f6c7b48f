"""Bulk load of items (and patrons) from CSV, all or nothing.

The whole file is read and checked before anything is written; one bad row rejects the
file with its line and column named. Rows are written with one prebuilt Core INSERT in
batches inside a single transaction (DESIGN.md: the ORM is ~10x slower for loading).
"""

from __future__ import annotations

import csv
import json
import os
import re
import sqlite3
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from libdesk import clock, fastpath
from libdesk.core import action, event_t, item_t
from libdesk.db import Database, bulk_item_insert, is_unique_violation
from libdesk.errors import InvalidInput
from libdesk.models import ACQUISITION, Patron, table
from libdesk.barcodes import check_barcode

ITEM_COLUMNS = ("barcode", "title", "author", "call_number", "material_type", "library", "location")
OPTIONAL_ITEM_COLUMNS = ("process_type",)
PATRON_COLUMNS = ("id", "name")
BATCH = 5_000


MAX_IMPORT_BYTES = 1024 * 1024 * 1024
"""Larger than any catalogue export a desk loads (1M items is about 100 MB of CSV)."""


def read_text_file(path: str | Path, *, what: str, max_bytes: int) -> str:
    """A person's text file, whole: a regular file (never a device or FIFO, which could feed
    bytes forever), at most ``max_bytes``, UTF-8 (a BOM allowed). Used for CSV imports and
    barcode lists.

    Raises:
        InvalidInput: missing or unreadable, not a regular file, too large, not UTF-8 (the
            line, and the CSV column when a header names it).
    """
    path = Path(path)
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise InvalidInput(f"{path}: not a regular file")
        if info.st_size > max_bytes:
            raise InvalidInput(f"{path}: {info.st_size} bytes is too large for {what} "
                               f"(at most {max_bytes // (1024 * 1024)} MB)")
        with open(path, "rb") as fh:
            raw = fh.read(max_bytes + 1)
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read {what}: {exc.strerror}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path}: {_where_bytes_break(raw, exc.start)}: not UTF-8 text") from None


MAX_LINE_BYTES = 1024 * 1024
"""A CSV line longer than this is not a catalogue row (a row is a few hundred bytes): the
file is refused with the line named, rather than read into memory whole."""

_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f]")
"""C0 controls except tab, DEL and C1 controls: NUL, ESC (terminal escape sequences), line
breaks inside a quoted field. Refused in every field at import, so no title or name sent to a
terminal can move its cursor or change its colours (issue 14 item 6)."""


def _open_regular(path: Path, *, what: str, max_bytes: int) -> Any:
    """A regular file (never a device or FIFO, which could feed bytes forever) of at most
    ``max_bytes``, opened for reading bytes.

    Raises:
        InvalidInput: missing or unreadable, not a regular file, too large.
    """
    try:
        # O_NONBLOCK: opening a FIFO would otherwise wait for a writer; a regular file ignores it.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read {what}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)  # of the file opened, not of whatever the name points at later
        if not stat.S_ISREG(info.st_mode):
            raise InvalidInput(f"{path}: not a regular file")
        if info.st_size > max_bytes:
            raise InvalidInput(f"{path}: {info.st_size} bytes is too large for {what} "
                               f"(at most {max_bytes // (1024 * 1024)} MB)")
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def _csv_lines(fh: Any, path: Path, header: list[str], max_bytes: int) -> Iterator[str]:
    """The file's lines, decoded one at a time (UTF-8, a BOM allowed on the first), each at
    most MAX_LINE_BYTES, the whole at most ``max_bytes`` (a file that grows while it is read).
    Line ends are kept, as the csv module wants; a lone CR ends a line too (old Mac exports).

    Raises:
        InvalidInput: a line too long, the file too large, bytes that are not UTF-8 (the line,
            and the column when the header names it).
    """
    number = 0
    total = 0
    while True:
        try:
            raw = fh.readline(MAX_LINE_BYTES + 1)
        except OSError as exc:
            raise InvalidInput(f"{path}: cannot read the file: {exc.strerror}") from None
        if not raw:
            return
        number += 1
        total += len(raw)
        if len(raw) > MAX_LINE_BYTES:
            raise InvalidInput(f"{path}: line {number}: longer than {MAX_LINE_BYTES // 1024} KB, not a CSV row "
                               "(a binary file or a file without line breaks?)")
        if total > max_bytes:
            raise InvalidInput(f"{path}: grew past {max_bytes // (1024 * 1024)} MB while it was read")
        try:
            text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            column = _column_at(raw, exc.start, header) if number > 1 else None
            where = f"line {number}, column {column}" if column else f"line {number}"
            raise InvalidInput(f"{path}: {where}: not UTF-8 text") from None
        if "\r" in text.rstrip("\r\n"):
            yield from _LONE_CR.split(text)
        else:
            yield text


_LONE_CR = re.compile("(?<=\r)(?!\n)(?=.)", re.DOTALL)


def _column_at(raw: bytes, offset: int, header: list[str]) -> str | None:
    """The header's name of the column the byte at ``offset`` of this line falls in."""
    fields_before = next(csv.reader([raw[:offset].decode("utf-8", "replace")]), [""])
    index = max(len(fields_before) - 1, 0)
    return header[index] if index < len(header) else None


def _rows(path: Path, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> Iterator[tuple[int, dict[str, str]]]:
    """The file's rows as (line, {column: value}), read as they are needed (the file is never
    held whole). Every value is stripped and checked for control characters.

    Raises:
        InvalidInput: see :func:`_open_regular` and :func:`_csv_lines`; an empty file, a header
            with a missing, unknown or repeated column, a row with the wrong number of fields,
            a value with control characters (line and column named).
    """
    with _open_regular(path, what="the file", max_bytes=MAX_IMPORT_BYTES) as fh:
        header: list[str] = []
        reader = csv.reader(_csv_lines(fh, path, header, MAX_IMPORT_BYTES))
        try:
            first = next(reader)
        except StopIteration:
            raise InvalidInput(f"{path}: empty file (a header row is needed: {','.join(required)})") from None
        except csv.Error as exc:
            raise InvalidInput(f"{path}: line 1: {exc}") from None
        header.extend(h.strip() for h in first)
        for index, name in enumerate(header):
            if _CONTROL.search(name):
                raise InvalidInput(f"{path}: line 1: column {index + 1} of the header contains control characters")
            if name in header[:index]:
                raise InvalidInput(f"{path}: line 1: column {name!r} is given twice (columns "
                                   f"{header.index(name) + 1} and {index + 1}); each column once")
        missing = [c for c in required if c not in header]
        if missing:
            raise InvalidInput(f"{path}: line 1: missing column(s) {', '.join(missing)} (need {','.join(required)})")
        unknown = [c for c in header if c not in required and c not in optional]
        if unknown:
            raise InvalidInput(f"{path}: line 1: unknown column(s) {', '.join(unknown)}")
        end = reader.line_num
        try:
            for values in reader:
                line, end = end + 1, reader.line_num  # a quoted field may span lines: name the first
                if not values or values == [""]:
                    continue
                if len(values) != len(header):
                    raise InvalidInput(f"{path}: line {line}: {len(values)} fields, the header has {len(header)}")
                row = dict(zip(header, (v.strip() for v in values), strict=True))
                for column, value in row.items():
                    bad = _CONTROL.search(value)
                    if bad:
                        raise InvalidInput(f"{path}: line {line}, column {column}: contains a control character "
                                           f"({_control_name(bad.group())}); nothing imported")
                yield line, row
        except csv.Error as exc:
            raise InvalidInput(f"{path}: line {reader.line_num}: {exc}") from None


def _control_name(char: str) -> str:
    names = {"\x00": "NUL", "\x1b": "ESC, a terminal escape sequence", "\n": "a line break",
             "\r": "a carriage return", "\x7f": "DEL"}
    return names.get(char, f"U+{ord(char):04X}")


def _where_bytes_break(raw: bytes, offset: int) -> str:
    """'line N, column NAME' of the byte at ``offset`` (the header names the columns)."""
    line = raw[:offset].count(b"\n") + 1
    start = raw.rfind(b"\n", 0, offset) + 1
    header_end = raw.find(b"\n")
    header = next(csv.reader([raw[:header_end if header_end >= 0 else len(raw)].decode("utf-8", "replace")]), [])
    fields_before = next(csv.reader([raw[start:offset].decode("utf-8", "replace")]), [""])
    index = max(len(fields_before) - 1, 0)
    column = header[index].strip() if line > 1 and index < len(header) else None
    return f"line {line}, column {column}" if column else f"line {line}"


def import_items(db: Database, path: str | Path, *, operator: str,
                 progress: Any = None) -> dict[str, Any]:
    """Import items from CSV (SPEC section 1 columns). Items start In place, or awaiting
    receipt when the optional ``process_type`` column says ``acquisition``.

    Raises:
        InvalidInput: any bad row (line and column named), duplicate or existing barcode,
        unknown library or location. Nothing is written then.
    """
    path = Path(path)
    inst = db.institution
    now = clock.now()
    seen: dict[str, int] = {}
    records: list[dict[str, Any]] = []
    for line, row in _rows(path, ITEM_COLUMNS, OPTIONAL_ITEM_COLUMNS):
        def bad(column: str, what: str, line: int = line) -> InvalidInput:
            return InvalidInput(f"{path}: line {line}, column {column}: {what}")

        barcode = row["barcode"]
        if not barcode:
            raise bad("barcode", "empty")
        try:
            check_barcode(barcode)
        except InvalidInput as exc:
            raise bad("barcode", exc.message) from None
        if barcode in seen:
            raise bad("barcode", f"duplicate barcode {barcode!r} in the file (also on line {seen[barcode]})")
        seen[barcode] = line
        if row["library"] not in inst.libraries:
            raise bad("library", f"unknown library {row['library']!r}")
        location = inst.locations.get(row["location"])
        if location is None:
            raise bad("location", f"unknown location {row['location']!r}")
        if location.library != row["library"] and not location.remote_storage:
            raise bad("location", f"location {location.code!r} belongs to {location.library}, not {row['library']}")
        if not row["title"]:
            raise bad("title", "empty")
        process = row.get("process_type") or None
        if process not in (None, ACQUISITION):
            raise bad("process_type", "only empty (In place) or 'acquisition' (awaiting receipt)")
        records.append({
            "barcode": barcode, "title": row["title"], "author": row["author"], "call_number": row["call_number"],
            "material_type": row["material_type"] or "BOOK", "library": row["library"], "location": location.code,
            "process_type": process, "version": 1, "created_at": now, "updated_at": now,
        })
    if not records:
        raise InvalidInput(f"{path}: no rows to import")
    insert_items(db, records, operator=operator, source=str(path), progress=progress, lines=seen)
    return {"imported": len(records), "file": str(path)}


def insert_items(db: Database, records: list[dict[str, Any]], *, operator: str, source: str,
                 progress: Any = None, lines: dict[str, int] | None = None) -> None:
    """Insert checked item records in one transaction, refusing barcodes that exist.

    On SQLite (the direct statement path) the rows are first copied into a temporary table on
    the same connection, outside the write lock (a temporary table is the connection's own):
    other desks are held out only for the set-based INSERT ... SELECT and the word index,
    not for turning 200,000 rows into parameters (benchmarks/desks.py: 14 s of lock became a
    few seconds).

    Raises:
        InvalidInput: a barcode already exists (nothing is written), also when another desk
        imported it while this import ran.
    """
    try:
        if db.engine.dialect.name == "sqlite" and fastpath.ENABLED:
            _insert_items_staged(db, records, operator=operator, source=source, progress=progress, lines=lines)
            return
        with action(db, operator) as ctx:
            existing = _existing_barcodes(ctx.conn, records)
            if existing:
                raise _exists(records, existing, source, lines)
            stmt = insert(item_t)
            with bulk_item_insert(ctx.conn):
                for chunk in _chunks(records, BATCH):
                    ctx.conn.execute(stmt, chunk)
                    if progress is not None:
                        progress(len(chunk))
            ctx.event("import_items", message=f"{len(records)} items from {Path(source).name}",
                      after={"source": source, "count": len(records)})
    except (IntegrityError, sqlite3.IntegrityError) as exc:
        # On PostgreSQL two imports of the same new barcodes both pass the check above (neither
        # sees the other's uncommitted rows); the second then waits on the barcode's unique
        # index and fails when the first commits. Ours rolled back whole; say which barcode.
        if not is_unique_violation(exc):
            raise
        with db.read() as conn:
            existing = _existing_barcodes(conn, records)
        if not existing:
            raise
        raise _exists(records, existing, source, lines, meanwhile=True) from None


def _existing_barcodes(conn: Any, records: list[dict[str, Any]]) -> set[str]:
    existing: set[str] = set()
    for chunk in _chunks(sorted(r["barcode"] for r in records), 500):
        existing.update(conn.execute(select(item_t.c.barcode).where(item_t.c.barcode.in_(chunk))).scalars())
    return existing


def _exists(records: list[dict[str, Any]], existing: set[str], source: str,
            lines: dict[str, int] | None, *, meanwhile: bool = False) -> InvalidInput:
    first = next(r for r in records if r["barcode"] in existing)
    where = f"line {lines[first['barcode']]}, column barcode: " if lines else ""
    when = " (another desk imported it a moment ago)" if meanwhile else ""
    return InvalidInput(f"{source}: {where}barcode {first['barcode']!r} already exists{when} "
                        f"({len(existing)} existing barcode(s) in all); nothing imported")


_STAGE = "libdesk_import_stage"


def _insert_items_staged(db: Database, records: list[dict[str, Any]], *, operator: str, source: str,
                         progress: Any, lines: dict[str, int] | None) -> None:
    columns = [c.name for c in item_t.columns if c.name != "id"]
    defaults = {c.name: None for c in item_t.columns}
    col_list = ", ".join(columns)
    marks = ", ".join("?" for _ in columns)
    with db.engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        # Outside the write lock: the temporary table lives in the connection's own database.
        raw.execute(f"DROP TABLE IF EXISTS temp.{_STAGE}")
        raw.execute(f"CREATE TEMP TABLE {_STAGE} AS SELECT {col_list} FROM main.item WHERE 0")
        raw.execute("BEGIN")
        for chunk in _chunks(records, BATCH):
            raw.executemany(f"INSERT INTO temp.{_STAGE} ({col_list}) VALUES ({marks})",
                            [tuple(fastpath.bind_value({**defaults, **r}[c]) for c in columns) for r in chunk])
            if progress is not None:
                progress(len(chunk))
        raw.execute("COMMIT")
        raw.execute(f"CREATE INDEX temp.{_STAGE}_barcode ON {_STAGE} (barcode)")
        try:
            with action(db, operator, conn=conn) as ctx:
                existing = {r[0] for r in ctx.conn.exec_driver_sql(
                    f"SELECT s.barcode FROM temp.{_STAGE} s JOIN main.item i ON i.barcode = s.barcode")}
                if existing:
                    raise _exists(records, existing, source, lines)
                with bulk_item_insert(ctx.conn):
                    ctx.conn.exec_driver_sql(
                        f"INSERT INTO main.item ({col_list}) SELECT {col_list} FROM temp.{_STAGE} ORDER BY rowid")
                ctx.event("import_items", message=f"{len(records)} items from {Path(source).name}",
                          after={"source": source, "count": len(records)})
        finally:
            raw.execute(f"DROP TABLE IF EXISTS temp.{_STAGE}")


def import_patrons(db: Database, path: str | Path, *, operator: str) -> dict[str, Any]:
    """Import patrons (columns id,name), all or nothing.

    Raises:
        InvalidInput: a bad row or an id that already exists.
    """
    path = Path(path)
    seen: set[str] = set()
    records = []
    for line, row in _rows(path, PATRON_COLUMNS):
        if not row["id"]:
            raise InvalidInput(f"{path}: line {line}, column id: empty")
        if row["id"] in seen:
            raise InvalidInput(f"{path}: line {line}, column id: duplicate patron {row['id']!r}")
        seen.add(row["id"])
        records.append({"id": row["id"], "name": row["name"], "pseudo": False, "active": True})
    if not records:
        raise InvalidInput(f"{path}: no rows to import")
    patron_t = table(Patron)
    with action(db, operator) as ctx:
        existing: list[str] = []
        for chunk in _chunks(sorted(seen), 500):
            existing.extend(ctx.conn.execute(select(patron_t.c.id).where(patron_t.c.id.in_(chunk))).scalars())
        if existing:
            raise InvalidInput(f"{path}: patron {existing[0]!r} already exists; nothing imported")
        for chunk in _chunks(records, BATCH):
            ctx.conn.execute(insert(patron_t), chunk)
        ctx.event("import_patrons", message=f"{len(records)} patrons from {path.name}",
                  after={"file": str(path), "count": len(records)})
    return {"imported": len(records), "file": str(path)}


LOAN_COLUMNS = ("barcode", "patron")
OPTIONAL_LOAN_COLUMNS = ("due",)


def import_loans(db: Database, path: str | Path, *, operator: str) -> dict[str, Any]:
    """Import current loans (columns barcode,patron[,due]) onto items that are In place, all
    or nothing. Each loan gets its history event. A missing due date is today + loan_days.

    Raises:
        InvalidInput: a bad row, an unknown barcode or patron, an item not In place.
    """
    from datetime import date, timedelta

    path = Path(path)
    today = clock.today()
    default_due = today + timedelta(days=db.institution.policy.loan_days)
    loans: dict[str, tuple[int, str, Any]] = {}
    for line, row in _rows(path, LOAN_COLUMNS, OPTIONAL_LOAN_COLUMNS):
        if not row["barcode"]:
            raise InvalidInput(f"{path}: line {line}, column barcode: empty")
        if row["barcode"] in loans:
            raise InvalidInput(f"{path}: line {line}, column barcode: {row['barcode']!r} is lent twice in the file")
        if not row["patron"]:
            raise InvalidInput(f"{path}: line {line}, column patron: empty")
        due = default_due
        if row.get("due"):
            try:
                due = date.fromisoformat(row["due"])
            except ValueError:
                raise InvalidInput(f"{path}: line {line}, column due: {row['due']!r} is not a date (YYYY-MM-DD)") from None
        loans[row["barcode"]] = (line, row["patron"], due)
    if not loans:
        raise InvalidInput(f"{path}: no rows to import")
    patron_t = table(Patron)
    with action(db, operator) as ctx:
        items: dict[str, Any] = {}
        for chunk in _chunks(list(loans), 500):
            for r in ctx.conn.execute(select(item_t.c.id, item_t.c.barcode, item_t.c.process_type, item_t.c.version)
                                      .where(item_t.c.barcode.in_(chunk))):
                items[r.barcode] = r
        patrons: set[str] = set()
        for chunk in _chunks(sorted({p for _, p, _ in loans.values()}), 500):
            patrons.update(ctx.conn.execute(select(patron_t.c.id).where(patron_t.c.id.in_(chunk))).scalars())
        for code, (line, patron, _) in loans.items():
            if code not in items:
                raise InvalidInput(f"{path}: line {line}, column barcode: no item {code!r}")
            if items[code].process_type is not None:
                raise InvalidInput(f"{path}: line {line}, column barcode: item {code!r} is not In place "
                                   f"({items[code].process_type})")
            if patron not in patrons:
                raise InvalidInput(f"{path}: line {line}, column patron: no patron {patron!r}")
        params = [{"_id": items[c].id, "_patron": p, "_due": d} for c, (_, p, d) in loans.items()]
        for chunk in _chunks(params, BATCH):
            ctx.conn.execute(_LOAN_UPDATE, chunk)
        events = [{"at": ctx.now, "operator": ctx.operator.id, "place": None, "action": "loan",
                   "item_id": items[c].id, "request_id": None, "borrowing_id": None, "barcode": c,
                   "before": '{"loan_due": null, "loan_patron": null, "process_type": null}',
                   "after": json.dumps({"loan_due": d.isoformat(), "loan_patron": p, "process_type": "loan"},
                                       sort_keys=True),
                   "message": f"loan imported from {path.name}"} for c, (_, p, d) in loans.items()]
        for chunk in _chunks(events, BATCH):
            ctx.conn.execute(insert(event_t), chunk)
    return {"imported": len(loans), "file": str(path)}


_LOAN_UPDATE = (
    update(item_t)
    .where(item_t.c.id == bindparam("_id"), item_t.c.process_type.is_(None))
    .values(process_type="loan", loan_patron=bindparam("_patron"), loan_due=bindparam("_due"),
            version=item_t.c.version + 1)
)


def _chunks(seq: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(seq), size):
        yield seq[start:start + size]
