"""The keyboard-wedge burst detector, driven with synthetic timestamps (STYLE.md section 10)."""

from __future__ import annotations

import random

import pytest

from libdesk.scanners.barcodes import BarcodeRules, Rejected, Scan
from libdesk.scanners.wedge import BurstDetector, PassThrough, WedgeEvent

SCANNER_GAP = 0.003   # a USB scanner: a key every few milliseconds
HUMAN_GAP = 0.180     # a quick typist


def keys(det: BurstDetector, text: str, start: float, gap: float, out: list[WedgeEvent]) -> float:
    """Type ``text`` from ``start`` with ``gap`` between keys; return the time of the last key."""
    t = start
    for i, ch in enumerate(text):
        t = start + i * gap
        out.extend(det.feed(ch, t, token=(ch, t)))
    return t


def settle(det: BurstDetector, out: list[WedgeEvent], now: float) -> None:
    """What the app's timer does: poll once the deadline passed."""
    deadline = det.deadline()
    if deadline is not None:
        out.extend(det.poll(max(now, deadline)))


def typed(events: list[WedgeEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, PassThrough))


def scans(events: list[WedgeEvent]) -> list[str]:
    return [e.barcode for e in events if isinstance(e, Scan)]


def test_scanner_burst_ending_in_enter_is_one_scan_and_types_nothing() -> None:
    det, out = BurstDetector(), []
    keys(det, "32044000000200\r", 5.0, SCANNER_GAP, out)
    assert out == [Scan("32044000000200", "32044000000200")]
    assert det.deadline() is None


def test_human_typing_is_passed_through_in_order() -> None:
    det, out = BurstDetector(), []
    last = keys(det, "hello\r", 1.0, HUMAN_GAP, out)
    settle(det, out, last + 1)
    assert scans(out) == []
    assert typed(out) == "hello\r"


def test_held_keys_are_released_by_poll_after_the_deadline() -> None:
    det, out = BurstDetector(), []
    out.extend(det.feed("a", 1.0))
    assert out == []  # held: it could be the start of a burst
    deadline = det.deadline()
    assert deadline is not None and deadline > 1.0
    assert det.poll(1.0 + 0.001) == []  # not yet
    released = det.poll(deadline)
    assert typed(released) == "a"


def test_every_key_comes_back_exactly_once_with_its_token() -> None:
    det, out = BurstDetector(min_burst_length=3), []
    keys(det, "ab", 0.0, HUMAN_GAP, out)
    keys(det, "W01\r", 1.0, SCANNER_GAP, out)
    last = keys(det, "cd", 2.0, HUMAN_GAP, out)
    settle(det, out, last + 1)
    tokens = [k.token[0] for e in out if isinstance(e, PassThrough) for k in e.keys]
    assert tokens == ["a", "b", "c", "d"]
    assert scans(out) == ["W01"]


def test_fast_keys_without_enter_are_typing() -> None:
    det, out = BurstDetector(), []
    last = keys(det, "32044000000200", 0.0, SCANNER_GAP, out)
    settle(det, out, last + 1)
    assert scans(out) == [] and typed(out) == "32044000000200"


def test_a_short_burst_is_typing() -> None:
    det, out = BurstDetector(min_burst_length=4), []
    keys(det, "ab\r", 0.0, SCANNER_GAP, out)
    assert scans(out) == [] and typed(out) == "ab\r"


def test_a_late_enter_is_typing() -> None:
    det, out = BurstDetector(), []
    last = keys(det, "32044000000200", 0.0, SCANNER_GAP, out)
    out.extend(det.feed("\r", last + 0.5))
    assert scans(out) == [] and typed(out) == "32044000000200\r"


def test_roll_over_pairs_of_a_fast_typist_never_make_a_scan() -> None:
    rng = random.Random(8)
    det, out = BurstDetector(), []
    t = 0.0
    text = "the quick brown fox jumps over the lazy dog\r" * 20
    for ch in text:
        # mostly 80-250 ms, one key in five a 15-35 ms roll-over after the previous one
        t += rng.uniform(0.015, 0.035) if rng.random() < 0.2 else rng.uniform(0.08, 0.25)
        out.extend(det.feed(ch, t))
    settle(det, out, t + 1)
    assert scans(out) == [] and not any(isinstance(e, Rejected) for e in out)
    assert typed(out) == text


def test_burst_that_starts_while_a_person_was_typing() -> None:
    det, out = BurstDetector(), []
    keys(det, "note", 0.0, HUMAN_GAP, out)
    # the person's last key at 0.54, the scanner fires 25 ms later: within the 40 ms gap
    out.extend(det.feed("s", 0.70))
    keys(det, "32044000000200\r", 0.725, SCANNER_GAP, out)
    assert scans(out) == ["32044000000200"]
    assert typed(out) == "notes"


def test_leading_key_kept_when_only_the_whole_burst_is_valid() -> None:
    # A scanner that pauses after its first key: timing alone would split it off, but only
    # the whole burst passes the rules, so it is kept.
    det, out = BurstDetector(rules=BarcodeRules(min_length=14, max_length=14)), []
    out.extend(det.feed("3", 0.0))
    keys(det, "2044000000200\r", 0.030, SCANNER_GAP, out)
    assert scans(out) == ["32044000000200"] and typed(out) == ""


def test_keys_typed_right_after_a_scan_are_typing() -> None:
    det, out = BurstDetector(), []
    last = keys(det, "W0001\r", 0.0, SCANNER_GAP, out)
    last = keys(det, "ok", last + 0.3, HUMAN_GAP, out)
    settle(det, out, last + 1)
    assert scans(out) == ["W0001"] and typed(out) == "ok"


def test_cr_lf_from_the_scanner_is_one_scan_and_no_extra_enter() -> None:
    det, out = BurstDetector(), []
    last = keys(det, "W0001\r\n", 0.0, SCANNER_GAP, out)
    settle(det, out, last + 1)
    assert out == [Scan("W0001", "W0001")]


def test_keyed_in_paste_of_several_lines_is_several_scans() -> None:
    # A terminal without bracketed paste delivers a paste as very fast keys.
    det, out = BurstDetector(), []
    last = keys(det, "W0001\rW0002\rW0003\r", 0.0, 0.0005, out)
    settle(det, out, last + 1)
    assert scans(out) == ["W0001", "W0002", "W0003"] and typed(out) == ""


def test_bracketed_paste_is_one_scan_per_non_blank_line() -> None:
    det = BurstDetector(rules=BarcodeRules(check_digit="library"))
    out = det.paste("30234000517861\n\n  \r\n30234000517862\r\n33191000105864")
    assert scans(out) == ["30234000517861", "33191000105864"]
    rejected = [e for e in out if isinstance(e, Rejected)]
    assert len(rejected) == 1 and "check digit" in rejected[0].reason


def test_a_misread_burst_is_rejected_with_a_reason_and_not_typed() -> None:
    det, out = BurstDetector(rules=BarcodeRules(check_digit="library")), []
    keys(det, "30234000517862\r", 0.0, SCANNER_GAP, out)
    assert len(out) == 1 and isinstance(out[0], Rejected)
    assert "check digit 2 is wrong (expected 1)" in out[0].reason
    assert typed(out) == ""


def test_prefix_and_suffix_are_stripped() -> None:
    det, out = BurstDetector(rules=BarcodeRules(prefix="*", suffix="*")), []
    keys(det, "*W0001*\r", 0.0, SCANNER_GAP, out)
    assert scans(out) == ["W0001"]


def test_tab_as_end_key() -> None:
    det, out = BurstDetector(end_key="tab"), []
    keys(det, "W0001\t", 0.0, SCANNER_GAP, out)
    assert scans(out) == ["W0001"]
    det, out = BurstDetector(end_key="tab"), []
    last = keys(det, "W0001\r", 0.0, SCANNER_GAP, out)
    settle(det, out, last + 1)
    assert scans(out) == [] and typed(out) == "W0001\r"


def test_interrupt_releases_held_keys_first() -> None:
    det, out = BurstDetector(), []
    keys(det, "ab", 0.0, SCANNER_GAP, out)
    out.extend(det.interrupt(0.01))  # e.g. an arrow key
    assert typed(out) == "ab"
    keys(det, "W0001\r", 0.012, SCANNER_GAP, out)  # the next burst is not glued to the special key
    assert scans(out) == ["W0001"]


def test_a_key_held_down_is_typing_not_a_burst() -> None:
    det, out = BurstDetector(max_burst=128), []
    last = keys(det, "x" * 500, 0.0, 0.02, out)  # auto-repeat at 50 Hz
    out.extend(det.feed("\r", last + 0.01))
    settle(det, out, last + 1)
    assert scans(out) == [] and typed(out) == "x" * 500 + "\r"
    assert len(det._held) == 0


def test_key_exactly_at_the_gap_belongs_to_the_burst() -> None:
    det, out = BurstDetector(max_key_gap=0.04), []
    keys(det, "W0001\r", 0.0, 0.04, out)
    assert scans(out) == ["W0001"]


def test_feed_takes_one_character() -> None:
    with pytest.raises(ValueError, match="interrupt"):
        BurstDetector().feed("up", 0.0)
