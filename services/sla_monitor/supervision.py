"""What supervisors work with: the escalations still open, their acknowledgement, and the
records nearly late or late.

An escalation stays open while its cause does: a late one until the record is closed, a
misrouted one (sent to the manual queue, or stuck in routing) until a department accepted it.
Acknowledging one keeps who and why, once: the first acknowledgement stands (a repeat by the
same person answers the same).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from contracts.envelope import ContractError, decode
from contracts.sla.v1 import EscalationRaised
from reference.calendar import WorkingCalendar
from services.runtime.clock import Clock

from .domain import AtRisk, Deadline, SlaPolicy, at_risk
from .ports import Acknowledgement, AlertClaim, DeadlineStore

log = logging.getLogger(__name__)
ESCALATION = EscalationRaised.event_type
LOOK_BACK = 2000
"""Escalations read per request, newest first: far more than a province's open ones."""


class UnknownEscalation(LookupError):
    pass


class AcknowledgedAlready(Exception):
    def __init__(self, ack: Acknowledgement) -> None:
        super().__init__(f"acknowledged by {ack.by} at {ack.at.isoformat()}")
        self.ack = ack


@dataclass(frozen=True, slots=True)
class OpenEscalation:
    event_id: str
    raised: EscalationRaised
    claim: AlertClaim
    """When it was due, and whether the broker has it."""
    department_code: str | None
    """The department holding the record now."""
    acknowledgement: Acknowledgement | None


def still_open(escalation: EscalationRaised, state: Deadline | None) -> bool:
    if state is None or state.is_closed:
        return False
    if escalation.kind == "misrouted":
        return not state.accepted
    return True


class Supervision:
    def __init__(self, store: DeadlineStore, clock: Clock, calendar: WorkingCalendar,
                 policy: SlaPolicy) -> None:
        self._store, self._clock, self._calendar, self._policy = store, clock, calendar, policy

    async def escalations(self, department: str | None = None) -> list[OpenEscalation]:
        """Open escalations, newest first, with their acknowledgement if any."""
        raised: list[tuple[AlertClaim, EscalationRaised]] = []
        for claim in await self._store.claims_of_type(ESCALATION, LOOK_BACK):
            try:
                message = claim.message
                event = decode(message.key, message.value, message.headers)
                raised.append((claim, event.narrow(EscalationRaised).data))
            except ContractError:  # a newer build's escalation: its own read side shows it
                continue
        states, _ = await self._store.get_many(sorted({c.record_code for c, _ in raised}))
        acks = await self._store.acknowledgements([c.event_id for c, _ in raised])
        found = []
        for claim, escalation in raised:
            stored = states.get(claim.record_code)
            state = stored.state if stored else None
            if not still_open(escalation, state):
                continue
            holder = state.department_code if state else escalation.department_code
            if department is not None and holder != department:
                continue
            found.append(OpenEscalation(claim.event_id, escalation, claim, holder,
                                        acks.get(claim.event_id)))
        return found

    async def acknowledge(self, event_id: str, by: str, note: str) -> Acknowledgement:
        claim = await self._store.claim_of(event_id)
        if claim is None or claim.event_type != ESCALATION:
            raise UnknownEscalation(event_id)
        ack = Acknowledgement(event_id=event_id, record_code=claim.record_code, by=by,
                              note=note, at=self._clock.now())
        kept = await self._store.acknowledge(ack)
        if kept.by != by or kept.note != note:
            raise AcknowledgedAlready(kept)
        log.info("escalation acknowledged", extra={"event_id": event_id,
                                                    "record_code": kept.record_code, "by": by})
        return kept

    async def at_risk(self, department: str | None = None,
                      basis: Literal["original", "current"] = "original") -> list[AtRisk]:
        states = [state async for state in self._store.all(department)]
        return at_risk(states, self._clock.now(), self._calendar, self._policy, basis=basis)
