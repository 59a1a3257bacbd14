"""The local sign-in page holds the console to OIDC's code flow: a code is good once, only with
its PKCE verifier and the client's secret, and only back to a loopback address; the console
follows only paths of its own after signing in."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import jwt
import pytest

from deploy.local.issuer import LocalIssuer
from deploy.local.signin import client_secret, create_app
from services.console.i18n import choose
from services.console.session import _safe_next

REDIRECT = "http://127.0.0.1:8005/callback"
VERIFIER = "v" * 64


def challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


@pytest.fixture
def issuer(tmp_path: Path) -> LocalIssuer:
    return LocalIssuer(tmp_path / "issuer")


async def code_for(client: httpx.AsyncClient, person: str, redirect: str = REDIRECT) -> str:
    answer = await client.post("/authorize", data={
        "client_id": "console", "redirect_uri": redirect, "state": "s1",
        "code_challenge": challenge(VERIFIER), "person": person})
    assert answer.status_code == 303, answer.text
    query = parse_qs(urlparse(answer.headers["location"]).query)
    assert query["state"] == ["s1"]
    return query["code"][0]


def exchange(code: str, secret: str, verifier: str = VERIFIER) -> dict[str, str]:
    return {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "code_verifier": verifier, "client_id": "console", "client_secret": secret}


async def test_a_code_gives_the_persons_roles_once_and_only_with_its_verifier(
        issuer: LocalIssuer) -> None:
    transport = httpx.ASGITransport(app=create_app(issuer))
    secret = client_secret(issuer, "console")
    async with httpx.AsyncClient(transport=transport, base_url="http://signin") as client:
        page = await client.get("/authorize", params={
            "client_id": "console", "redirect_uri": REDIRECT, "state": "s1",
            "code_challenge": challenge(VERIFIER), "response_type": "code",
            "code_challenge_method": "S256"})
        assert page.status_code == 200 and 'value="officer.lan"' in page.text
        code = await code_for(client, "officer.lan")
        wrong = await client.post("/token", data=exchange(code, secret, verifier="w" * 64))
        assert wrong.status_code == 400  # the code is spent on a wrong try, too
        code = await code_for(client, "officer.lan")
        assert (await client.post("/token", data=exchange(code, "not-the-secret"))).status_code == 400
        code = await code_for(client, "officer.lan")
        answer = await client.post("/token", data=exchange(code, secret))
        assert answer.status_code == 200
        claims = jwt.decode(answer.json()["access_token"], options={"verify_signature": False})
        assert (claims["sub"], claims["roles"], claims["azp"]) == ("officer.lan", ["officer"],
                                                                   "console")
        assert (await client.post("/token", data=exchange(code, secret))).status_code == 400


async def test_codes_go_only_to_loopback_addresses_of_known_clients(issuer: LocalIssuer) -> None:
    transport = httpx.ASGITransport(app=create_app(issuer))
    async with httpx.AsyncClient(transport=transport, base_url="http://signin") as client:
        for redirect in ("https://evil.example/callback", "http://10.0.0.8/callback"):
            answer = await client.post("/authorize", data={
                "client_id": "console", "redirect_uri": redirect, "state": "s",
                "code_challenge": challenge(VERIFIER), "person": "officer.lan"})
            assert answer.status_code == 400
        stranger = await client.get("/authorize", params={
            "client_id": "stranger", "redirect_uri": REDIRECT, "state": "s",
            "code_challenge": challenge(VERIFIER)})
        assert stranger.status_code == 400


@pytest.mark.parametrize(("asked", "followed"), [
    ("/queue", "/queue"), ("//evil.example/x", "/"), ("https://evil.example", "/"), (None, "/")])
def test_after_signing_in_the_console_follows_only_its_own_paths(
        asked: str | None, followed: str) -> None:
    assert _safe_next(asked) == followed


@pytest.mark.parametrize(("cookie", "header", "language"), [
    (None, None, "vi"), ("en", "vi-VN", "en"), (None, "en-GB,en;q=0.8", "en"),
    ("fr", "fr-FR, vi;q=0.5", "vi")])
def test_the_language_is_the_persons_choice_then_the_browsers_then_vietnamese(
        cookie: str | None, header: str | None, language: str) -> None:
    assert choose(cookie, header) == language
