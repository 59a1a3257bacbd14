"""Signing in with the province's identity provider (OIDC authorization code flow with PKCE),
and the session that follows: the access token in an HttpOnly cookie.

The console keeps no session state of its own: the cookie holds the provider's signed token,
verified on every request like any service verifies it, so any number of console instances
serve the same people. Forms carry a token derived from the session (HMAC under the client
secret) on top of SameSite=Lax, so another site cannot post in a person's name.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
from fastapi import Request
from fastapi.responses import Response

from services.runtime.auth import Authenticator, Principal
from services.runtime.problems import Problem

from .settings import ConsoleSettings

SESSION_COOKIE = "motcua_session"
SIGNIN_COOKIE = "motcua_signin"
SIGNIN_TTL_S = 600


@dataclass(frozen=True, slots=True)
class Session:
    principal: Principal
    token: str
    csrf: str

    def has(self, *roles: str) -> bool:
        return bool(self.principal.roles & set(roles))


class SignInFailed(Exception):
    """The provider's answer could not be used (a stale or forged callback)."""


def _safe_next(path: str | None) -> str:
    """Only a path of this console, never another site."""
    return path if path and path.startswith("/") and not path.startswith("//") else "/"


class SignIn:
    def __init__(self, settings: ConsoleSettings, client: httpx.AsyncClient) -> None:
        self._settings = settings
        self._client = client
        self._secret = settings.oidc_client_secret.get_secret_value()
        self.authenticator = Authenticator(settings.auth_issuer, settings.auth_audience,
                                           settings.auth_jwks_url, settings.auth_roles_claim)

    def _redirect_uri(self, request: Request) -> str:
        base = self._settings.public_url or str(request.base_url)
        return f"{base.rstrip('/')}/callback"

    def start(self, request: Request, next_path: str | None) -> Response:
        """Send the browser to the provider, remembering the state, the PKCE verifier and the
        page to return to."""
        state, verifier = secrets.token_urlsafe(16), secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        query = urlencode({"response_type": "code", "client_id": self._settings.oidc_client_id,
                           "redirect_uri": self._redirect_uri(request), "scope": "openid",
                           "state": state, "code_challenge": challenge.decode().rstrip("="),
                           "code_challenge_method": "S256"})
        response = Response(status_code=303,
                            headers={"Location": f"{self._settings.oidc_authorize_url}?{query}"})
        response.set_cookie(SIGNIN_COOKIE, f"{state}.{verifier}.{_safe_next(next_path)}",
                            max_age=SIGNIN_TTL_S, httponly=True, samesite="lax",
                            secure=self._settings.secure_cookies)
        return response

    async def finish(self, request: Request, code: str, state: str) -> tuple[str, str]:
        """The token for the code the provider sent back, and the page to go to."""
        kept = request.cookies.get(SIGNIN_COOKIE, "")
        parts = kept.split(".", 2)
        if len(parts) != 3 or not secrets.compare_digest(parts[0], state):
            raise SignInFailed("the sign-in was not started here, or took too long")
        _, verifier, next_path = parts
        try:
            answer = await self._client.post(self._settings.oidc_token_url, data={
                "grant_type": "authorization_code", "code": code,
                "redirect_uri": self._redirect_uri(request), "code_verifier": verifier,
                "client_id": self._settings.oidc_client_id, "client_secret": self._secret})
        except httpx.HTTPError as error:
            raise SignInFailed(f"the identity provider did not answer ({type(error).__name__})") \
                from None
        if answer.status_code != 200:
            raise SignInFailed(f"the identity provider refused the code ({answer.status_code})")
        token = str(answer.json().get("access_token", ""))
        await self.authenticator.verify(token)  # a token the services would refuse is no session
        return token, _safe_next(next_path)

    def keep(self, response: Response, token: str) -> None:
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax",
                            secure=self._settings.secure_cookies)
        response.delete_cookie(SIGNIN_COOKIE)

    @staticmethod
    def forget(response: Response) -> None:
        response.delete_cookie(SESSION_COOKIE)

    async def session(self, request: Request) -> Session | None:
        """The signed-in person, or None (no cookie, or a token no longer valid)."""
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        try:
            principal = await self.authenticator.verify(token)
        except Problem:
            return None
        csrf = hmac.new(self._secret.encode(), token.encode(), hashlib.sha256).hexdigest()[:32]
        return Session(principal, token, csrf)
