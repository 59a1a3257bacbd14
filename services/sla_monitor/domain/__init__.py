"""The SLA monitor's rules without I/O: deadline state, evolve, fire and the Decision 766 figures."""

from .evolve import SLA_EVENT_TYPES, Refusal, RefusalReason, Result, SlaEvent, evolve
from .fire import Fired, FiredAlert, fire
from .hours import (
    add_working_time,
    day_end,
    day_length,
    subtract_working_time,
    working_hours_between,
    working_time_between,
)
from .index import UNASSIGNED, AtRisk, Basis, Figures, at_risk, index_to_json, service_index
from .policy import ProcedurePolicy, SlaPolicy
from .schedule import Pending, allowed_time, next_fire_at, pending, warning_at
from .standing import STANDINGS, Standing, standing
from .state import (
    AlertKey,
    Closure,
    Deadline,
    DelayReport,
    Extension,
    Outcome,
    Pause,
    Status,
)

__all__ = [
    "SLA_EVENT_TYPES", "STANDINGS", "UNASSIGNED", "AlertKey", "AtRisk", "Basis", "Closure",
    "Deadline", "DelayReport", "Extension", "Figures",
    "Fired", "FiredAlert", "Outcome", "Pause", "Pending", "ProcedurePolicy", "Refusal",
    "RefusalReason", "Result", "SlaEvent", "SlaPolicy", "Standing", "Status", "add_working_time",
    "allowed_time", "at_risk", "day_end", "day_length", "evolve", "fire", "index_to_json", "next_fire_at",
    "pending", "service_index", "standing", "subtract_working_time", "warning_at", "working_hours_between",
    "working_time_between",
]
