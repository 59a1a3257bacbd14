"""The local stand-in for the province's sign-in page: OpenID Connect's authorization code flow
with PKCE, for the console, over the local issuer's key.

    python -m deploy.local.signin --port 8006 [--home DIR]

A person picks who they are from the demo's staff (there are no passwords: this is a stand-in
for the province's identity provider, on loopback only). The console (a confidential client whose
secret the issuer keeps in its folder) exchanges the code for an access token with the person's
roles, signed exactly as the real provider's would be. Redirects go only to loopback addresses
(RFC 8252 section 7.3), so a code never leaves the machine.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import os
import secrets
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode, urlparse

import uvicorn
from fastapi import FastAPI, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from .issuer import ISSUER, LocalIssuer

CODE_TTL_S = 60
TOKEN_TTL_S = 8 * 3600
"""A working day: the console asks again the next morning."""


@dataclass(frozen=True, slots=True)
class Person:
    subject: str
    name: str
    post: str
    roles: tuple[str, ...]


STAFF: tuple[Person, ...] = (
    Person("officer.lan", "Nguyễn Thị Lan", "Cán bộ Bộ phận Một cửa tỉnh", ("officer",)),
    Person("supervisor.minh", "Trần Văn Minh", "Giám sát viên, Văn phòng UBND tỉnh", ("supervisor",)),
    Person("operator.hung", "Lê Quốc Hùng", "Vận hành hệ thống, Sở Khoa học và Công nghệ", ("operator",)),
    Person("admin.mai", "Phạm Thị Mai", "Quản trị hệ thống", ("admin",)),
)
"""The demo's staff: posts of the one-stop system, one role each."""


@dataclass(frozen=True, slots=True)
class Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    person: Person
    expires: float


def client_secret(issuer: LocalIssuer, client_id: str) -> str:
    """The client's secret, created on first use and kept with the issuer's key."""
    return issuer.secret(f"client-{client_id}.secret")


def _loopback(uri: str) -> bool:
    parsed = urlparse(uri)
    return parsed.scheme == "http" and parsed.hostname in ("127.0.0.1", "localhost", "::1")


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def create_app(issuer: LocalIssuer, clients: tuple[str, ...] = ("console",)) -> FastAPI:
    app = FastAPI(title="motcua local sign-in", docs_url=None, redoc_url=None)
    grants: dict[str, Grant] = {}
    secrets_of = {client: client_secret(issuer, client) for client in clients}

    def checked(client_id: str, redirect_uri: str) -> None:
        if client_id not in secrets_of:
            raise HTTPException(400, f"unknown client {client_id!r}")
        if not _loopback(redirect_uri):
            raise HTTPException(400, "redirect_uri must be a loopback http address")

    @app.get("/health/ready")
    @app.get("/health/live")
    async def health() -> dict[str, object]:
        return {"status": "ready", "pid": os.getpid()}

    @app.get("/.well-known/openid-configuration")
    async def discovery(request: Request) -> dict[str, object]:
        base = str(request.base_url).rstrip("/")
        return {"issuer": ISSUER, "authorization_endpoint": f"{base}/authorize",
                "token_endpoint": f"{base}/token", "jwks_uri": issuer.jwks_url,
                "response_types_supported": ["code"], "code_challenge_methods_supported": ["S256"],
                "grant_types_supported": ["authorization_code"]}

    @app.get("/authorize", response_class=HTMLResponse)
    async def authorize(client_id: str, redirect_uri: str, state: str,
                        code_challenge: Annotated[str, Query(min_length=43, max_length=128)],
                        response_type: str = "code", code_challenge_method: str = "S256") -> str:
        checked(client_id, redirect_uri)
        if response_type != "code" or code_challenge_method != "S256":
            raise HTTPException(400, "only response_type=code with S256 PKCE")
        hidden = "".join(f'<input type="hidden" name="{k}" value="{html.escape(v)}">' for k, v in
                         {"client_id": client_id, "redirect_uri": redirect_uri, "state": state,
                          "code_challenge": code_challenge}.items())
        people = "".join(
            f'<li><button name="person" value="{p.subject}">{html.escape(p.name)}</button> '
            f'<small>{html.escape(p.post)} · {", ".join(p.roles)}</small></li>' for p in STAFF)
        return (f'<!doctype html><html lang="vi"><head><meta charset="utf-8">'
                f'<meta name="viewport" content="width=device-width, initial-scale=1">'
                f'<title>Đăng nhập · Sign in</title><style>body{{font-family:sans-serif;'
                f'max-width:34rem;margin:2rem auto;padding:0 1rem}}li{{margin:.6rem 0}}'
                f'button{{font-size:1rem;padding:.4rem .8rem}}</style></head><body>'
                f'<h1>Đăng nhập · Sign in</h1><p>Trang đăng nhập thay thế cho môi trường cục bộ '
                f'(local stand-in for the province\'s identity provider). Chọn người dùng:</p>'
                f'<form method="post" action="/authorize">{hidden}<ul>{people}</ul></form>'
                f'</body></html>')

    @app.post("/authorize")
    async def approve(client_id: Annotated[str, Form()], redirect_uri: Annotated[str, Form()],
                      state: Annotated[str, Form()], code_challenge: Annotated[str, Form()],
                      person: Annotated[str, Form()]) -> RedirectResponse:
        checked(client_id, redirect_uri)
        who = next((p for p in STAFF if p.subject == person), None)
        if who is None:
            raise HTTPException(400, "unknown person")
        code = secrets.token_urlsafe(24)
        grants[code] = Grant(client_id, redirect_uri, code_challenge, who, time.time() + CODE_TTL_S)
        separator = "&" if urlparse(redirect_uri).query else "?"
        return RedirectResponse(f"{redirect_uri}{separator}{urlencode({'code': code, 'state': state})}",
                                status_code=303)

    @app.post("/token")
    async def token(grant_type: Annotated[str, Form()], code: Annotated[str, Form()],
                    redirect_uri: Annotated[str, Form()], code_verifier: Annotated[str, Form()],
                    client_id: Annotated[str, Form()],
                    client_secret: Annotated[str, Form()]) -> JSONResponse:
        grant = grants.pop(code, None)  # a code is good once
        if (grant_type != "authorization_code" or grant is None or grant.expires < time.time()
                or grant.client_id != client_id or grant.redirect_uri != redirect_uri
                or not secrets.compare_digest(secrets_of.get(client_id, ""), client_secret)
                or not secrets.compare_digest(_s256(code_verifier), grant.challenge)):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        person = grant.person
        access = issuer.token(*person.roles, subject=person.subject, client=client_id,
                              ttl_s=TOKEN_TTL_S, name=person.name)
        return JSONResponse({"access_token": access, "token_type": "Bearer",
                             "expires_in": TOKEN_TTL_S},
                            headers={"Cache-Control": "no-store"})

    return app


def main(argv: list[str] | None = None) -> int:
    from .stack import DEFAULT_HOME

    parser = argparse.ArgumentParser(prog="python -m deploy.local.signin", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=int(os.environ.get("SIGNIN_HTTP_PORT", "8006")))
    parser.add_argument("--home", type=Path,
                        default=Path(os.environ.get("SIGNIN_HOME", DEFAULT_HOME / "issuer")))
    args = parser.parse_args(argv)
    uvicorn.run(create_app(LocalIssuer(args.home)), host="127.0.0.1", port=args.port,
                log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
