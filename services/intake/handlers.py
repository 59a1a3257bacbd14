"""Intake's consumer: later events of records, folded into their tracking pages a batch at once."""

from __future__ import annotations

from collections.abc import Sequence

from services.runtime.consumer import Incoming, Refusal
from services.runtime.errors import PoisonMessage

from .domain import history_entry, track
from .ports import RecordStore


class TrackingHandler:
    def __init__(self, store: RecordStore) -> None:
        self._store = store

    async def __call__(self, batch: Sequence[Incoming]) -> list[Refusal]:
        """Every tracked event of the batch appended in one bulk write, each once; an event for
        a record intake never received is refused (dead-lettered), the others stay stored."""
        tracked = [(incoming, change) for incoming in batch
                   if (change := track(incoming.envelope)) is not None]
        unknown = await self._store.add_tracking([
            (incoming.envelope.record_id, history_entry(incoming.envelope, change))
            for incoming, change in tracked])
        return [Refusal(incoming, PoisonMessage(
                    "unknown_record", f"{incoming.envelope.type} for a record intake never received"))
                for incoming, _ in tracked if incoming.envelope.record_id in unknown]
