"""When each alert of a record becomes due: the one place the firing rules turn into instants."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from reference.calendar import WorkingCalendar

from .hours import add_working_time, day_end, day_length, subtract_working_time, working_time_between
from .policy import ProcedurePolicy, SlaPolicy
from .state import AlertKey, Deadline


@dataclass(frozen=True)
class Pending:
    """An alert not fired yet, due from `at`; moot from `until` on (None: never moot)."""

    key: AlertKey
    at: datetime
    until: datetime | None = None

    def live(self, now: datetime) -> bool:
        return self.until is None or now < self.until


def allowed_time(state: Deadline, calendar: WorkingCalendar) -> timedelta:
    """Working time the department is given: from the end of the day not counted to the due time.

    Same-day procedures count from the acceptance instant. Pauses that do not count are left out.
    """
    start = state.accepted_at if state.processing_days == 0 else day_end(state.accepted_on, calendar)
    paused_days = sum(calendar.working_days_between(p.paused_on, p.resumed_on)
                      for p in state.pauses if p.resumed_on is not None)
    allowed = working_time_between(start, state.due_current_at, calendar) - paused_days * day_length(calendar)
    return max(allowed, timedelta(0))


def warning_at(state: Deadline, due: datetime, calendar: WorkingCalendar,
               policy: ProcedurePolicy) -> datetime:
    """When the record becomes nearly late: the later of one working day or 20 % remaining."""
    threshold = max(day_length(calendar) * policy.warning_working_days,
                    allowed_time(state, calendar) * policy.warning_fraction)
    return max(subtract_working_time(due, threshold, calendar), state.accepted_at)


def pending(state: Deadline, calendar: WorkingCalendar, policy: SlaPolicy) -> tuple[Pending, ...]:
    """The alerts of `state` not fired yet, in the order they are emitted at equal times."""
    if state.is_closed:
        return ()
    rules = policy.for_procedure(state.procedure_code)
    found: list[Pending] = []
    if state.manual_routing_at is not None and not state.has_fired("manual-routing"):
        found.append(Pending("manual-routing", state.manual_routing_at))
    if state.is_paused:
        return tuple(found)  # the clock is stopped: nothing late can happen
    if state.routed_at is not None and not state.accepted and not state.has_fired("stuck-routing"):
        waited = timedelta(hours=rules.stuck_routing_working_hours)
        found.append(Pending("stuck-routing", add_working_time(state.routed_at, waited, calendar)))
    due = state.due_current_at
    if not state.has_fired("warning"):
        found.append(Pending("warning", warning_at(state, due, calendar, rules), until=due))
    if (not state.has_fired("delay-request") and state.department_code is not None
            and state.delay_report is None):
        lead = day_length(calendar) * rules.delay_request_working_days
        at = max(subtract_working_time(due, lead, calendar), state.accepted_at)
        found.append(Pending("delay-request", at, until=due))
    if not state.has_fired("breach"):
        found.append(Pending("breach", due))
    anchor = state.breached_at or due
    if not state.has_fired("escalation-1"):
        found.append(Pending("escalation-1", anchor))
    if not state.has_fired("apology"):
        answered = state.delay_report
        found.append(Pending("apology", answered.reported_at if answered is not None else due))
    if not state.has_fired("escalation-2"):
        later = day_length(calendar) * rules.escalation_2_after_working_days
        found.append(Pending("escalation-2", add_working_time(anchor, later, calendar)))
    return tuple(found)


def next_fire_at(state: Deadline, now: datetime, calendar: WorkingCalendar,
                 policy: SlaPolicy) -> datetime | None:
    """The earliest instant, from `now`'s point of view, at which some alert of `state` is due."""
    live = [p.at for p in pending(state, calendar, policy) if p.live(now)]
    return min(live) if live else None
