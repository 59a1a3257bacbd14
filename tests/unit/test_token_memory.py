"""A verified bearer token is remembered until it expires, and never past that."""

from __future__ import annotations

import asyncio
from pathlib import Path
from unittest import mock

import jwt
import pytest

from deploy.local.issuer import AUDIENCE, ISSUER, LocalIssuer
from services.runtime.auth import Authenticator
from services.runtime.problems import Problem


@pytest.fixture
def issuer(tmp_path: Path) -> LocalIssuer:
    return LocalIssuer(tmp_path / "issuer")


async def test_a_token_is_checked_once_then_remembered(issuer: LocalIssuer) -> None:
    authenticator = Authenticator(ISSUER, AUDIENCE, issuer.service_env()["AUTH_JWKS_URL"])
    token = issuer.token("portal", subject="portal-1")
    with mock.patch("jwt.decode", wraps=jwt.decode) as decode:
        first = await authenticator.verify(token)
        again = await authenticator.verify(token)
    assert first == again and first.subject == "portal-1" and first.roles == {"portal"}
    assert decode.call_count == 1


async def test_a_remembered_token_is_refused_once_it_expires(issuer: LocalIssuer) -> None:
    authenticator = Authenticator(ISSUER, AUDIENCE, issuer.service_env()["AUTH_JWKS_URL"],
                                  leeway_s=0)
    token = issuer.token("portal", ttl_s=1)
    await authenticator.verify(token)
    await asyncio.sleep(2.1)  # past its whole-second expiry
    with pytest.raises(Problem) as refused:
        await authenticator.verify(token)
    assert refused.value.status == 401 and "expired" in refused.value.detail
