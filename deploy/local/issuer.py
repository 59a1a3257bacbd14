"""The local stand-in for the province's identity provider: one signing key, its JWKS, tokens.

    python -m deploy.local.issuer token --role operator [--subject nguyen.van.a] [--home DIR]
    python -m deploy.local.issuer env       # AUTH_* settings (and intake's lookup key) for a shell

The services verify tokens exactly as they would the real provider's (issuer, audience, expiry,
an ES256 signature by a key of the JWKS), so replacing it is a matter of settings: AUTH_ISSUER
and AUTH_JWKS_URL of the provider, whose clients and users carry the roles in `roles`.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import secrets
import sys
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from services.runtime.auth import ROLES

ISSUER = "https://issuer.motcua.local"
AUDIENCE = "motcua"


def _b64(number: int) -> str:
    return base64.urlsafe_b64encode(number.to_bytes(32, "big")).decode().rstrip("=")


class LocalIssuer:
    """Keys under `home` (created on first use, mode 0600); tokens signed on request."""

    def __init__(self, home: Path) -> None:
        self.home = home

    @property
    def jwks_file(self) -> Path:
        return self.home / "jwks.json"

    @property
    def jwks_url(self) -> str:
        return self.jwks_file.resolve().as_uri()

    def _private_key(self) -> ec.EllipticCurvePrivateKey:
        pem = self.home / "signing-key.pem"
        if not pem.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            key = ec.generate_private_key(ec.SECP256R1())
            fd = os.open(pem, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        loaded = serialization.load_pem_private_key(pem.read_bytes(), password=None)
        assert isinstance(loaded, ec.EllipticCurvePrivateKey)
        if not self.jwks_file.exists():
            self.jwks_file.write_text(json.dumps({"keys": [self._public_jwk(loaded)]}))
        return loaded

    @staticmethod
    def _public_jwk(key: ec.EllipticCurvePrivateKey) -> dict[str, str]:
        numbers = key.public_key().public_numbers()
        jwk = {"crv": "P-256", "kty": "EC", "x": _b64(numbers.x), "y": _b64(numbers.y)}
        # RFC 7638 thumbprint as the key id
        canonical = json.dumps(jwk, separators=(",", ":"), sort_keys=True).encode()
        kid = base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).decode().rstrip("=")
        return {**jwk, "kid": kid, "use": "sig", "alg": "ES256"}

    def token(self, *roles: str, subject: str = "local-user", client: str | None = None,
              ttl_s: float = 3600, **claims: Any) -> str:
        """A token for `roles`; `claims` override the standard ones (tests forge bad tokens)."""
        key = self._private_key()
        now = int(time.time())
        body: dict[str, Any] = {"iss": ISSUER, "aud": AUDIENCE, "sub": subject, "iat": now,
                                "exp": now + int(ttl_s), "roles": list(roles)}
        if client is not None:
            body["azp"] = client
        body.update(claims)
        return jwt.encode(body, key, algorithm="ES256",
                          headers={"kid": self._public_jwk(key)["kid"]})

    def headers(self, *roles: str, subject: str = "local-user",
                client: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(*roles, subject=subject, client=client)}"}

    def secret(self, name: str) -> str:
        """A random secret kept under `name` in the issuer's folder (one folder of the local
        stack's HTTP secrets), created on first use with mode 0600."""
        path = self.home / name
        if not path.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(32))
        return path.read_text()

    def lookup_key(self) -> str:
        """Intake's key for receipts' lookup secrets."""
        return self.secret("intake-lookup-key")

    def service_env(self) -> dict[str, str]:
        """The settings that make a service trust this issuer (and intake print secrets)."""
        self._private_key()
        return {"AUTH_ISSUER": ISSUER, "AUTH_JWKS_URL": self.jwks_url, "AUTH_AUDIENCE": AUDIENCE,
                "INTAKE_LOOKUP_KEY": self.lookup_key()}


def main(argv: list[str] | None = None) -> int:
    from .stack import DEFAULT_HOME

    parser = argparse.ArgumentParser(prog="python -m deploy.local.issuer", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["token", "env"])
    parser.add_argument("--role", action="append", choices=ROLES, default=[])
    parser.add_argument("--subject", default="local-user")
    parser.add_argument("--ttl", type=float, default=3600, help="seconds (default %(default)s)")
    parser.add_argument("--home", type=Path, default=DEFAULT_HOME / "issuer")
    args = parser.parse_args(argv)
    issuer = LocalIssuer(args.home)
    if args.command == "env":
        print("".join(f"export {k}={v}\n" for k, v in issuer.service_env().items()), end="")
        return 0
    if not args.role:
        parser.error("token needs at least one --role")
    print(issuer.token(*args.role, subject=args.subject, ttl_s=args.ttl))
    return 0


if __name__ == "__main__":
    sys.exit(main())
