"""What a barcode may be: the one check, for every way a barcode reaches the engine.

:func:`clean_barcode` is for a barcode that looks an item up (a scan, a barcode list): it
must be one line of printable text of at most 64 characters. :func:`check_barcode` is for a
barcode that *names* an item from now on (an import, a lender's barcode recorded at
partner-ship, the temporary item made at receive): it must also never read as a path, as file
names are made from barcodes (slips). Lookups stay lenient, so an item imported before the
rule can still be scanned.
"""

from __future__ import annotations

from libdesk.errors import InvalidInput

MAX_BARCODE_LENGTH = 64

PATH_PARTS = ("/", "\\", "..")
"""What a barcode that names an item may not contain: a folder separator, or a step up."""


def clean_barcode(raw: str) -> str:
    """Trim a scanned barcode; refuse what cannot be one.

    Raises:
        InvalidInput: empty, too long, or containing control characters.
    """
    barcode = raw.strip()
    if not barcode:
        raise InvalidInput("Empty barcode")
    if len(barcode) > MAX_BARCODE_LENGTH:
        raise InvalidInput(f"Not a barcode: {len(barcode)} characters (at most {MAX_BARCODE_LENGTH})")
    if not barcode.isprintable():
        raise InvalidInput(f"Not a barcode: it contains control characters ({_shown(barcode)})")
    return barcode


def check_barcode(raw: str) -> str:
    """A barcode that is to name an item: :func:`clean_barcode`, and no ``/``, ``\\`` or ``..``.

    Raises:
        InvalidInput: empty, too long, control characters (NUL included), or a path part.
    """
    barcode = clean_barcode(raw)
    for part in PATH_PARTS:
        if part in barcode:
            what = "'..'" if part == ".." else f"a path separator ({part})"
            raise InvalidInput(f"Not a barcode: {_shown(barcode)} contains {what} "
                               "(a barcode may not contain / \\ or ..)")
    return barcode


def _shown(text: str) -> str:
    """The text quoted and escaped (no control character reaches the terminal), at most 40
    characters of it."""
    return repr(text[:40]) + ("…" if len(text) > 40 else "")
