"""Barcode rules: prefix/suffix, length, characters, the library mod-10 check digit."""

from __future__ import annotations

import pytest

from libdesk.scanners.barcodes import BarcodeRules, Rejected, Scan, luhn_check_digit


@pytest.mark.parametrize(("body", "digit"), [
    ("3023400051786", 1),   # JerseyCat barcode FAQ worked example (cited in barcodes.py)
    ("3319100010586", 4),   # Dynix "Barcode Format" example 3 3191 00010586 4
    ("7992739871", 3),      # the classic Luhn example
])
def test_check_digit_matches_published_examples(body: str, digit: int) -> None:
    assert luhn_check_digit(body) == digit


def test_library_check_digit_accepts_a_good_barcode_and_rejects_a_misread() -> None:
    rules = BarcodeRules(check_digit="library")
    assert rules.check("30234000517861") == Scan("30234000517861", "30234000517861")
    bad = rules.check("30234000517862")
    assert isinstance(bad, Rejected)
    assert "check digit 2 is wrong (expected 1)" in bad.reason
    # a transposition of two neighbours is a misread the check digit catches
    assert isinstance(rules.check("30234000157861"), Rejected)


def test_library_check_digit_wants_fourteen_digits() -> None:
    rules = BarcodeRules(check_digit="library")
    short = rules.check("3023400051786")
    assert isinstance(short, Rejected) and "14-digit" in short.reason


def test_luhn_any_length() -> None:
    rules = BarcodeRules(check_digit="luhn")
    assert isinstance(rules.check("79927398713"), Scan)
    assert isinstance(rules.check("79927398710"), Rejected)
    assert isinstance(rules.check("7992739871X"), Rejected)


def test_prefix_and_suffix_are_stripped_and_required() -> None:
    rules = BarcodeRules(prefix="\x02", suffix="#")
    assert rules.check("\x02W01#") == Scan("W01", "\x02W01#")
    missing = rules.check("W01#")
    assert isinstance(missing, Rejected) and "prefix" in missing.reason
    assert isinstance(rules.check("\x02W01"), Rejected)
    empty = rules.check("\x02#")
    assert isinstance(empty, Rejected) and "Empty" in empty.reason


def test_length_and_charset_give_reasons() -> None:
    rules = BarcodeRules(min_length=14, max_length=14, charset="digits")
    short = rules.check("3204400000020")
    assert isinstance(short, Rejected) and "13 characters" in short.reason and "14" in short.reason
    letters = rules.check("3204400000O200")
    assert isinstance(letters, Rejected) and "'O'" in letters.reason


def test_control_characters_are_not_a_barcode() -> None:
    bad = BarcodeRules().check("W0\x001")
    assert isinstance(bad, Rejected) and "control characters" in bad.reason
    assert "\x00" not in bad.raw  # the preview is printable


def test_codabar_start_stop_letters_can_be_stripped() -> None:
    rules = BarcodeRules(strip_start_stop=True, check_digit="library")
    assert rules.check("A30234000517861B") == Scan("30234000517861", "A30234000517861B")


def test_default_rules_accept_what_the_engine_accepts() -> None:
    assert BarcodeRules().check(" W01 ") == Scan("W01", " W01 ")
    assert isinstance(BarcodeRules().check("x" * 65), Rejected)
