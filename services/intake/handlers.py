"""Intake's consumers: later events of a record, folded into its tracking page."""

from __future__ import annotations

from typing import Any

from contracts.envelope import Envelope
from services.runtime.errors import PoisonMessage

from .store import RecordStore
from .tracking import history_entry, track


class TrackingHandler:
    def __init__(self, store: RecordStore) -> None:
        self._store = store

    async def __call__(self, envelope: Envelope[Any]) -> None:
        change = track(envelope)
        if change is None:
            return
        applied = await self._store.add_tracking(envelope.record_id,
                                                 history_entry(envelope, change))
        if applied is None:
            raise PoisonMessage("unknown_record",
                                f"{envelope.type} for a record intake never received")
