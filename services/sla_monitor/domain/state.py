"""One record's deadline as a plain value, so a store can keep it and a scheduler can index it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Literal

from pydantic import AwareDatetime, TypeAdapter

from reference.localtime import to_local

AlertKey = Literal["warning", "delay-request", "breach", "escalation-1", "escalation-2", "apology",
                   "stuck-routing", "manual-routing"]
Status = Literal["open", "paused", "closed"]
Outcome = Literal["early", "on_time", "late"]
ClosedBy = Literal["resolved", "rejected", "result_returned"]
ExtensionKind = Literal["intake", "pause", "delay_reported"]
RoutingDecision = Literal["routed", "rerouted", "manual"]


@dataclass(frozen=True)
class Pause:
    """A wait for a supplement that does not count: from the request day to the arrival day."""

    requested_at: AwareDatetime
    paused_on: date
    resumed_on: date | None = None


@dataclass(frozen=True)
class Extension:
    """One move of the current appointment, kept for audit and the statistics."""

    kind: ExtensionKind
    at: AwareDatetime
    previous_due_at: AwareDatetime
    new_due_at: AwareDatetime


@dataclass(frozen=True)
class DelayReport:
    """The department's reason and new date (form 04), as reported."""

    reported_at: AwareDatetime
    reason: str
    new_appointment: AwareDatetime


@dataclass(frozen=True)
class Closure:
    """How the record ended; outcomes are judged by date, as the receipt promises a date."""

    closed_by: ClosedBy
    closed_at: AwareDatetime
    outcome: Outcome
    """Against the current appointment."""
    lateness_working_days: int
    late_against_original: bool
    """Against the original appointment (moved only by pauses): Decision 766 counts this."""
    lateness_original_working_days: int
    returned_at: AwareDatetime | None = None
    """When the result reached the applicant (ResultReturned), if known."""

    @property
    def outcome_original(self) -> Outcome:
        return "late" if self.late_against_original else self.outcome


@dataclass(frozen=True)
class Deadline:
    """The deadline state of one record; `next_fire_at` is what a scheduler queries."""

    record_code: str
    procedure_code: str
    receiving_unit_code: str
    department_code: str | None
    """The department holding the record now, if any."""
    received_at: AwareDatetime
    accepted_at: AwareDatetime
    accepted_on: date
    """The acceptance day as the calendar counts it (the day not counted)."""
    due_original_at: AwareDatetime
    """The receipt's appointment, moved only by pauses that do not count."""
    due_current_at: AwareDatetime
    """The appointment now: also moved by the department's delay report."""
    receipt_mismatch_on: date | None
    """The due day the calendar gives when the receipt's day differs (the receipt still binds)."""
    processing_days: int
    waiting_time_counts: bool
    status: Status = "open"
    supplement_requested_at: AwareDatetime | None = None
    pauses: tuple[Pause, ...] = ()
    extensions: tuple[Extension, ...] = ()
    routed_at: AwareDatetime | None = None
    routing_attempt: int | None = None
    routing_decision: RoutingDecision | None = None
    accepted: bool = False
    """Whether the holding department took the record in."""
    manual_routing_at: AwareDatetime | None = None
    delay_report: DelayReport | None = None
    breached_at: AwareDatetime | None = None
    """The due time that was breached (anchor of the later escalations)."""
    apology_appointment: AwareDatetime | None = None
    """The new date the apology told the applicant."""
    closure: Closure | None = None
    alerts_fired: tuple[AlertKey, ...] = ()
    applied_event_ids: tuple[str, ...] = ()
    last_event_at: AwareDatetime | None = None
    next_fire_at: AwareDatetime | None = None
    revision: int = 0

    @property
    def is_closed(self) -> bool:
        return self.status == "closed"

    @property
    def is_paused(self) -> bool:
        return self.status == "paused"

    @property
    def due_on(self) -> date:
        """The current appointment's day in Vietnam."""
        return to_local(self.due_current_at).date()

    @property
    def open_pause(self) -> Pause | None:
        last = self.pauses[-1] if self.pauses else None
        return last if last is not None and last.resumed_on is None else None

    def has_fired(self, key: AlertKey) -> bool:
        return key in self.alerts_fired

    def with_fired(self, *keys: AlertKey) -> Deadline:
        return replace(self, alerts_fired=tuple(sorted(set(self.alerts_fired) | set(keys))))

    def without_fired(self, *keys: AlertKey) -> Deadline:
        return replace(self, alerts_fired=tuple(k for k in self.alerts_fired if k not in keys))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: dates and instants as ISO strings, tuples as lists."""
        result: dict[str, Any] = _ADAPTER.dump_python(self, mode="json")
        return result

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Deadline:
        """The inverse of `to_dict`; naive instants are refused."""
        return _ADAPTER.validate_python(data)


_ADAPTER: TypeAdapter[Deadline] = TypeAdapter(Deadline)
