"""What a scanner hands over, and the rules that tell a barcode from a misread.

Both scanner paths (the keyboard-wedge burst detector in :mod:`libdesk.scanners.wedge` and the
serial line splitter in :mod:`libdesk.scanners.lines`) end in the same two events:

- :class:`Scan`: a barcode, prefix/suffix removed, that passed the configured rules;
- :class:`Rejected`: something that came from the scanner but is not a barcode here, with a
  ``reason`` a desk worker can act on ("check digit 7 is wrong (expected 1): a misread? scan
  it again"). A rejected read never reaches the engine, so it changes nothing.

:class:`BarcodeRules` is pure and cheap (a few string operations per scan); it knows nothing
of the database. The engine's own :func:`libdesk.scan.clean_barcode` still runs afterwards,
so the defaults here are deliberately no stricter than it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# The engine refuses longer barcodes (libdesk.scan.MAX_BARCODE_LENGTH); not imported from
# there because that module pulls in SQLAlchemy and this one must stay light for the app.
DEFAULT_MAX_LENGTH = 64

CheckDigit = Literal["none", "library", "luhn"]
CHECK_DIGITS: tuple[str, ...] = ("none", "library", "luhn")

_DIGITS = frozenset("0123456789")
_ALNUM = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
CHARSETS: dict[str, frozenset[str] | None] = {
    "any": None,  # any printable character (the engine's own rule)
    "digits": _DIGITS,
    "alphanumeric": _ALNUM,
    # Codabar data characters; the start/stop letters A-D only when the scanner sends them.
    "codabar": _DIGITS | frozenset("-$:/.+ABCD"),
    "code39": _DIGITS | frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ -.$/+%"),
}

LIBRARY_BARCODE_LENGTH = 14


@dataclass(frozen=True)
class Scan:
    """A barcode read by a scanner that passed the rules."""

    barcode: str
    """The barcode, prefix and suffix removed: what goes to :func:`libdesk.scan.scan_in`."""
    raw: str
    """What the scanner sent (decoded), for logs."""


@dataclass(frozen=True)
class Rejected:
    """A read that is not a barcode here (misread, garbage, wrong settings)."""

    raw: str
    """A short printable preview of what was read (never the whole of a 10,000-byte line)."""
    reason: str
    """One line for a person: what is wrong and, where it helps, what to do."""


ScanEvent = Scan | Rejected


def preview(text: str, limit: int = 40) -> str:
    """A printable, bounded rendering of scanner input for messages (control characters
    escaped, long input cut with an ellipsis)."""
    head = text[:limit + 1]  # never escape more than can be shown (input may be 10,000 bytes)
    shown = head if head.isprintable() else repr(head)[1:-1]
    return shown if len(shown) <= limit and len(text) <= limit else shown[:limit] + "…"


def luhn_check_digit(body: str) -> int:
    """The mod-10 ("Luhn", "modulus 10 type 1") check digit for a string of digits.

    Counting from the right-hand end of ``body`` (the digit just before where the check
    digit goes), every other digit is doubled and a two-digit product has its digits added
    (same as subtracting 9); the check digit brings the sum to a multiple of 10.

    For the 14-digit library barcode (1 type digit, 3 = item and 2 = patron; 4-digit
    institution number; 8-digit item number; check digit) that means doubling positions
    1, 3, ..., 13 counted from the left: exactly the procedure in the JerseyCat (New Jersey
    State Library) barcode FAQ, http://www.jerseycat.org/faq/bar_codes.php ("a modulus-10,
    type-1 check digit ... multiply the value in each odd-numbered position by 2; if the
    product is a 2-digit number, add the two digits together ... subtract the remainder from
    10"; worked example 3023400051786 -> 1), and in the Dynix "Barcode Format" note
    (https://studyres.com/doc/5462227/, example 3 3191 00010586 -> 4). Both examples are
    in tests/scanners/test_barcodes.py.
    """
    total = 0
    for position, char in enumerate(reversed(body)):
        digit = ord(char) - 48
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10


@dataclass(frozen=True)
class BarcodeRules:
    """How to turn what a scanner sends into a barcode, or a reason why it is not one.

    Applied in this order: strip the prefix, strip the suffix, strip Codabar start/stop
    letters (``strip_start_stop``), trim spaces, then check: printable, length, characters,
    check digit. The first failing check is the reject reason.
    """

    prefix: str = ""
    """Characters the scanner is set to send before every barcode (required when set: a
    read without it is garbled)."""
    suffix: str = ""
    """Characters the scanner sends after every barcode (before its terminator)."""
    min_length: int = 1
    max_length: int = DEFAULT_MAX_LENGTH
    charset: str = "any"
    """One of :data:`CHARSETS`."""
    check_digit: CheckDigit = "none"
    """``library``: 14 digits with a mod-10 check digit (the Codabar library barcode);
    ``luhn``: any number of digits, the last one a mod-10 check digit; ``none``."""
    strip_start_stop: bool = False
    """Remove Codabar start/stop letters (A-D at both ends) when the scanner transmits them."""

    def check(self, raw: str) -> ScanEvent:
        """One read in, a :class:`Scan` or a :class:`Rejected` out; never raises."""
        text = raw
        if self.prefix:
            if not text.startswith(self.prefix):
                return Rejected(preview(raw), f"'{preview(raw)}' does not start with the scanner prefix "
                                              f"'{preview(self.prefix)}': a partial read? scan it again")
            text = text[len(self.prefix):]
        if self.suffix:
            if not text.endswith(self.suffix):
                return Rejected(preview(raw), f"'{preview(raw)}' does not end with the scanner suffix "
                                              f"'{preview(self.suffix)}': a partial read? scan it again")
            text = text[: len(text) - len(self.suffix)]
        if self.strip_start_stop and len(text) >= 2 and text[0] in "ABCDabcd" and text[-1] in "ABCDabcd":
            text = text[1:-1]
        barcode = text.strip()
        reason = self._problem(barcode)
        if reason is not None:
            return Rejected(preview(raw), reason)
        return Scan(barcode, raw)

    def _problem(self, barcode: str) -> str | None:
        if not barcode:
            return "Empty read (nothing left after the prefix/suffix)" if (self.prefix or self.suffix) \
                else "Empty read"
        shown = preview(barcode)
        if not barcode.isprintable():
            return f"{shown} contains control characters: not a barcode (check the scanner's encoding and settings)"
        n = len(barcode)
        if n < self.min_length or n > self.max_length:
            want = str(self.min_length) if self.min_length == self.max_length else \
                f"{self.min_length} to {self.max_length}"
            return f"{shown} has {n} characters; barcodes here have {want}: a misread? scan it again"
        allowed = CHARSETS.get(self.charset)
        if allowed is not None:
            bad = sorted({c for c in barcode if c not in allowed})
            if bad:
                return (f"{shown} contains {''.join(bad)!r}, not allowed in {self.charset} barcodes: "
                        "a misread? scan it again")
        if self.check_digit == "none":
            return None
        if self.check_digit == "library" and (n != LIBRARY_BARCODE_LENGTH or not _DIGITS.issuperset(barcode)):
            return f"{shown} is not a 14-digit library barcode"
        if self.check_digit == "luhn" and (n < 2 or not _DIGITS.issuperset(barcode)):
            return f"{shown} is not all digits with a check digit"
        expected = luhn_check_digit(barcode[:-1])
        if int(barcode[-1]) != expected:
            return (f"{shown}: check digit {barcode[-1]} is wrong (expected {expected}): "
                    "a misread? scan it again")
        return None
