"""Settings: shared names unprefixed, a service's own prefixed, and no test clock in production."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from deploy.local.issuer import LocalIssuer
from services.intake.settings import IntakeSettings
from services.runtime.clock import MovableClock, SystemClock
from services.runtime.service import ServiceRuntime
from services.runtime.settings import env_names
from services.sla_monitor.settings import SlaMonitorSettings

SASL = {"KAFKA_SASL_USERNAME": "svc.intake", "KAFKA_SASL_PASSWORD": "s3cret-of-intake",
        "AUTH_ISSUER": "https://issuer.example", "AUTH_JWKS_URL": "file:///jwks.json",
        "INTAKE_LOOKUP_KEY": "k" * 32, "lookup_key": "k" * 32}


def test_service_reads_shared_endpoints_and_its_prefixed_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:39092")
    monkeypatch.setenv("MONGODB_URI", "mongodb://127.0.0.1:37017/")
    monkeypatch.setenv("INTAKE_HTTP_PORT", "9101")
    monkeypatch.setenv("SLA_HTTP_PORT", "9103")
    for name, value in SASL.items():
        monkeypatch.setenv(name, value)
    intake = IntakeSettings()
    assert intake.kafka_bootstrap_servers == "127.0.0.1:39092"
    assert intake.mongodb_uri == "mongodb://127.0.0.1:37017/"
    assert intake.http_port == 9101
    assert SlaMonitorSettings().http_port == 9103


def test_env_names_lists_shared_and_prefixed_variables() -> None:
    names = env_names(IntakeSettings)
    assert {"KAFKA_BOOTSTRAP_SERVERS", "MONGODB_URI", "OTEL_EXPORTER_OTLP_ENDPOINT",
            "INTAKE_HTTP_PORT", "INTAKE_MONGODB_DATABASE"} <= names
    assert "HTTP_PORT" not in names and "SLA_HTTP_PORT" not in names


def test_test_clock_is_refused_in_production() -> None:
    with pytest.raises(ValidationError, match="MOTCUA_TEST_CLOCK=true is refused"):
        IntakeSettings.model_validate({**SASL, "MOTCUA_ENVIRONMENT": "production", "MOTCUA_TEST_CLOCK": True})


def test_runtime_picks_the_movable_clock_only_when_enabled() -> None:
    enabled = IntakeSettings.model_validate({**SASL, "MOTCUA_ENVIRONMENT": "test", "MOTCUA_TEST_CLOCK": True})
    assert isinstance(ServiceRuntime(enabled).clock, MovableClock)
    assert isinstance(ServiceRuntime(IntakeSettings.model_validate(SASL)).clock, SystemClock)


def test_test_clock_can_start_at_an_instant_and_be_set_forward_over_http(tmp_path: Path) -> None:
    issuer = LocalIssuer(tmp_path / "issuer")
    settings = IntakeSettings.model_validate({**SASL, **issuer.service_env(),
        "MOTCUA_ENVIRONMENT": "test", "MOTCUA_TEST_CLOCK": True,
        "MOTCUA_TEST_CLOCK_START": "2026-02-13T16:00:00+07:00"})
    before = datetime.now(UTC)
    runtime = ServiceRuntime(settings)
    after = datetime.now(UTC)
    clock = runtime.clock
    assert isinstance(clock, MovableClock)
    start = datetime(2026, 2, 13, 9, tzinfo=UTC)
    assert start - after <= clock.offset <= start - before  # it showed `start` when built
    app = runtime.asgi(title="clock")  # no lifespan: nothing connects
    client = TestClient(app)
    # Moving the clock moves deadlines: an admin's token only.
    assert client.post("/test-clock/set", json={"at": "2026-02-23T08:00:00+07:00"}).status_code == 401
    assert client.post("/test-clock/set", json={"at": "2026-02-23T08:00:00+07:00"},
                       headers=issuer.headers("operator")).status_code == 403
    client.headers.update(issuer.headers("admin"))
    target = datetime(2026, 2, 23, 1, tzinfo=UTC)
    before = datetime.now(UTC)
    later = client.post("/test-clock/set", json={"at": "2026-02-23T08:00:00+07:00"})
    after = datetime.now(UTC)
    assert later.status_code == 200
    assert target - after <= clock.offset <= target - before
    back = client.post("/test-clock/set", json={"at": "2026-02-13T08:00:00+07:00"})
    assert back.status_code == 409 and back.json()["type"] == "urn:motcua:problem:clock-backwards"
    naive = client.post("/test-clock/set", json={"at": "2026-03-01T08:00:00"})
    assert naive.status_code == 422


def test_topic_namespace_prefixes_physical_topics_and_rejects_bad_characters() -> None:
    settings = IntakeSettings.model_validate({**SASL, "MOTCUA_TOPIC_NAMESPACE": "t42."})
    assert settings.topic("records.submitted.v1") == "t42.records.submitted.v1"
    with pytest.raises(ValidationError, match="MOTCUA_TOPIC_NAMESPACE"):
        IntakeSettings.model_validate({**SASL, "MOTCUA_TOPIC_NAMESPACE": "a b"})


def test_a_service_without_its_kafka_credentials_is_refused_and_never_shows_the_password() -> None:
    with pytest.raises(ValidationError, match="KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD are required"):
        IntakeSettings.model_validate({})
    with pytest.raises(ValidationError, match="KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"):
        IntakeSettings.model_validate({"KAFKA_SASL_USERNAME": "svc.intake"})
    settings = IntakeSettings.model_validate(SASL)
    assert "s3cret-of-intake" not in repr(settings) and "s3cret-of-intake" not in str(settings)
    access = settings.kafka_access()
    assert "s3cret-of-intake" not in repr(access)
    options = access.client_options()
    assert options["security_protocol"] == "SASL_PLAINTEXT"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == (
        "svc.intake", "s3cret-of-intake")
    with pytest.raises(ValidationError, match="KAFKA_SECURITY_PROTOCOL"):
        IntakeSettings.model_validate({**SASL, "KAFKA_SECURITY_PROTOCOL": "PLAINTEXT"})
