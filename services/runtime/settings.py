"""Settings read once from the environment; shared names unprefixed, a service's own prefixed."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, AwareDatetime, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .kafka_access import KafkaAccess, SecurityProtocol

Environment = Literal["production", "staging", "development", "test"]


class ServiceSettings(BaseSettings):
    """What every service reads. A subclass sets `env_prefix` (e.g. "INTAKE_") for its own fields.

    The endpoints of shared infrastructure keep their conventional names
    (`KAFKA_BOOTSTRAP_SERVERS`, `MONGODB_URI`, `OTEL_EXPORTER_OTLP_ENDPOINT`) so one environment
    file serves all four services.
    """

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    service_name: str = "service"
    environment: Environment = Field(
        "development", validation_alias=AliasChoices("MOTCUA_ENVIRONMENT"))
    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092", validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS"))
    kafka_security_protocol: SecurityProtocol = Field(
        "SASL_PLAINTEXT", validation_alias=AliasChoices("KAFKA_SECURITY_PROTOCOL"),
        description="SASL_SSL where the network between services and brokers is not trusted")
    kafka_sasl_username: str = Field(
        "", validation_alias=AliasChoices("KAFKA_SASL_USERNAME"),
        description="this service's own principal (SCRAM-SHA-512); the broker's ACLs give it "
                    "exactly the topics and groups it uses")
    kafka_sasl_password: SecretStr = Field(
        SecretStr(""), validation_alias=AliasChoices("KAFKA_SASL_PASSWORD"))
    auth_issuer: str = Field(
        "", validation_alias=AliasChoices("AUTH_ISSUER"),
        description="the `iss` of accepted bearer tokens: the province's identity provider, or "
                    "the local issuer of the demo and tests")
    auth_jwks_url: str = Field(
        "", validation_alias=AliasChoices("AUTH_JWKS_URL"),
        description="the issuer's public keys (JWKS), https:// or file://", max_length=2000)
    auth_audience: str = Field("motcua", validation_alias=AliasChoices("AUTH_AUDIENCE"))
    auth_roles_claim: str = Field(
        "roles", validation_alias=AliasChoices("AUTH_ROLES_CLAIM"),
        description="the claim listing the caller's roles (admin, operator, supervisor, officer, "
                    "portal, counter)")
    mongodb_uri: str = Field(
        "mongodb://127.0.0.1:27017/", validation_alias=AliasChoices("MONGODB_URI"))
    topic_namespace: str = Field(
        "", validation_alias=AliasChoices("MOTCUA_TOPIC_NAMESPACE"),
        description="prefix of every topic name and consumer group; empty in production, "
                    "unique per test run",
        pattern=r"^[a-zA-Z0-9._-]*$")
    mongodb_timeout_s: float = Field(
        5.0, gt=0, le=120, validation_alias=AliasChoices("MONGODB_TIMEOUT_S"),
        description="longest wait for MongoDB: an HTTP request's database calls together "
                    "(then it gets 503), and each consumer operation (then it backs off and "
                    "retries)")
    otlp_endpoint: str | None = Field(
        None, validation_alias=AliasChoices("OTEL_EXPORTER_OTLP_ENDPOINT"))
    trace_file: str | None = Field(
        None, validation_alias=AliasChoices("MOTCUA_TRACE_FILE"),
        description="append finished spans as JSON lines to this file (demo and e2e tests)")
    kafka_replication_factor: int = Field(
        1, ge=1, validation_alias=AliasChoices("KAFKA_REPLICATION_FACTOR"),
        description="replication factor of the topics a service creates (3 on a real cluster)")
    kafka_metadata_max_age_s: float = Field(
        5.0, gt=0, le=300, validation_alias=AliasChoices("KAFKA_METADATA_MAX_AGE_S"),
        description="how often a pattern subscription (routing's gate for the departments' "
                    "inbound topics) looks for new topics: one created since joins within it; "
                    "the other Kafka clients keep metadata for Kafka's default 5 minutes")
    kafka_batch_max_records: int = Field(
        500, ge=1, le=10_000, validation_alias=AliasChoices("KAFKA_BATCH_MAX_RECORDS"),
        description="most messages a consumer takes in one batch (committed together)")
    kafka_batch_wait_ms: int = Field(
        100, ge=0, le=10_000, validation_alias=AliasChoices("KAFKA_BATCH_WAIT_MS"),
        description="how long a consumer waits for a batch when none is buffered")
    kafka_fetch_linger_ms: int = Field(
        0, ge=0, le=500, validation_alias=AliasChoices("KAFKA_FETCH_LINGER_MS"),
        description="0: a consumer's fetch is answered at the first message (Kafka's default); "
                    "else the broker holds it this long for more (up to 64 KiB): fuller batches "
                    "and lower latency at a moderate rate, less throughput at the most (README)")
    kafka_batch_concurrency: int = Field(
        32, ge=1, le=1024, validation_alias=AliasChoices("KAFKA_BATCH_CONCURRENCY"),
        description="records of a batch handled side by side (each record's events in order)")
    metrics_refresh_s: float = Field(
        15.0, gt=0, le=600, validation_alias=AliasChoices("METRICS_REFRESH_S"),
        description="how often gauges read from the broker or the database (consumer lag, "
                    "deadlines per department) are refreshed in the background")
    log_level: str = Field("INFO", validation_alias=AliasChoices("LOG_LEVEL"))
    test_clock: bool = Field(False, validation_alias=AliasChoices("MOTCUA_TEST_CLOCK"))
    test_clock_start: AwareDatetime | None = Field(
        None, validation_alias=AliasChoices("MOTCUA_TEST_CLOCK_START"),
        description="with the test clock: the instant it starts from (then runs with real time)")
    mongodb_database: str = "motcua"
    consumer_group: str = "motcua"
    http_host: str = "127.0.0.1"
    http_port: int = Field(8000, ge=0, le=65535)
    graceful_timeout_s: float = Field(15.0, gt=0)

    @model_validator(mode="after")
    def _kafka_credentials_given(self) -> ServiceSettings:
        if not self.kafka_sasl_username or not self.kafka_sasl_password.get_secret_value():
            raise ValueError(
                "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD are required: the broker admits no "
                "anonymous client (each service has its own principal; see the README, "
                "'Credentials')")
        return self

    @model_validator(mode="after")
    def _token_issuer_given(self) -> ServiceSettings:
        if not self.auth_issuer or not self.auth_jwks_url:
            raise ValueError(
                "AUTH_ISSUER and AUTH_JWKS_URL are required: every endpoint but health and "
                "metrics needs a bearer token from that issuer (see the README, 'Credentials')")
        return self

    @model_validator(mode="after")
    def _no_test_clock_in_production(self) -> ServiceSettings:
        if self.test_clock and self.environment == "production":
            raise ValueError(
                "MOTCUA_TEST_CLOCK=true is refused when MOTCUA_ENVIRONMENT=production: "
                "a movable clock would let anyone shift statutory deadlines")
        return self

    def kafka_access(self) -> KafkaAccess:
        return KafkaAccess(self.kafka_bootstrap_servers, self.kafka_sasl_username,
                           self.kafka_sasl_password.get_secret_value(),
                           self.kafka_security_protocol)

    def topic(self, name: str) -> str:
        """The physical topic for a logical contract topic name."""
        return f"{self.topic_namespace}{name}"

    def group(self, name: str | None = None) -> str:
        """The consumer group id: namespaced like the topics, so runs sharing a broker under
        different namespaces never share a group (and never make each other rebalance)."""
        return f"{self.topic_namespace}{name or self.consumer_group}"


def env_names(settings_cls: type[BaseSettings]) -> set[str]:
    """Every environment variable a settings class reads (compose files are checked against it)."""
    prefix = str(settings_cls.model_config.get("env_prefix", ""))
    names: set[str] = set()
    for name, info in settings_cls.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(str(choice) for choice in alias.choices)
        elif isinstance(alias, str):
            names.add(alias)
        else:
            names.add(f"{prefix}{name}".upper())
    return names
