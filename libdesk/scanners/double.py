"""The double-scan window (S4): the same barcode twice within the window is acted on once.

A scanner in presentation mode re-reads a book held under it every few hundred milliseconds,
and a worker's trigger finger bounces; neither must move an item twice (a second Scan In at a
department is a logged status move, a second Done could route it on). The window slides: it
is measured from the *latest* sighting of the barcode, so a book left under the scanner is
acted on once however long it stays, and is acted on again only after the window passes
with no read of it. Different barcodes never block each other.

Pure: the caller passes the time (monotonic seconds), as for the burst detector.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_WINDOW = 1.5


@dataclass(frozen=True)
class Repeat:
    """A barcode seen again within the window: not to be acted on."""

    barcode: str
    since: float
    """Seconds since the previous read of it."""
    window: float

    @property
    def message(self) -> str:
        return (f"{self.barcode} scanned again within {self.window:g} s: not acted on twice "
                f"(scan it again after {self.window:g} s to repeat the action)")


class DoubleScanFilter:
    """Remembers recent barcodes; :meth:`check` says whether a read is a repeat."""

    def __init__(self, window: float = DEFAULT_WINDOW) -> None:
        """Args:
            window: seconds; 0 turns the filter off.
        """
        if window < 0:
            raise ValueError("the double-scan window cannot be negative")
        self.window = window
        self._seen: dict[str, float] = {}

    def check(self, barcode: str, now: float) -> Repeat | None:
        """Record a read of ``barcode`` at ``now``. None: act on it; a :class:`Repeat`: don't,
        and say so (its ``message``)."""
        if self.window <= 0:
            return None
        self._forget_older_than(now - self.window)
        previous = self._seen.get(barcode)
        self._seen[barcode] = now
        if previous is not None and 0 <= now - previous <= self.window:
            return Repeat(barcode, now - previous, self.window)
        return None

    def forget(self, barcode: str) -> None:
        """The action on ``barcode`` failed (an error was shown): let an immediate rescan
        through instead of calling it a repeat."""
        self._seen.pop(barcode, None)

    def _forget_older_than(self, cutoff: float) -> None:
        # Bounded by what one desk can scan in one window; pruning keeps it so for a long day.
        if len(self._seen) > 64:
            self._seen = {b: t for b, t in self._seen.items() if t >= cutoff}
