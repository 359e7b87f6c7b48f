"""Fair turns at SQLite's write lock: a desk waiting to write says so, and a bulk run lets it in.

SQLite's busy handler is not fair. A writer that finds the lock taken sleeps (1, 2, 5, ...
up to 100 ms) between tries, so a bulk run that commits and begins its next batch at once
wins almost every time: a desk scanning once a second got nothing through for 89 s during a
bulk Done of 30,000 items (issue 11), and a pause of a few ms between batches only helps a
waiter that happens to wake inside it.

So a writer says it is waiting: while it waits in ``BEGIN IMMEDIATE`` it holds a shared
``flock`` on a side file beside the database (``<database>-writers``). Between two batches a
bulk run asks for an exclusive lock on the same file without blocking; that fails exactly
when somebody is waiting, and then the bulk run holds back (without the write lock) until the
waiter has begun its transaction, and only then begins its next batch, which queues behind it.

``flock`` and not ``fcntl``/``lockf``: POSIX record locks belong to the process, so a second
thread of the same process waiting would be invisible, and closing any descriptor of a file
drops all of the process's record locks on it, which is why the database file itself (locked
by SQLite with record locks) is never used for this. ``flock`` locks belong to the open file
description, one per connection here. Where there is no ``flock`` (Windows) or the side file
cannot be made (a read-only folder), writers do not signal and a bulk run just pauses briefly
between batches.
"""

from __future__ import annotations

import os
import time
from types import TracebackType

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

SUFFIX = "-writers"

YIELD_POLL_S = 0.001
"""How often a bulk run looks again whether the waiting desk has begun."""

YIELD_MAX_S = 1.0
"""A bulk run holds back for waiting desks at most this long between two batches, so a stream
of writers (eight desks scanning flat out) slows a bulk run down but never stops it."""

FALLBACK_PAUSE_S = 0.005
"""Without the signal (no flock): a fixed pause between batches."""


def side_path(database_path: str) -> str:
    return database_path + SUFFIX


class WaitSignal:
    """One connection's descriptor on the side file; ``with signal:`` around the wait for
    the write lock."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    @classmethod
    def open(cls, database_path: str) -> WaitSignal | None:
        if fcntl is None:
            return None
        try:
            return cls(os.open(side_path(database_path), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666))
        except OSError:
            return None

    def __enter__(self) -> WaitSignal:
        fcntl.flock(self.fd, fcntl.LOCK_SH)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)

    def close(self) -> None:
        try:
            os.close(self.fd)
        except OSError:
            pass


def writer_waiting(fd: int) -> bool:
    """True while any other connection waits for the write lock (holds its shared flock)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    fcntl.flock(fd, fcntl.LOCK_UN)
    return False


def let_waiting_writers_in(database_path: str, max_wait: float | None = None) -> float:
    """Between two write transactions: if another desk waits for the write lock, hold back
    until it has begun (at most ``max_wait`` seconds). Returns the seconds held back."""
    limit = YIELD_MAX_S if max_wait is None else max_wait
    signal = WaitSignal.open(database_path)
    if signal is None:
        time.sleep(FALLBACK_PAUSE_S)
        return FALLBACK_PAUSE_S
    start = time.monotonic()
    try:
        while writer_waiting(signal.fd):
            if time.monotonic() - start >= limit:
                break
            time.sleep(YIELD_POLL_S)
    finally:
        signal.close()
    return time.monotonic() - start
