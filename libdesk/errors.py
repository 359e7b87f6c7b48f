"""One exception family for user errors.

Every error a desk worker can cause (an unknown barcode, a scan at the wrong desk, a broken
file) raises a :class:`LibdeskError` subclass whose message is one line a person can act on.
The engine raises them before anything is written or inside the transaction, which then
rolls back, so a user error never changes the database. The CLI turns them into exit code 1
and one line on stderr; the app shows them in red.
"""

from __future__ import annotations


class LibdeskError(Exception):
    """A user error: clear message, nothing changed."""

    kind = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class NotFound(LibdeskError):
    """An unknown barcode, request, patron, place, type or operator."""

    kind = "not_found"


class NotPermitted(LibdeskError):
    """The operator may not act here, or the place is the wrong kind for the action."""

    kind = "not_permitted"


class InvalidInput(LibdeskError):
    """Input that cannot be used: a bad status, date, CSV row or barcode."""

    kind = "invalid_input"


class WrongState(LibdeskError):
    """The action does not fit the item's or request's current state."""

    kind = "wrong_state"


class ConcurrentChange(LibdeskError):
    """Another desk changed the same item first; the action was not applied."""

    kind = "concurrent_change"


class ConfigError(LibdeskError):
    """A broken institution or settings file, or an unusable database path."""

    kind = "config"


# -- the database itself ---------------------------------------------------------------------
# Raised by libdesk.db.classify_db_error from the driver's error codes (SQLite's extended
# result code names, PostgreSQL's SQLSTATE), never from the wording of a message.

class DatabaseBusy(LibdeskError):
    """Another desk holds the lock this action needs for longer than we wait; nothing changed."""

    kind = "busy"


class DatabaseConflict(ConcurrentChange):
    """A deadlock or serialization failure between two desks; this action was rolled back."""

    kind = "concurrent_change"


class DatabaseFull(LibdeskError):
    """The disk (or the server's disk) is full; nothing changed."""

    kind = "disk_full"


class DatabaseUnusable(ConfigError):
    """The database is there but cannot be used: read-only, damaged, not a database, wrong
    password, no such database on the server."""

    kind = "config"


class DatabaseUnreachable(ConfigError):
    """The database server cannot be reached (down, restarting, network cut); nothing changed,
    and a desk that waits and tries again carries on."""

    kind = "unreachable"

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        """Where and why, without the advice ("host:port/db: connection refused")."""
