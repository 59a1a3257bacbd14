"""Settings of the notifier service (environment variables prefixed NOTIFIER_)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from services.runtime.settings import ServiceSettings


class NotifierSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFIER_", extra="ignore", frozen=True)

    service_name: str = "notifier"
    mongodb_database: str = "motcua_notifier"
    consumer_group: str = "motcua-notifier"
    http_port: int = 8004
