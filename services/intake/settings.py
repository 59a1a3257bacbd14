"""Settings of the intake service (environment variables prefixed INTAKE_)."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from contracts.envelope import MAX_VALUE_BYTES
from services.runtime.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    """Intake's own settings; INTAKE_LOOKUP_KEY is required."""

    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore", frozen=True)

    service_name: str = "intake"
    mongodb_database: str = "motcua_intake"
    consumer_group: str = "motcua-intake"
    http_port: int = 8001
    max_body_bytes: int = Field(
        256 * 1024, ge=1024, le=MAX_VALUE_BYTES // 2,
        description="larger bodies get 413; at most half the contract's event size, so every "
                    "accepted application fits in its records.submitted event")
    lookup_key: SecretStr = Field(
        SecretStr(""), description="the key receipts' lookup secrets are derived from (at least "
                                   "32 characters)")
    lookup_retired_keys: list[SecretStr] = Field(
        default_factory=list,
        description="earlier lookup keys, still accepted so that receipts printed under them "
                    "keep working after a rotation (a JSON list); new receipts use lookup_key")
    relay_batch_size: int = Field(200, ge=1, le=5000)
    relay_lease_s: float = Field(30.0, gt=0, description="how long a relay holds unsent events")
    relay_sweep_s: float = Field(
        30.0, gt=0, description="how often to look for events an earlier process left unsent")

    @model_validator(mode="after")
    def _lookup_key_given(self) -> IntakeSettings:
        if len(self.lookup_key.get_secret_value()) < 32:
            raise ValueError("INTAKE_LOOKUP_KEY must be set, at least 32 characters: receipts' "
                             "lookup secrets are derived from it")
        return self
