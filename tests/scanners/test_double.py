"""S4: the same barcode within the double-scan window is not acted on twice."""

from __future__ import annotations

from libdesk.scanners.double import DoubleScanFilter


def test_double_scan_within_window_is_ignored_and_said_so() -> None:
    f = DoubleScanFilter(1.5)
    assert f.check("W01", 10.0) is None
    repeat = f.check("W01", 10.4)
    assert repeat is not None
    assert repeat.barcode == "W01" and abs(repeat.since - 0.4) < 1e-9
    assert "not acted on twice" in repeat.message and "1.5 s" in repeat.message


def test_after_the_window_the_barcode_counts_again() -> None:
    f = DoubleScanFilter(1.5)
    assert f.check("W01", 0.0) is None
    assert f.check("W01", 1.6) is None


def test_window_slides_while_the_book_stays_under_the_scanner() -> None:
    f = DoubleScanFilter(1.5)
    assert f.check("W01", 0.0) is None
    for t in (1.0, 2.0, 3.0, 4.0):  # presentation scanner re-reading every second
        assert f.check("W01", t) is not None
    assert f.check("W01", 5.6) is None


def test_other_barcodes_are_not_blocked() -> None:
    f = DoubleScanFilter(1.5)
    assert f.check("W01", 0.0) is None
    assert f.check("W02", 0.1) is None
    assert f.check("W01", 0.2) is not None


def test_forget_lets_an_immediate_rescan_through_after_an_error() -> None:
    f = DoubleScanFilter(1.5)
    f.check("W01", 0.0)
    f.forget("W01")
    assert f.check("W01", 0.1) is None


def test_zero_window_turns_the_filter_off() -> None:
    f = DoubleScanFilter(0)
    assert f.check("W01", 0.0) is None
    assert f.check("W01", 0.0) is None


def test_many_barcodes_are_pruned() -> None:
    f = DoubleScanFilter(1.0)
    for n in range(1000):
        f.check(f"B{n}", n * 0.1)
    assert len(f._seen) <= 80
