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
