"""Settings of the routing service (environment variables prefixed ROUTING_)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from services.runtime.settings import ServiceSettings


class RoutingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ROUTING_", extra="ignore", frozen=True)

    service_name: str = "routing"
    mongodb_database: str = "motcua_routing"
    consumer_group: str = "motcua-routing"
    http_port: int = 8002
