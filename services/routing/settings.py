"""Settings of the routing service (environment variables prefixed ROUTING_)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.runtime.settings import ServiceSettings


class RoutingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ROUTING_", extra="ignore", frozen=True)

    service_name: str = "routing"
    mongodb_database: str = "motcua_routing"
    consumer_group: str = "motcua-routing"
    http_port: int = 8002
    max_bounces: int = Field(3, ge=1, le=20,
                             description="returns as misrouted before the manual-routing queue")
    initial_tables: Literal["current", "pre-reform"] = Field(
        "current", description="tables seeded into an empty database: 'current' (v1 and the "
                               "2025 reform, v2) or 'pre-reform' (v1 only, to demonstrate the "
                               "reorganisation by publishing v2)")
    update_clock_skew_s: float = Field(
        300.0, ge=0, le=3600,
        description="how far ahead of routing's clock a department's update may be stamped (the "
                    "SLA monitor's own tolerance is the same five minutes)")
    table_refresh_s: float = Field(10.0, gt=0,
                                   description="how often to look for a table another instance published")
