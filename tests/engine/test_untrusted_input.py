"""Input from outside reaching the engine (issue 14, items 3 and 4): barcodes that would read
as a path when a file name is made from them, and ids no row can have. Each is refused with
one clear line (a LibdeskError), and the database is unchanged."""

from __future__ import annotations

import pytest

from libdesk import borrowing as rs
from libdesk import circulation, queries, requests
from libdesk.barcodes import check_barcode, clean_barcode
from libdesk.core import MAX_ROW_ID
from libdesk.errors import InvalidInput, LibdeskError, NotFound
from tests.conftest import db_fingerprint

BAD_NAMES = ["../../x", "/abs/path/x", "a/b", "a\\b", "..", "x..y", "CU\x001", "CU\x1b[31m", "CU\n1", "CU\x7f"]


@pytest.mark.parametrize("barcode", BAD_NAMES)
def test_a_barcode_that_names_an_item_never_reads_as_a_path_or_holds_control_characters(barcode):
    with pytest.raises(InvalidInput) as err:
        check_barcode(barcode)
    assert "\n" not in err.value.message and "\x00" not in err.value.message and "\x1b" not in err.value.message


@pytest.mark.parametrize("barcode", ["CU-1001", "32044000000221", "Y 5555", "A.B", "RS000001", "é-7"])
def test_ordinary_barcodes_pass(barcode):
    assert check_barcode(f"  {barcode} ") == barcode


def test_a_lookup_stays_lenient_so_an_item_imported_before_the_rule_can_still_be_scanned():
    assert clean_barcode("OLD/1") == "OLD/1"
    with pytest.raises(InvalidInput):
        clean_barcode("OLD\x001")


def _sent(db) -> int:
    i = rs.new_request(db, "P0001", "Moby Dick", operator="rs", pickup="WID-CIRC").extra["borrowing"]["id"]
    if rs.show(db, i)["status"] == rs.READY_TO_BE_SENT:
        rs.send(db, i, operator="rs")
    return i


@pytest.mark.parametrize("barcode", ["../../x", "/abs/x", "a\\b", "CU\x001"])
def test_partner_ship_refuses_a_lender_barcode_that_is_a_path_and_changes_nothing(db, barcode):
    i = _sent(db)
    before = db_fingerprint(db)
    with pytest.raises(InvalidInput, match="Not a barcode"):
        rs.partner_ship(db, i, operator="rs", barcode=barcode)
    assert db_fingerprint(db) == before


@pytest.mark.parametrize("barcode", ["../../x", "/abs/x", "a\\b", "CU\x1b[2J"])
def test_receive_refuses_a_temporary_barcode_that_is_a_path_and_changes_nothing(db, barcode):
    i = _sent(db)
    rs.partner_ship(db, i, operator="rs", barcode="CU-1001")
    before = db_fingerprint(db)
    with pytest.raises(InvalidInput, match="Not a barcode"):
        rs.receive(db, i, at="WID-CIRC", operator="circ", barcode=barcode)
    assert db_fingerprint(db) == before
    rs.receive(db, i, at="WID-CIRC", operator="circ")  # the lender's own barcode still works
    assert rs.show(db, i)["status"] == rs.RECEIVED


TOO_LARGE = [MAX_ROW_ID + 1, 2**63, 10**23, 0, -1]


@pytest.mark.parametrize("ident", TOO_LARGE)
def test_an_id_no_row_can_have_is_not_found_never_an_overflow(db, ident):
    i = _sent(db)
    before = db_fingerprint(db)
    for call in (lambda: rs.show(db, ident), lambda: rs.borrowing_history(db, ident),
                 lambda: rs.partner_ship(db, ident, operator="rs"), lambda: rs.loan(db, ident, operator="circ"),
                 lambda: rs.return_item(db, ident, at="WID-CIRC", operator="circ"),
                 lambda: requests.activate(db, ident, operator="admin"),
                 lambda: requests.cancel(db, ident, operator="admin"),
                 lambda: requests.audit_trail(db, ident)):
        with pytest.raises(NotFound, match=str(ident)):
            call()
    with pytest.raises(NotFound, match=f"no message or note {ident}"):
        rs.dismiss(db, i, ident, operator="rs")
    assert db_fingerprint(db) == before


# -- text the word index or the server cannot take -------------------------------------------------

@pytest.mark.parametrize("query", ["ab\x00cd", "\x00*", "law\x1b[2J", "W0\x07*", "x\udcff"])
def test_a_search_with_a_control_character_is_refused_the_same_on_both_engines(db, query):
    """FTS5 read NUL as the end of its query (a syntax error, exit 70) and PostgreSQL takes
    no NUL; a person gets one line instead, on either engine."""
    with pytest.raises(InvalidInput, match="control character"):
        queries.search(db, query)
    with pytest.raises(InvalidInput, match="control character"):
        queries.inprocess_page(db, queries.InProcessFilter("CCWID", search=query))


def test_tabs_and_spaces_in_a_search_part_words(db):
    assert queries.search(db, "\tW01 ") == queries.search(db, "W01")


@pytest.mark.parametrize("lookup", [
    lambda db: queries.item_show(db, "W0\x001"),
    lambda db: queries.item_history(db, "W0\x001"),
    lambda db: circulation.loan(db, "W01", "P\x000", at="WID-CIRC", operator="circ"),
    lambda db: circulation.return_item(db, "W\x0001", at="WID-CIRC", operator="circ"),
], ids=["item show", "item history", "loan --patron", "return"])
def test_a_nul_in_a_looked_up_value_is_a_user_error_on_every_engine(db, lookup):
    """SQLite finds no such row; PostgreSQL's driver refuses NUL in text before sending it,
    and that (SQLSTATE class 22, a data exception) is a user error too, not exit 70."""
    before = db_fingerprint(db)
    with pytest.raises(LibdeskError) as err:
        lookup(db)
    assert "\n" not in err.value.message
    assert db_fingerprint(db) == before
