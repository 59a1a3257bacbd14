"""Settings of the sla_monitor service (environment variables prefixed SLA_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.runtime.settings import ServiceSettings


class SlaMonitorSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SLA_", extra="ignore", frozen=True)

    service_name: str = "sla_monitor"
    mongodb_database: str = "motcua_sla_monitor"
    consumer_group: str = "motcua-sla-monitor"
    http_port: int = 8003
    batch_size: int = Field(500, ge=1, le=10_000, description="deadlines fired per store query")
    tick_s: float = Field(1.0, gt=0, le=60, description="longest sleep between two looks for due "
                                                       "deadlines (an event or a moved clock wakes it)")
    claim_lease_s: float = Field(
        30.0, gt=0, description="an alert claimed but not marked sent for this long is sent again "
                                "by the sweep (its instance died between claim and publish)")
    sweep_s: float = Field(30.0, gt=0, description="how often to look for such alerts")
    warning_working_days: float = Field(1.0, ge=0, description="warn when this much time remains...")
    warning_fraction: float = Field(0.2, ge=0, le=1, description="...or this share, the longer")
    delay_request_working_days: float = Field(
        1.0, ge=0, description="ask the department for a reason and a new date this long before due")
    escalation_2_after_working_days: float = Field(
        2.0, ge=0, description="escalate to the provincial supervisor this long after the breach")
    stuck_routing_working_hours: float = Field(
        8.0, ge=0, description="a routed record nobody accepted for this long is misrouted")
    default_extension_days: int = Field(
        2, ge=1, description="the apology's new date when the department gave none: due + this")
    policy_file: str | None = Field(
        None, description="JSON file of per-procedure overrides: {procedure_code: {field: value}}")
