"""The issuer's key set read over HTTP, and an issuer out of reach answered as an outage."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from deploy.local.issuer import AUDIENCE, ISSUER, LocalIssuer
from services.runtime.auth import Authenticator
from services.runtime.problems import Problem


@pytest.fixture
def issuer(tmp_path: Path) -> LocalIssuer:
    return LocalIssuer(tmp_path / "issuer")


@pytest.fixture
async def jwks_url(issuer: LocalIssuer) -> AsyncIterator[str]:
    """The issuer's key set on a loopback HTTP server."""
    issuer.service_env()  # writes the key set
    document = issuer.jwks_file.read_bytes()
    app = web.Application()

    async def keys(_: web.Request) -> web.Response:
        return web.Response(body=document, content_type="application/json")

    app.router.add_get("/.well-known/jwks.json", keys)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}/.well-known/jwks.json"
    await runner.cleanup()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_token_is_verified_with_a_key_set_read_over_http(
        issuer: LocalIssuer, jwks_url: str) -> None:
    principal = await Authenticator(ISSUER, AUDIENCE, jwks_url).verify(
        issuer.token("portal", subject="portal-7"))
    assert (principal.subject, principal.roles) == ("portal-7", frozenset({"portal"}))


async def test_an_issuer_out_of_reach_is_a_503_not_a_refused_credential(
        issuer: LocalIssuer) -> None:
    authenticator = Authenticator(ISSUER, AUDIENCE,
                                  f"http://127.0.0.1:{closed_port()}/.well-known/jwks.json")
    with pytest.raises(Problem) as outage:
        await authenticator.verify(issuer.token("portal"))
    assert (outage.value.status, outage.value.code) == (503, "issuer-unavailable")
    assert outage.value.headers == {"Retry-After": "2"}
