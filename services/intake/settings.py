"""Settings of the intake service (environment variables prefixed INTAKE_)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from services.runtime.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore", frozen=True)

    service_name: str = "intake"
    mongodb_database: str = "motcua_intake"
    consumer_group: str = "motcua-intake"
    http_port: int = 8001
