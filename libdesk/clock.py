"""The one clock of the engine.

Every timestamp the engine writes comes from :func:`now`, so tests can freeze time with
:func:`freeze` (in process) or ``LIBDESK_FROZEN_TIME`` (for subprocesses, ISO format).
Timestamps are naive local wall-clock times: a desk works in its own time zone.
"""

from __future__ import annotations

import os
from datetime import date, datetime

_frozen: datetime | None = None


def now() -> datetime:
    """The current time (frozen if a test asked for it)."""
    if _frozen is not None:
        return _frozen
    env = os.environ.get("LIBDESK_FROZEN_TIME")
    if env:
        return datetime.fromisoformat(env)
    return datetime.now().replace(microsecond=0)


def today() -> date:
    return now().date()


def frozen_at() -> datetime | None:
    """The moment the clock is frozen at in this process (None when it runs)."""
    return _frozen


def freeze(moment: datetime | None) -> None:
    """Freeze the clock at ``moment`` (None thaws it)."""
    global _frozen
    _frozen = moment
