"""Alert thresholds as data, so a province or a procedure can change them without code."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from types import MappingProxyType

from reference.catalog import Procedure


@dataclass(frozen=True)
class ProcedurePolicy:
    """When the alerts of one procedure's records fire; every period is in working time."""

    warning_working_days: float = 1.0
    """Warn when at most this much time remains..."""
    warning_fraction: float = 0.2
    """...or this share of the allowed time, whichever is longer."""
    delay_request_working_days: float = 1.0
    """Ask the department for a reason and a new date this long before the due time."""
    escalation_2_after_working_days: float = 2.0
    """Escalate to the provincial supervisor this long after the breach."""
    default_extension_days: int = 2
    """New date promised by the default apology (no answer from the department): due + this."""
    default_apology_reason: str = "Hồ sơ chưa được giải quyết đúng hẹn; cơ quan giải quyết chưa báo lý do"
    stuck_routing_working_hours: float = 8.0
    """A routed record no department accepted within this long is stuck."""
    waiting_time_counts: bool = False
    """Whether waiting for a supplement counts against the deadline (DOMAIN.md default: no)."""

    def __post_init__(self) -> None:
        for name in ("warning_working_days", "delay_request_working_days",
                     "escalation_2_after_working_days", "stuck_routing_working_hours"):
            if getattr(self, name) < 0:
                raise ValueError(f"policy {name} has value {getattr(self, name)}; must be >= 0")
        if not 0 <= self.warning_fraction <= 1:
            raise ValueError(f"policy warning_fraction has value {self.warning_fraction}; use 0..1")
        if self.default_extension_days < 1:
            raise ValueError(f"policy default_extension_days has value {self.default_extension_days}; "
                             "must be >= 1")
        if not self.default_apology_reason:
            raise ValueError("policy default_apology_reason is empty")


@dataclass(frozen=True)
class SlaPolicy:
    """Defaults, per-procedure overrides and the event-handling tolerances."""

    defaults: ProcedurePolicy = field(default_factory=ProcedurePolicy)
    by_procedure: Mapping[str, ProcedurePolicy] = field(default_factory=lambda: MappingProxyType({}))
    future_tolerance: timedelta = timedelta(minutes=5)
    """An event stamped later than now + this is refused (clock skew allowance)."""
    kept_event_ids: int = 200
    """How many applied event ids a state remembers to drop redelivered events."""

    def __post_init__(self) -> None:
        if self.future_tolerance < timedelta(0):
            raise ValueError(f"policy future_tolerance has value {self.future_tolerance}; must be >= 0")
        if self.kept_event_ids < 1:
            raise ValueError(f"policy kept_event_ids has value {self.kept_event_ids}; must be >= 1")

    def for_procedure(self, procedure_code: str) -> ProcedurePolicy:
        return self.by_procedure.get(procedure_code, self.defaults)

    @classmethod
    def from_catalog(
        cls,
        procedures: Iterable[Procedure],
        defaults: ProcedurePolicy | None = None,
        overrides: Mapping[str, ProcedurePolicy] | None = None,
        *,
        future_tolerance: timedelta = timedelta(minutes=5),
        kept_event_ids: int = 200,
    ) -> SlaPolicy:
        """Per-procedure policies taking `waiting_time_counts` from the catalogue.

        An override given for a procedure wins over the catalogue, field by field as written.
        """
        base = defaults or ProcedurePolicy()
        table = {p.code: replace(base, waiting_time_counts=p.waiting_time_counts)
                 for p in procedures if p.waiting_time_counts != base.waiting_time_counts}
        table.update(overrides or {})
        return cls(defaults=base, by_procedure=MappingProxyType(table),
                   future_tolerance=future_tolerance, kept_event_ids=kept_event_ids)
