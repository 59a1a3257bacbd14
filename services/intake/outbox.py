"""Intake's records as the runtime relay's outbox: each record keeps its own events, and a
record whose events outlived their lease unsent is leased again to the sweeping relay."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from .ports import MessageKey, OutboxMessage, RecordStore


class RecordOutbox:
    def __init__(self, store: RecordStore, lease: timedelta) -> None:
        self._store = store
        self.lease = lease
        """How long a relay holds a record's unsent events before another may take them."""

    async def mark_sent(self, keys: Sequence[MessageKey]) -> None:
        await self._store.record_sent(keys)

    async def stale(self, limit: int) -> list[OutboxMessage]:
        while codes := await self._store.stale_pending(limit, self.lease):
            found = [message for code in codes for message in await self._store.unsent_messages(code)]
            if found:  # records whose events were all out meanwhile are cleared: look further
                return found
        return []
