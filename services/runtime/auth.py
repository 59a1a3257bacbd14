"""Who is calling: bearer JWTs verified against the issuer's key set, and the roles they carry.

Standard OIDC claims (`iss`, `aud`, `exp`, `sub`, `azp`), so the province's identity provider can
replace the local issuer: people sign in there (admin, operator, supervisor, officer), and the
portal or a one-stop counter gets its token by the client-credentials grant (`portal`,
`counter`). Keys come from a JWKS document (`AUTH_JWKS_URL`, https or file), fetched at first use
and again when a token names a key not seen yet (the issuer rotated its keys).

Every refusal is problem+json: 401 with `WWW-Authenticate: Bearer` for no or a bad token, 403 for
a good token without the role.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlparse

import aiohttp
import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .problems import RETRY_AFTER_S, Problem

Role = Literal["admin", "operator", "supervisor", "officer", "portal", "counter"]
ROLES: tuple[Role, ...] = get_args(Role)
ALGORITHMS = ["ES256", "RS256"]
_REFRESH_AT_MOST_EVERY_S = 30.0
_REMEMBERED_TOKENS = 4096
"""Verified tokens kept; past that the memory starts afresh (a flood of tokens costs checks,
not memory)."""


@dataclass(frozen=True, slots=True)
class Principal:
    """A verified caller: a person (`sub`) or a client (`azp`), with the roles the issuer gave."""

    subject: str
    roles: frozenset[str]
    client: str | None = None


class KeySet:
    """The issuer's public keys by `kid`, loaded from `url` and reloaded for an unknown kid."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._keys: dict[str, jwt.PyJWK] = {}
        self._loaded_at = 0.0
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> jwt.PyJWK | None:
        if kid not in self._keys and time.monotonic() - self._loaded_at > _REFRESH_AT_MOST_EVERY_S:
            async with self._lock:
                if kid not in self._keys:
                    await self._load()
        return self._keys.get(kid)

    async def _load(self) -> None:
        parsed = urlparse(self._url)
        if parsed.scheme == "file":
            document = json.loads(await asyncio.to_thread(Path(parsed.path).read_text))
        else:
            try:
                async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
                    async with session.get(self._url, raise_for_status=True) as response:
                        document = await response.json(content_type=None)
            except (aiohttp.ClientError, TimeoutError, ValueError) as error:
                # the caller's credential may be fine: the issuer's keys are out of reach
                raise Problem(503, "issuer-unavailable", "Service temporarily unavailable",
                              f"The token issuer's key set could not be read "
                              f"({type(error).__name__}); retry later.",
                              headers={"Retry-After": str(RETRY_AFTER_S)}) from None
        self._keys = {str(entry["kid"]): jwt.PyJWK(entry) for entry in document.get("keys", [])
                      if "kid" in entry and entry.get("use", "sig") == "sig"}
        self._loaded_at = time.monotonic()


class Authenticator:
    """Verifies a bearer token: signature by a key of the set, issuer, audience, expiry."""

    def __init__(self, issuer: str, audience: str, jwks_url: str, roles_claim: str = "roles",
                 leeway_s: float = 30.0) -> None:
        self.issuer, self.audience, self.roles_claim = issuer, audience, roles_claim
        self.keys = KeySet(jwks_url)
        self.leeway_s = leeway_s
        self._verified: dict[str, tuple[Principal, float]] = {}

    async def verify(self, token: str) -> Principal:
        """A client sends the same token with every request until it expires: a token once
        verified is remembered until its expiry (the ES256 check was about 6 % of intake's
        CPU per application). Remembered tokens are few, bounded, and forgotten when expired."""
        known = self._verified.get(token)
        if known is not None:
            principal, expires = known
            if time.time() < expires + self.leeway_s:
                return principal
            del self._verified[token]
        principal, expires = await self._verify(token)
        if len(self._verified) >= _REMEMBERED_TOKENS:
            self._verified.clear()
        self._verified[token] = (principal, expires)
        return principal

    async def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise unauthenticated("The bearer token is not a JWT.") from None
        key = await self.keys.key(str(header.get("kid", "")))
        if key is None:
            raise unauthenticated("The bearer token is signed by a key the issuer does not list.")
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key, algorithms=ALGORITHMS, audience=self.audience, issuer=self.issuer,
                leeway=self.leeway_s, options={"require": ["exp", "iss", "aud", "sub"]})
        except jwt.ExpiredSignatureError:
            raise unauthenticated("The bearer token has expired.") from None
        except jwt.PyJWTError as error:
            raise unauthenticated(f"The bearer token is not valid here: {_reason(error)}.") from None
        roles = claims.get(self.roles_claim, [])
        return Principal(str(claims["sub"]),
                         frozenset(str(r) for r in roles) if isinstance(roles, list) else frozenset(),
                         str(claims["azp"]) if claims.get("azp") else None), float(claims["exp"])


def _reason(error: jwt.PyJWTError) -> str:
    """What is wrong, without echoing the token."""
    return {jwt.InvalidAudienceError: "wrong audience", jwt.InvalidIssuerError: "wrong issuer",
            jwt.InvalidSignatureError: "bad signature",
            jwt.MissingRequiredClaimError: "a required claim is missing",
            jwt.ImmatureSignatureError: "not valid yet"}.get(type(error), "malformed or unsigned")


def unauthenticated(detail: str) -> Problem:
    """The 401: no credential, or one that is not valid."""
    return Problem(401, "unauthenticated", "Credential required", detail,
                   headers={"WWW-Authenticate": 'Bearer realm="motcua"'})


_bearer = HTTPBearer(auto_error=False, description="A JWT from the configured issuer")
BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def optional_principal(request: Request, credentials: BearerCredentials) -> Principal | None:
    """The caller if a bearer token came (and is valid: a bad one is refused), else None."""
    if credentials is None:
        return None
    authenticator = request.app.state.runtime.authenticator
    assert isinstance(authenticator, Authenticator)
    return await authenticator.verify(credentials.credentials)


def authorize(principal: Principal | None, *roles: Role, hint: str = "") -> Principal:
    """The caller if it holds one of `roles`; else 401 (no caller) or 403."""
    if principal is None:
        raise unauthenticated("Send `Authorization: Bearer <token>` from the issuer.")
    if not principal.roles & set(roles):
        raise Problem(403, "forbidden", "Not allowed",
                      f"This needs one of the roles {', '.join(sorted(roles))}.{hint}")
    return principal


def requires(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """A FastAPI dependency: a valid bearer token with one of `roles`, else 401/403."""

    async def check(principal: Annotated[Principal | None, Depends(optional_principal)]) -> Principal:
        return authorize(principal, *roles)

    check.__name__ = f"requires_{'_or_'.join(roles)}"
    return check
