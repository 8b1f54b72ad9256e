"""The one clock of the service.

Deadlines, lockouts and audit times come from :func:`now`, never from ``datetime.now`` scattered
through the code and never from the browser. Tests freeze or move it with :func:`frozen`.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Iterator

_override: datetime | None = None


def local_time(moment: datetime) -> datetime:
    """``moment`` in the service's time zone (``TIMEZONE``, China Standard Time by default), for display."""
    from zoneinfo import ZoneInfo

    from flask import current_app

    return moment.astimezone(ZoneInfo(current_app.config["TIMEZONE"]))


def now() -> datetime:
    """Current time as an aware UTC datetime."""
    return _override if _override is not None else datetime.now(UTC)


@contextmanager
def frozen(at: datetime) -> Iterator["_FrozenClock"]:
    """Freeze the clock at ``at`` (aware) for the block; ``advance`` moves it."""
    global _override
    if at.tzinfo is None:
        raise ValueError("frozen() needs an aware datetime")
    previous = _override
    clock = _FrozenClock()
    _override = at.astimezone(UTC)
    try:
        yield clock
    finally:
        _override = previous


class _FrozenClock:
    def advance(self, delta: timedelta) -> datetime:
        global _override
        assert _override is not None
        _override = _override + delta
        return _override
