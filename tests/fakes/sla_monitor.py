"""The SLA monitor's store in memory: the same promises as MongoDB's adapter, for unit tests of
the monitor and the scheduler. `tests/behaviour/deadline_store.py` holds both to them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import datetime

from services.sla_monitor.domain import UNASSIGNED, Deadline, Standing, standing
from services.sla_monitor.ports import (
    Acknowledgement,
    AlertClaim,
    Change,
    RefusedEvent,
    StoredDeadline,
)


class InMemoryDeadlineStore:
    def __init__(self) -> None:
        self._deadlines: dict[str, StoredDeadline] = {}
        self._claims: dict[str, AlertClaim] = {}
        self._refusals: dict[str, RefusedEvent] = {}
        self._acks: dict[str, Acknowledgement] = {}

    async def create_indexes(self) -> None:
        return None

    async def get(self, code: str) -> StoredDeadline | None:
        return self._deadlines.get(code)

    async def create(self, state: Deadline, traceparent: str | None) -> bool:
        if state.record_code in self._deadlines:
            return False
        self._deadlines[state.record_code] = StoredDeadline(state, traceparent)
        return True

    async def replace(self, state: Deadline, expected_revision: int,
                      traceparent: str | None) -> bool:
        stored = self._deadlines.get(state.record_code)
        if stored is None or stored.state.revision != expected_revision:
            return False
        self._deadlines[state.record_code] = StoredDeadline(state, traceparent)
        return True

    async def replace_many(self, changes: Sequence[Change]) -> list[str]:
        lost: list[str] = []
        for state, expected, trace in changes:
            written = (await self.create(state, trace) if expected is None
                       else await self.replace(state, expected, trace))
            if not written:
                lost.append(state.record_code)
        return lost

    async def save_many(self, changes: Sequence[Change]) -> bool:
        return not await self.replace_many(changes)

    async def due(self, now: datetime, limit: int) -> list[str]:
        due = sorted((s.state.next_fire_at, code) for code, s in self._deadlines.items()
                     if s.state.next_fire_at is not None and s.state.next_fire_at <= now)
        return [code for _, code in due[:limit]]

    async def get_many(self, codes: Sequence[str]) -> tuple[dict[str, StoredDeadline], list[str]]:
        return {code: self._deadlines[code] for code in codes if code in self._deadlines}, []

    async def set_aside(self, code: str, until: datetime) -> None:
        stored = self._deadlines.get(code)
        if stored is not None:
            state = replace(stored.state, next_fire_at=until, revision=stored.state.revision + 1)
            self._deadlines[code] = replace(stored, state=state)

    async def all(self, department: str | None = None) -> AsyncIterator[Deadline]:
        for stored in list(self._deadlines.values()):
            if department is None or stored.state.department_code == department:
                yield stored.state

    async def standings(self) -> dict[tuple[str, Standing], int]:
        counts: dict[tuple[str, Standing], int] = {}
        for stored in self._deadlines.values():
            found = standing(stored.state)
            if found is not None:
                key = (stored.state.department_code or UNASSIGNED, found)
                counts[key] = counts.get(key, 0) + 1
        return counts

    async def claim(self, claims: Sequence[AlertClaim]) -> set[str]:
        won: set[str] = set()
        for claim in claims:
            if claim.event_id not in self._claims:
                self._claims[claim.event_id] = replace(claim, pending=True)
                won.add(claim.event_id)
        return won

    async def sent(self, event_ids: Sequence[str]) -> None:
        for event_id in event_ids:
            if event_id in self._claims:
                self._claims[event_id] = replace(self._claims[event_id], pending=False)

    async def stale_claims(self, before: datetime, limit: int) -> list[AlertClaim]:
        stale = [c for c in self._claims.values() if c.pending and c.claimed_at <= before]
        return sorted(stale, key=lambda c: c.claimed_at)[:limit]

    async def claims_of(self, code: str) -> list[AlertClaim]:
        return sorted((c for c in self._claims.values() if c.record_code == code),
                      key=lambda c: (c.due_at, c.event_id))

    async def claim_of(self, event_id: str) -> AlertClaim | None:
        return self._claims.get(event_id)

    async def claims_of_type(self, event_type: str, limit: int) -> list[AlertClaim]:
        found = sorted((c for c in self._claims.values() if c.event_type == event_type),
                       key=lambda c: c.event_id)
        return sorted(found, key=lambda c: c.due_at, reverse=True)[:limit]

    async def acknowledge(self, ack: Acknowledgement) -> Acknowledgement:
        return self._acks.setdefault(ack.event_id, ack)

    async def acknowledgements(self, event_ids: Sequence[str]) -> dict[str, Acknowledgement]:
        return {i: self._acks[i] for i in event_ids if i in self._acks}

    async def refuse(self, refused: RefusedEvent) -> None:
        self._refusals[refused.event_id] = refused

    async def resolve_refusal(self, event_id: str, resolution: str, at: datetime) -> None:
        if event_id in self._refusals:
            self._refusals[event_id] = replace(self._refusals[event_id], parked=False,
                                               resolution=resolution, resolved_at=at)

    async def refusals_of(self, code: str | None, limit: int) -> list[RefusedEvent]:
        found = [r for r in self._refusals.values() if code is None or r.record_code == code]
        return sorted(found, key=lambda r: r.refused_at, reverse=True)[:limit]
