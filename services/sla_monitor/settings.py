"""Settings of the sla_monitor service (environment variables prefixed SLA_)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from services.runtime.settings import ServiceSettings


class SlaMonitorSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SLA_", extra="ignore", frozen=True)

    service_name: str = "sla_monitor"
    mongodb_database: str = "motcua_sla_monitor"
    consumer_group: str = "motcua-sla-monitor"
    http_port: int = 8003
