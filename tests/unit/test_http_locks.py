"""Every HTTP door has a lock: a walk over every route of every service's OpenAPI document.

A route must be public (probes, metrics) or listed below with the roles it admits; a route added
without a lock, or with other roles than listed, fails here. Each locked route refuses no token,
a bad one (expired, another key, another issuer or audience, unsigned) with 401, and a good token
without the role with 403, all as problem+json; a token with the role gets past the lock.
"""

from __future__ import annotations

import asyncio
import importlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import jwt
import pytest
from fastapi import FastAPI

from deploy.local.issuer import LocalIssuer
from services.runtime.auth import ROLES

PUBLIC = {("GET", "/health/live"), ("GET", "/health/ready"), ("GET", "/metrics")}
STAFF_READ = frozenset({"operator", "supervisor", "admin"})
POLICY: dict[str, dict[tuple[str, str], frozenset[str]]] = {
    "intake": {
        ("POST", "/applications"): frozenset({"portal", "counter"}),
        ("GET", "/records/{code}"): frozenset(
            {"portal", "counter", "operator", "supervisor", "officer", "admin"}),
    },
    "routing": {
        ("GET", "/admin/tables/current"): frozenset({"admin", "operator"}),
        ("POST", "/admin/tables/check"): frozenset({"admin"}),
        ("POST", "/admin/tables"): frozenset({"admin"}),
        ("GET", "/manual-queue"): frozenset({"officer", "supervisor", "operator", "admin"}),
        ("GET", "/departments"): frozenset({"officer", "supervisor", "operator", "admin"}),
        ("POST", "/manual-queue/{code}/route"): frozenset({"officer", "admin"}),
    },
    "sla_monitor": {
        ("GET", "/deadlines/{record_code}"): STAFF_READ,
        ("GET", "/index"): STAFF_READ,
        ("GET", "/refusals"): STAFF_READ,
        ("GET", "/escalations"): STAFF_READ,
        ("GET", "/at-risk"): STAFF_READ,
        ("POST", "/escalations/{event_id}/acknowledge"): frozenset({"supervisor", "admin"}),
    },
    "notifier": {
        ("GET", "/deliveries"): frozenset({"operator", "admin"}),
        ("GET", "/parked"): frozenset({"operator", "admin"}),
    },
}
CHASSIS = {("GET", "/test-clock"): frozenset({"admin"}),
           ("POST", "/test-clock/advance"): frozenset({"admin"}),
           ("POST", "/test-clock/set"): frozenset({"admin"}),
           ("GET", "/dead-letters"): frozenset({"operator", "admin"}),
           ("POST", "/dead-letters/replay"): frozenset({"operator", "admin"}),
           ("POST", "/dead-letters/discard"): frozenset({"operator", "admin"})}
SETTINGS = {"intake": "IntakeSettings", "routing": "RoutingSettings",
            "sla_monitor": "SlaMonitorSettings", "notifier": "NotifierSettings"}
PATH_VALUES = {"code": "000.00.21.H40-261124-0001", "record_code": "000.00.21.H40-261124-0001",
               "event_id": "0b5e8a8e-3f7c-5d55-9e0e-2f1f7d6e9a10"}


@dataclass(frozen=True)
class Route:
    service: str
    method: str
    path: str

    @property
    def url(self) -> str:
        return re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], self.path)

    def __str__(self) -> str:
        return f"{self.service} {self.method} {self.path}"


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> LocalIssuer:
    return LocalIssuer(tmp_path_factory.mktemp("issuer"))


def build(service: str, issuer: LocalIssuer) -> FastAPI:
    settings_cls = getattr(importlib.import_module(f"services.{service}.settings"), SETTINGS[service])
    settings = settings_cls.model_validate({
        **issuer.service_env(), "lookup_key": issuer.lookup_key(),
        "KAFKA_SASL_USERNAME": f"svc.{service}", "KAFKA_SASL_PASSWORD": "unused",
        "MOTCUA_ENVIRONMENT": "test", "MOTCUA_TEST_CLOCK": True})
    app = importlib.import_module(f"services.{service}.app").create_app(settings)
    assert isinstance(app, FastAPI)
    return app


def routes_of(app: FastAPI, service: str) -> Iterator[Route]:
    for path, operations in app.openapi()["paths"].items():
        for method in operations:
            yield Route(service, method.upper(), path)


@pytest.fixture(scope="module")
def apps(issuer: LocalIssuer) -> dict[str, FastAPI]:
    return {service: build(service, issuer) for service in POLICY}


def call(app: FastAPI, route: Route, headers: dict[str, str] | None = None) -> httpx.Response:
    """One request, nothing started behind the app: a route that gets past its lock fails on the
    database it cannot reach, which is not what is tested here."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)

    async def send() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
            body: dict[str, object] | None = {} if route.method == "POST" else None
            return await client.request(route.method, route.url, json=body, headers=headers)

    return asyncio.run(send())


def assert_refused(response: httpx.Response, status: int, route: Route, why: str) -> None:
    assert response.status_code == status, f"{route} {why}: {response.status_code} {response.text}"
    assert response.headers["content-type"].startswith("application/problem+json"), route
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Bearer"), route


def test_every_route_is_public_or_has_its_roles_listed(apps: dict[str, FastAPI]) -> None:
    for service, app in apps.items():
        found = {(route.method, route.path) for route in routes_of(app, service)}
        expected = set(POLICY[service]) | set(CHASSIS) | PUBLIC
        assert found == expected, (
            f"{service}: routes not in the lock table {sorted(found - expected)}, "
            f"listed but gone {sorted(expected - found)}")


def all_locked(apps: dict[str, FastAPI]) -> Iterator[tuple[FastAPI, Route, frozenset[str]]]:
    for service, app in apps.items():
        for route in routes_of(app, service):
            key = (route.method, route.path)
            if key not in PUBLIC:
                yield app, route, {**POLICY[service], **CHASSIS}[key]


def test_no_token_and_bad_tokens_are_refused_with_401(apps: dict[str, FastAPI],
                                                      issuer: LocalIssuer, tmp_path: Path) -> None:
    stranger = LocalIssuer(tmp_path / "stranger")  # a key the services do not list
    forged = {
        "no token": {},
        "not a bearer token": {"Authorization": "Basic YWRtaW46YWRtaW4="},
        "garbage": {"Authorization": "Bearer not-a-jwt"},
        "expired": {"Authorization": f"Bearer {issuer.token(*ROLES, ttl_s=-120)}"},
        "another key": {"Authorization": f"Bearer {stranger.token(*ROLES)}"},
        "another issuer": {"Authorization": f"Bearer {issuer.token(*ROLES, iss='https://evil')}"},
        "another audience": {"Authorization": f"Bearer {issuer.token(*ROLES, aud='other')}"},
        "unsigned": {"Authorization": "Bearer " + jwt.encode(
            {"iss": "https://issuer.motcua.local", "aud": "motcua", "sub": "x", "exp": 4102444800,
             "roles": list(ROLES)}, key="", algorithm="none")},
    }
    checked = 0
    for app, route, _ in all_locked(apps):
        for why, headers in forged.items():
            assert_refused(call(app, route, headers), 401, route, why)
            checked += 1
    assert checked >= len(forged) * 14


def test_a_valid_token_without_the_role_gets_403_and_with_it_gets_past_the_lock(
        apps: dict[str, FastAPI], issuer: LocalIssuer) -> None:
    for app, route, allowed in all_locked(apps):
        others = [role for role in ROLES if role not in allowed]
        if others:
            response = call(app, route, issuer.headers(*others, subject="wrong-role"))
            assert_refused(response, 403, route, f"with {others}")
        for role in allowed:
            response = call(app, route, issuer.headers(role, subject=f"a-{role}"))
            assert response.status_code not in (401, 403), f"{route} refused {role}: {response.text}"


def test_tracking_takes_the_receipts_secret_and_a_wrong_one_looks_like_an_unknown_code(
        apps: dict[str, FastAPI], issuer: LocalIssuer) -> None:
    from services.intake.domain import lookup_secret

    app, code = apps["intake"], PATH_VALUES["code"]
    route = Route("intake", "GET", "/records/{code}")
    right = lookup_secret(issuer.lookup_key().encode(), code)
    wrong = call(app, route, {"X-Lookup-Secret": "AAAA-BBBB-CCCC-DDDD"})
    other = call(app, Route("intake", "GET", "/records/{code}"),
                 {"X-Lookup-Secret": lookup_secret(issuer.lookup_key().encode(), code[:-1] + "2")})
    assert wrong.status_code == other.status_code == 404
    assert wrong.json()["detail"] == other.json()["detail"] == (
        "No record matches this code and lookup secret.")
    assert wrong.headers["content-type"].startswith("application/problem+json")
    typed = right.lower().replace("-", " ")  # as a person may type it from the receipt
    assert call(app, route, {"X-Lookup-Secret": typed}).status_code not in (401, 403, 404)


def test_lookup_secrets_differ_per_record_and_per_key() -> None:
    from services.intake.domain import lookup_secret, lookup_secret_matches

    key = b"k" * 32
    first, second = (lookup_secret(key, f"000.00.21.H40-261124-000{n}") for n in (1, 2))
    assert first != second and re.fullmatch(r"[A-Z2-7]{4}(-[A-Z2-7]{4}){3}", first)
    assert lookup_secret(b"j" * 32, "000.00.21.H40-261124-0001") != first
    assert lookup_secret_matches(key, "000.00.21.H40-261124-0001", first)
    assert not lookup_secret_matches(key, "000.00.21.H40-261124-0002", first)
