"""Keyboard-wedge scanners: telling a scanner's burst of keys from a person typing (S3).

A wedge scanner "types" the barcode and Enter, each key a few milliseconds after the last; a
person leaves 60-300 ms between keys (a fast roll-over of two keys can come within 20-30 ms,
never a whole barcode and Enter). :class:`BurstDetector` is a pure state machine fed
``(character, timestamp)`` pairs; it never reads a clock, so tests drive it with synthetic
times and the app with ``events.Key.time`` (monotonic seconds).

Contract:
- Keys are *held* while they could still be the start of a burst. Every held key comes back
  out exactly once, in order: either inside a :class:`~libdesk.scanners.barcodes.Scan` /
  :class:`~libdesk.scanners.barcodes.Rejected` (a burst: the keys are consumed, nothing is
  typed into the focused field) or inside a :class:`PassThrough` (a person typing: replay
  them to the focused widget). The one exception: a second end key right after a burst
  (scanners set to send CR LF type Enter twice) is swallowed.
- A burst is at least ``min_burst_length`` characters, each within ``max_key_gap`` of the
  previous one, followed within ``max_key_gap`` by the end key (Enter by default). Its text
  then goes through the :class:`~libdesk.scanners.barcodes.BarcodeRules` (prefix/suffix,
  length, characters, check digit): a misread is a ``Rejected`` with the reason.
- A burst that starts right after a person's key (the scanner fired while someone was typing)
  usually shows a leading gap much longer than the scanner's own rhythm; those leading keys are
  split off and passed through (:meth:`BurstDetector._split_leading_typing`), unless only the
  whole burst passes the rules (a scanner that pauses after its first key).
- Held keys are released when the next key comes too late, on :meth:`poll` once
  :meth:`deadline` has passed (the app sets a timer for it), or on :meth:`interrupt` (a key that
  is not a character, such as an arrow or F-key, which the app handles itself afterwards).
- A key held down (auto-repeat) or anything longer than ``max_burst`` characters is typing,
  not a scanner: it is passed through in chunks and the rest of that run too.
- Pasted text (:meth:`paste`, from a terminal's bracketed paste) is one scan per non-blank
  line, whatever the timing.

Wiring in the app (STYLE.md section 7): ``LibdeskApp.on_event`` feeds every unforwarded
printable ``events.Key`` (and Enter/Tab as ``"\\r"``/``"\\t"``) to :meth:`feed` with the
event as ``token`` and stops it; it calls :meth:`interrupt` before any other key; it sets a
timer for :meth:`deadline` and calls :meth:`poll` then. ``Scan``/``Rejected`` go to the active
screen's scan handler (through a :class:`~libdesk.scanners.double.DoubleScanFilter`);
``PassThrough`` tokens are re-posted to the focused widget in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import median
from typing import Any, Literal

from libdesk.scanners.barcodes import BarcodeRules, Rejected, Scan, ScanEvent

__all__ = ["BurstDetector", "Key", "PassThrough", "Rejected", "Scan", "WedgeEvent"]

# Scanners send a key every 1-15 ms (USB HID polls at 1-8 ms); people stay above ~50 ms
# except for roll-over pairs. 40 ms sits between; onScan.js and jQuery scannerDetection use
# 30 ms average per character for the same decision.
DEFAULT_MAX_KEY_GAP = 0.040
DEFAULT_MIN_BURST_LENGTH = 4
# Longer than any barcode the engine accepts (64) with room for prefix and suffix.
DEFAULT_MAX_BURST = 128

# Timestamps are floats: a key "exactly" max_key_gap later must not fall out by rounding.
_EPSILON = 1e-9

EndKey = Literal["enter", "tab", "either"]
_ENTER = frozenset("\r\n")
_TAB = frozenset("\t")
_END_KEYS: dict[str, frozenset[str]] = {"enter": _ENTER, "tab": _TAB, "either": _ENTER | _TAB}


@dataclass(frozen=True)
class Key:
    """One key given to the detector."""

    char: str
    time: float
    token: Any = None
    """Whatever the caller passed along (the app: the original ``events.Key``) to replay."""


@dataclass(frozen=True)
class PassThrough:
    """Keys a person typed: deliver them to the focused widget, in order."""

    keys: tuple[Key, ...]

    @property
    def text(self) -> str:
        return "".join(k.char for k in self.keys)


WedgeEvent = ScanEvent | PassThrough


@dataclass
class BurstDetector:
    """Splits a stream of timed keys into scans and ordinary typing (see the module doc)."""

    rules: BarcodeRules = field(default_factory=BarcodeRules)
    max_key_gap: float = DEFAULT_MAX_KEY_GAP
    """Longest gap (seconds) between two keys of one burst, and before its end key."""
    min_burst_length: int = DEFAULT_MIN_BURST_LENGTH
    """Fewest characters (before the end key, prefix and suffix included) that make a burst."""
    end_key: EndKey = "enter"
    max_burst: int = DEFAULT_MAX_BURST

    def __post_init__(self) -> None:
        self._held: list[Key] = []
        self._overflowing = False  # inside a run longer than max_burst: all typing
        self._after_burst = False  # a burst just ended: a second end key (CR LF) belongs to it
        self._last_time: float | None = None
        self._end = _END_KEYS[self.end_key]

    # -- input ------------------------------------------------------------------------------

    def feed(self, char: str, time: float, token: Any = None) -> list[WedgeEvent]:
        """Give the detector one key: a single character, ``"\\r"``/``"\\n"`` for Enter,
        ``"\\t"`` for Tab. Returns what is now decided (often nothing: the key is held).

        Raises:
            ValueError: ``char`` is not one character (other keys go to :meth:`interrupt`).
        """
        if len(char) != 1:
            raise ValueError(f"feed() takes one character, not {char!r}: use interrupt() for other keys")
        key = Key(char, time, token)
        out: list[WedgeEvent] = []
        close = self._last_time is not None and time - self._last_time <= self.max_key_gap + _EPSILON
        self._last_time = time
        after_burst, self._after_burst = self._after_burst, False
        if not close:
            self._overflowing = False
            self._release(out)
        if char in self._end and close and after_burst:
            # Scanners set to send CR LF type two end keys; the second must not reach a
            # widget (it would press a button or submit a form).
            return out
        if char in self._end:
            if close and not self._overflowing and len(self._held) >= self.min_burst_length:
                self._finish_burst(out)
            else:
                self._release(out)
                out.append(PassThrough((key,)))
            return out
        if self._overflowing or not char.isprintable():
            # Control characters other than the end key are never part of a wedge barcode.
            self._release(out)
            out.append(PassThrough((key,)))
            return out
        self._held.append(key)
        if len(self._held) > self.max_burst:
            self._overflowing = True  # a key held down, or a flood: typing until a pause
            self._release(out)
        return out

    def poll(self, now: float) -> list[WedgeEvent]:
        """Release held keys once no burst can continue from them (call at :meth:`deadline`)."""
        out: list[WedgeEvent] = []
        if self._last_time is not None and now - self._last_time > self.max_key_gap + _EPSILON:
            self._overflowing = False
            self._release(out)
        return out

    def deadline(self) -> float | None:
        """When :meth:`poll` can next release something (None: nothing is held)."""
        if not self._held or self._last_time is None:
            return None
        # Strictly after the gap: feed() treats a key exactly max_key_gap later as close.
        return self._last_time + self.max_key_gap * 1.01

    def interrupt(self, time: float) -> list[WedgeEvent]:
        """A non-character key (arrow, F-key, ctrl+x...) arrived: it ends any burst. The held
        keys come back as typing first, so the app can then handle the key itself in order."""
        out: list[WedgeEvent] = []
        self._last_time = time
        self._overflowing = False
        self._release(out)
        # The special key is not fed, but the next key must not count as close to it.
        self._last_time = None
        return out

    def paste(self, text: str) -> list[WedgeEvent]:
        """Bracketed paste: every non-blank line is one scan (S3), checked by the rules.
        Anything held is released first (it was typed before the paste)."""
        out: list[WedgeEvent] = []
        self._release(out)
        self._last_time = None
        for line in text.splitlines():
            if line.strip():
                out.append(self.rules.check(line.strip()))
        return out

    # -- inside -------------------------------------------------------------------------------

    def _release(self, out: list[WedgeEvent]) -> None:
        if self._held:
            out.append(PassThrough(tuple(self._held)))
            self._held = []

    def _finish_burst(self, out: list[WedgeEvent]) -> None:
        keys, self._held = self._held, []
        self._after_burst = True
        start = self._split_leading_typing(keys)
        whole = self.rules.check("".join(k.char for k in keys))
        if start:
            trimmed = self.rules.check("".join(k.char for k in keys[start:]))
            # Timing says the first keys were a person's; the rules get the last word when
            # only the whole burst is a valid barcode (some scanners pause after the first key).
            if isinstance(trimmed, Scan) or not isinstance(whole, Scan):
                out.append(PassThrough(tuple(keys[:start])))
                out.append(trimmed)
                return
        out.append(whole)

    def _split_leading_typing(self, keys: list[Key]) -> int:
        """How many leading keys of a burst a person typed.

        A person's key just before the scanner fired joins the burst only because it came
        within ``max_key_gap`` of the first scanned key; its gap is then much longer than the
        scanner's steady rhythm. Leading keys whose gap to the next is more than three times
        the median gap of the rest (and over a quarter of ``max_key_gap``, so jitter in a very
        fast scanner is not mistaken for it) are split off. Never leaves fewer than
        ``min_burst_length`` keys."""
        start = 0
        while len(keys) - start > self.min_burst_length:
            gaps = [b.time - a.time for a, b in zip(keys[start + 1:], keys[start + 2:])]
            if not gaps:
                break
            lead = keys[start + 1].time - keys[start].time
            if lead > max(3 * median(gaps), self.max_key_gap / 4):
                start += 1
            else:
                break
        return start
