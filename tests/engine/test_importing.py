"""CSV import: all or nothing, errors name line and column."""

from __future__ import annotations

import pytest

from libdesk import importing, queries
from libdesk.errors import InvalidInput
from tests.conftest import db_fingerprint

HEADER = "barcode,title,author,call_number,material_type,library,location\n"


def write(tmp_path, body, header=HEADER, name="items.csv"):
    path = tmp_path / name
    path.write_text(header + body, encoding="utf-8")
    return path


def test_import_items_and_acquisitions(db, tmp_path):
    path = write(tmp_path, 'N1,"Title, with comma",A,QA1,BOOK,WID,WID-STACKS,\nN2,T2,A,QA2,BOOK,LAW,HD,acquisition\n',
                 header=HEADER.strip() + ",process_type\n")
    assert importing.import_items(db, path, operator="admin")["imported"] == 2
    assert queries.item_show(db, "N1")["title"] == "Title, with comma"
    assert queries.item_show(db, "N2")["process_type"] == "acquisition"


@pytest.mark.parametrize(("body", "where"), [
    ("N1,T,A,QA1,BOOK,WID,WID-STACKS\nN2,T,A,QA2,BOOK,XXX,WID-STACKS\n", "line 3, column library"),
    ("N1,T,A,QA1,BOOK,WID,WID-STACKS\nN1,T,A,QA2,BOOK,WID,WID-STACKS\n", "line 3, column barcode"),
    ("N1,T,A,QA1,BOOK,WID,NOWHERE\n", "line 2, column location"),
    ("N1,T,A,QA1,BOOK,WID\n", "line 2: 6 fields"),
    (",T,A,QA1,BOOK,WID,WID-STACKS\n", "line 2, column barcode"),
    ("N1,,A,QA1,BOOK,WID,WID-STACKS\n", "line 2, column title"),
    ("N1,T,A,QA1,BOOK,LAW,WID-STACKS\n", "line 2, column location"),
    ("W01,T,A,QA1,BOOK,WID,WID-STACKS\n", "'W01' already exists"),
])
def test_bad_row_rejects_whole_file(db, tmp_path, body, where):
    path = write(tmp_path, body)
    before = db_fingerprint(db)
    with pytest.raises(InvalidInput) as info:
        importing.import_items(db, path, operator="admin")
    assert where in str(info.value) and str(path) in str(info.value)
    assert db_fingerprint(db) == before


def test_not_utf8_and_missing_header(db, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(HEADER.encode() + "N1,Caf\xe9,A,QA1,BOOK,WID,WID-STACKS\n".encode("latin-1"))
    with pytest.raises(InvalidInput, match="line 2, column title: not UTF-8"):
        importing.import_items(db, path, operator="admin")
    path = write(tmp_path, "N1,T,A,QA1,BOOK,WID,WID-STACKS\n", header="barcode,title\n")
    with pytest.raises(InvalidInput, match="line 1: missing column"):
        importing.import_items(db, path, operator="admin")


def test_imported_items_are_found_by_words_and_later_inserts_still_indexed(db, tmp_path):
    """The import indexes words in bulk with the insert trigger lifted; the trigger is back after."""
    from libdesk import queries
    from libdesk.importing import insert_items
    from tests.conftest import FROZEN

    path = write(tmp_path, "N1,Quaternion Gardens,Hamilton,QA1,BOOK,WID,WID-STACKS\n")
    importing.import_items(db, path, operator="admin")
    assert [r["barcode"] for r in queries.search(db, "quaternion")] == ["N1"]
    if db.engine.dialect.name == "sqlite":  # FTS5 is SQLite's; PostgreSQL indexes words itself
        with db.read() as conn:
            triggers = {r[0] for r in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        assert "item_fts_ai" in triggers
    failed = write(tmp_path, "N1,Again,A,QA1,BOOK,WID,WID-STACKS\n", name="again.csv")
    with pytest.raises(InvalidInput):
        importing.import_items(db, failed, operator="admin")
    insert_items(db, [{"barcode": "N2", "title": "Octonion Orchards", "author": "", "call_number": "", "library": "WID",
                       "location": "WID-STACKS", "material_type": "BOOK", "process_type": None, "version": 1,
                       "created_at": FROZEN, "updated_at": FROZEN}], operator="admin", source="test")
    assert [r["barcode"] for r in queries.search(db, "octonion")] == ["N2"]


def test_an_import_prepares_its_rows_outside_the_write_lock(sqlite_db, tmp_path):
    """Issue 11: an import is all or nothing, but other desks are held out only while the rows
    go in, not while 200,000 rows are turned into parameters. While the import reports its
    progress (its rows being prepared), another desk can still begin a write at once."""
    import sqlite3

    from libdesk import fastpath

    db = sqlite_db
    rows = "".join(f"S{n:05d},Staged Title {n},A,QA{n},BOOK,WID,WID-STACKS\n" for n in range(12_000))
    path = write(tmp_path, rows, name="big.csv")
    file = db.url[len("sqlite:///"):]
    got_in: list[bool] = []

    def other_desk_writes(_n: int) -> None:
        if not fastpath.ENABLED:  # SQLAlchemy alone (the PostgreSQL path) inserts inside the lock
            return
        other = sqlite3.connect(file, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # fails at once if the import held the lock
            other.execute("ROLLBACK")
            got_in.append(True)
        finally:
            other.close()

    importing.import_items(db, path, operator="admin", progress=other_desk_writes)
    if fastpath.ENABLED:
        assert len(got_in) >= 2  # once per batch of prepared rows
    from libdesk import queries

    assert queries.item_show(db, "S11999")["title"] == "Staged Title 11999"
    assert [r["barcode"] for r in queries.search(db, "staged", limit=1)]
    before = db_fingerprint(db)
    again = write(tmp_path, "S00001,Again,A,QA1,BOOK,WID,WID-STACKS\nNEW1,New,A,QA2,BOOK,WID,WID-STACKS\n",
                  name="again.csv")
    with pytest.raises(InvalidInput, match="'S00001' already exists"):
        importing.import_items(db, again, operator="admin")
    assert db_fingerprint(db) == before


def test_an_import_from_a_device_or_a_fifo_is_refused_without_reading_it(db, tmp_path):
    """Issue 14: ``import items /dev/zero`` grew to 8 GB; a device or a FIFO could feed bytes
    forever. Only regular files are read, and nothing changes."""
    import os

    before = db_fingerprint(db)
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    for path in ("/dev/zero", fifo, tmp_path):
        with pytest.raises(InvalidInput, match="not a regular file"):
            importing.import_items(db, path, operator="admin")
    assert db_fingerprint(db) == before


@pytest.mark.parametrize(("barcode", "says"), [
    ("../../x", "path separator"),
    ("/abs/path/x", "path separator"),
    ("a\\\\b", "path separator"),
    ("a..b", "'..'"),
    ("N\x001", "control character"),
    ("N\x1b[31m1", "control character"),
    ("N\x851", "control character"),
])
def test_a_barcode_that_could_be_a_path_or_a_terminal_command_is_refused(db, tmp_path, barcode, says):
    """Issue 14 item 3: slips and exports make file names from barcodes; a barcode is never a path."""
    path = tmp_path / "items.csv"
    path.write_text(HEADER + "N0,T,A,QA1,BOOK,WID,WID-STACKS\n" + f'"{barcode}",T,A,QA1,BOOK,WID,WID-STACKS\n',
                    encoding="utf-8")
    before = db_fingerprint(db)
    with pytest.raises(InvalidInput, match="line 3, column barcode") as info:
        importing.import_items(db, path, operator="admin")
    assert says in str(info.value)
    assert db_fingerprint(db) == before


def test_check_barcode_is_the_one_rule_for_new_barcodes():
    from libdesk.barcodes import check_barcode

    assert check_barcode(" 32044001234567 ") == "32044001234567"
    assert check_barcode("N.1-A_b") == "N.1-A_b"
    for bad in ("", "x" * 65, "a/b", "a\\b", "..", "a\x00", "a\tb"):
        with pytest.raises(InvalidInput):
            check_barcode(bad)


@pytest.mark.parametrize(("field", "value", "column"), [
    ("title", "Caf\x1b]0;owned\x07e", "title"),
    ("title", "A\x00B", "title"),
    ("author", "Red \x1b[31mtext", "author"),
    ("call_number", "QA\x9b1", "call_number"),
    ("title", "two\nlines", "title"),
    ("title", "DEL\x7f", "title"),
])
def test_control_characters_in_any_text_field_are_refused(db, tmp_path, field, value, column):
    """Issue 14 item 6: NUL and terminal escape sequences never reach a terminal from an import."""
    row = {"barcode": "N1", "title": "T", "author": "A", "call_number": "QA1", "material_type": "BOOK",
           "library": "WID", "location": "WID-STACKS", field: value}
    path = tmp_path / "items.csv"
    path.write_bytes((HEADER + "N0,T,A,QA1,BOOK,WID,WID-STACKS\n" + ",".join(f'"{v}"' for v in row.values())
                      + "\n").encode("utf-8"))
    before = db_fingerprint(db)
    with pytest.raises(InvalidInput, match=f"line 3, column {column}: contains a control character"):
        importing.import_items(db, path, operator="admin")
    assert db_fingerprint(db) == before


def test_a_tab_inside_a_title_is_allowed(db, tmp_path):
    path = write(tmp_path, '"N1","Tab\there",A,QA1,BOOK,WID,WID-STACKS\n')
    assert importing.import_items(db, path, operator="admin")["imported"] == 1


def test_control_characters_in_patron_names_are_refused(db, tmp_path):
    path = tmp_path / "patrons.csv"
    path.write_text('id,name\nX1,"Eve\x1b[2J"\n', encoding="utf-8")
    with pytest.raises(InvalidInput, match="line 2, column name: contains a control character"):
        importing.import_patrons(db, path, operator="admin")


def test_a_column_given_twice_in_the_header_is_refused(db, tmp_path):
    """Issue 14 item 6: with two 'title' columns the last one silently won."""
    path = write(tmp_path, "N1,T,A,QA1,BOOK,WID,WID-STACKS,Other\n", header=HEADER.strip() + ",title\n")
    before = db_fingerprint(db)
    with pytest.raises(InvalidInput, match=r"line 1: column 'title' is given twice \(columns 2 and 8\)"):
        importing.import_items(db, path, operator="admin")
    assert db_fingerprint(db) == before


def test_a_line_longer_than_the_cap_is_refused_without_reading_the_file_whole(db, tmp_path):
    """A file with no line breaks (or a binary file) is refused at the first over-long line."""
    path = tmp_path / "huge.csv"
    with open(path, "wb") as fh:
        fh.write(HEADER.encode())
        fh.write(b"N1," + b"x" * (importing.MAX_LINE_BYTES + 10) + b"\n")
    before = db_fingerprint(db)
    with pytest.raises(InvalidInput, match="line 2: longer than 1024 KB"):
        importing.import_items(db, path, operator="admin")
    assert db_fingerprint(db) == before


def test_old_mac_line_ends_and_a_bom_still_import(db, tmp_path):
    path = tmp_path / "mac.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (HEADER.strip() + "\rN1,T1,A,QA1,BOOK,WID,WID-STACKS\r"
                                        "N2,T2,A,QA2,BOOK,WID,WID-STACKS\r").encode())
    assert importing.import_items(db, path, operator="admin")["imported"] == 2
    assert queries.item_show(db, "N2")["title"] == "T2"


def test_a_quoted_field_over_several_lines_is_still_one_row_then_refused_for_its_line_break(db, tmp_path):
    path = write(tmp_path, 'N1,"first\nsecond",A,QA1,BOOK,WID,WID-STACKS\n')
    with pytest.raises(InvalidInput, match="column title: contains a control character \\(a line break\\)"):
        importing.import_items(db, path, operator="admin")
