""""Now" as a dependency: the system clock in production, a movable clock in tests and the demo."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware (UTC)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class MovableClock:
    """Runs with real time from a chosen start, plus an offset that tests and the demo can move.

    Only built when settings allow it (`MOTCUA_TEST_CLOCK`, refused in production).
    """

    def __init__(self, offset: timedelta = timedelta(0)) -> None:
        self._offset = offset
        self._listeners: list[Callable[[], None]] = []

    def on_move(self, listener: Callable[[], None]) -> None:
        """Call `listener` whenever the clock is moved (e.g. to wake a scheduler)."""
        self._listeners.append(listener)

    def _moved(self) -> None:
        for listener in self._listeners:
            listener()

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    @property
    def offset(self) -> timedelta:
        return self._offset

    def advance(self, by: timedelta) -> datetime:
        if by < timedelta(0):
            raise ValueError(f"the clock only moves forward; got {by}")
        self._offset += by
        self._moved()
        return self.now()

    def set(self, instant: datetime) -> datetime:
        if instant.tzinfo is None:
            raise ValueError(f"instant must be timezone-aware; got {instant.isoformat()}")
        if instant < self.now():
            raise ValueError(f"the clock only moves forward; {instant.isoformat()} is in its past")
        self._offset = instant - datetime.now(UTC)
        self._moved()
        return self.now()
