"""Decision 766 on-time figures per department, from the deadlines' states at one instant."""

# Categories (provincial dashboards): done before / on / after the appointment (trước hạn / đúng
# hạn / quá hạn); in progress not yet near / nearly late / late (chưa đến hạn / sắp trễ / trễ).
# Late rate = (late in progress + late done) ÷ records to handle; on-time rate = 100 % - late rate.
# By default records are judged against the original appointment (moved only by pauses): the
# department's own new date (form 04) excuses nothing in the statistics.

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Literal

from pydantic import TypeAdapter

from reference.calendar import WorkingCalendar
from reference.deadlines import extend_for_pause
from reference.localtime import to_local

from .hours import day_end, lateness_days
from .policy import SlaPolicy
from .schedule import warning_at
from .state import Deadline

Basis = Literal["original", "current"]
UNASSIGNED = "unassigned"
"""Key of the records no department holds."""


@dataclass(frozen=True)
class Figures:
    """One department's counts and rates (percentages, 2 decimals)."""

    done_early: int = 0
    done_on_time: int = 0
    done_late: int = 0
    in_progress_not_due: int = 0
    in_progress_nearly_late: int = 0
    in_progress_late: int = 0
    late_rate_percent: float = 0.0
    on_time_rate_percent: float = 100.0
    average_lateness_working_days: float | None = None
    """Mean over late records, done and in progress (in progress: late so far)."""

    @property
    def done(self) -> int:
        return self.done_early + self.done_on_time + self.done_late

    @property
    def in_progress(self) -> int:
        return self.in_progress_not_due + self.in_progress_nearly_late + self.in_progress_late

    @property
    def to_handle(self) -> int:
        return self.done + self.in_progress

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = _ADAPTER.dump_python(self, mode="json")
        return {**data, "done": self.done, "in_progress": self.in_progress, "to_handle": self.to_handle}


_ADAPTER: TypeAdapter[Figures] = TypeAdapter(Figures)


def service_index(deadlines: Iterable[Deadline], now: datetime, calendar: WorkingCalendar,
                  policy: SlaPolicy | None = None, *, basis: Basis = "original") -> dict[str, Figures]:
    """Figures per holding department (`UNASSIGNED` for none) of the given records at `now`."""
    rules = policy or SlaPolicy()
    now = to_local(now)
    counts: dict[str, dict[str, int]] = {}
    lateness: dict[str, list[int]] = {}
    for state in deadlines:
        key = state.department_code or UNASSIGNED
        category, late_by = classify(state, now, calendar, rules, basis)
        bucket = counts.setdefault(key, {})
        bucket[category] = bucket.get(category, 0) + 1
        if late_by:
            lateness.setdefault(key, []).append(late_by)
    return {key: _figures(bucket, lateness.get(key, [])) for key, bucket in sorted(counts.items())}


def index_to_json(index: dict[str, Figures]) -> dict[str, dict[str, Any]]:
    return {key: figures.to_dict() for key, figures in index.items()}


@dataclass(frozen=True, slots=True)
class AtRisk:
    """An open record a supervisor should look at: nearly late, or late by so many working days."""

    state: Deadline
    category: Literal["in_progress_nearly_late", "in_progress_late"]
    late_working_days: int


def at_risk(deadlines: Iterable[Deadline], now: datetime, calendar: WorkingCalendar,
            policy: SlaPolicy | None = None, *, basis: Basis = "original") -> list[AtRisk]:
    """The open records nearly late or late at `now`: the latest first, then the nearest due."""
    rules, now = policy or SlaPolicy(), to_local(now)
    found = []
    for state in deadlines:
        if state.closure is not None:
            continue
        category, late_by = classify(state, now, calendar, rules, basis)
        if category == "in_progress_late":
            found.append(AtRisk(state, "in_progress_late", late_by))
        elif category == "in_progress_nearly_late":
            found.append(AtRisk(state, "in_progress_nearly_late", late_by))
    return sorted(found, key=lambda r: (-r.late_working_days, r.state.due_original_at,
                                        r.state.record_code))


def classify(state: Deadline, now: datetime, calendar: WorkingCalendar, policy: SlaPolicy,
             basis: Basis) -> tuple[str, int]:
    """A record's Decision 766 category at `now`, and its lateness in working days."""
    closure = state.closure
    if closure is not None:
        if basis == "original":
            return f"done_{closure.outcome_original}", closure.lateness_original_working_days
        return f"done_{closure.outcome}", closure.lateness_working_days
    judged = _as_if_resumed(state, now.date(), calendar)
    due = judged.due_original_at if basis == "original" else judged.due_current_at
    if now > due:
        # Still open after closing time of the due day: done next working day at the earliest.
        return "in_progress_late", max(lateness_days(to_local(due).date(), now.date(), calendar), 1)
    nearly = warning_at(replace(judged, due_current_at=due), due, calendar,
                        policy.for_procedure(state.procedure_code))
    return ("in_progress_nearly_late" if now >= nearly else "in_progress_not_due"), 0


def _as_if_resumed(state: Deadline, today: date, calendar: WorkingCalendar) -> Deadline:
    """A paused record judged as if the supplement arrived today (its due time moved that far)."""
    pause = state.open_pause
    if pause is None:
        return state
    resumed_on = max(today, pause.paused_on)

    def moved(due: datetime) -> datetime:
        return day_end(extend_for_pause(to_local(due).date(), pause.paused_on, resumed_on, calendar),
                       calendar)

    return replace(state, pauses=(*state.pauses[:-1], replace(pause, resumed_on=resumed_on)),
                   due_original_at=moved(state.due_original_at), due_current_at=moved(state.due_current_at))


def _figures(bucket: dict[str, int], lateness: list[int]) -> Figures:
    figures = Figures(
        done_early=bucket.get("done_early", 0), done_on_time=bucket.get("done_on_time", 0),
        done_late=bucket.get("done_late", 0), in_progress_not_due=bucket.get("in_progress_not_due", 0),
        in_progress_nearly_late=bucket.get("in_progress_nearly_late", 0),
        in_progress_late=bucket.get("in_progress_late", 0))
    late_rate = round(100 * (figures.done_late + figures.in_progress_late) / figures.to_handle, 2)
    average = round(sum(lateness) / len(lateness), 2) if lateness else None
    return replace(figures, late_rate_percent=late_rate, on_time_rate_percent=round(100 - late_rate, 2),
                   average_lateness_working_days=average)
