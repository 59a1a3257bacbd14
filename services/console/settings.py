"""Settings of the console (environment variables prefixed CONSOLE_, and the shared AUTH_*)."""

from __future__ import annotations

from typing import Self

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.runtime.settings import Environment


class ServiceAddresses(BaseSettings):
    """Where the console (and its command line) finds each service's API."""

    model_config = SettingsConfigDict(env_prefix="CONSOLE_", extra="ignore", frozen=True)

    intake_url: str = "http://127.0.0.1:8001"
    routing_url: str = "http://127.0.0.1:8002"
    sla_url: str = "http://127.0.0.1:8003"
    notifier_url: str = "http://127.0.0.1:8004"

    def by_service(self) -> dict[str, str]:
        return {"intake": self.intake_url, "routing": self.routing_url,
                "sla_monitor": self.sla_url, "notifier": self.notifier_url}


def service_urls() -> dict[str, str]:
    """The services' addresses from the environment, by service name."""
    return ServiceAddresses().by_service()


class ConsoleSettings(ServiceAddresses):

    service_name: str = "console"
    environment: Environment = Field(
        "development", validation_alias=AliasChoices("MOTCUA_ENVIRONMENT"))
    http_host: str = "127.0.0.1"
    http_port: int = Field(8005, ge=0, le=65535)
    graceful_timeout_s: float = Field(5.0, gt=0)
    log_level: str = Field("INFO", validation_alias=AliasChoices("LOG_LEVEL"))

    jaeger_url: str | None = Field(
        "http://127.0.0.1:16686", description="where operators read traces (a record's timeline "
                                              "links to its trace there); empty for no link")
    backend_timeout_s: float = Field(10.0, gt=0)

    oidc_authorize_url: str = Field(description="the identity provider's authorization endpoint")
    oidc_token_url: str = Field(description="the identity provider's token endpoint")
    oidc_client_id: str = "console"
    oidc_client_secret: SecretStr = Field(description="the console's client secret at the provider")
    public_url: str | None = Field(
        None, description="the console's address as browsers see it (for the sign-in redirect); "
                          "by default the address a request came to")

    auth_issuer: str = Field(validation_alias=AliasChoices("AUTH_ISSUER"))
    auth_jwks_url: str = Field(validation_alias=AliasChoices("AUTH_JWKS_URL"))
    auth_audience: str = Field("motcua", validation_alias=AliasChoices("AUTH_AUDIENCE"))
    auth_roles_claim: str = Field("roles", validation_alias=AliasChoices("AUTH_ROLES_CLAIM"))

    @model_validator(mode="after")
    def _https_outside_development(self) -> Self:
        if self.environment == "production" and self.public_url and \
                not self.public_url.startswith("https://"):
            raise ValueError("CONSOLE_PUBLIC_URL must be https:// in production")
        return self

    @property
    def secure_cookies(self) -> bool:
        return bool(self.public_url and self.public_url.startswith("https://"))
