"""Webhooks for supervisors' systems: the JSON is built here; templates give only the human text."""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import urlsplit

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from services.notifier.domain.intents import ChannelName
from services.notifier.domain.render import Rendered
from services.notifier.domain.retry import DeliveryResult

from .base import post_json

SIGNATURE_HEADER = "X-Motcua-Signature"


class WebhookSettings(BaseModel):
    """How webhooks are called; the URL of each is the recipient's configured address."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timeout_s: float = Field(10.0, gt=0)
    allow_http: bool = False
    """Plain http (development, loopback tests); production webhooks must use https."""
    secret: SecretStr | None = None
    """When set, the body is signed: ``X-Motcua-Signature: sha256=<hex HMAC of the body>``."""


class WebhookChannel:
    """Body: ``{"notification_id", "template", "language", "title", "text", "data"}``."""

    def __init__(self, settings: WebhookSettings, client: aiohttp.ClientSession) -> None:
        self.settings = settings
        self.client = client

    @property
    def name(self) -> ChannelName:
        return "webhook"

    async def close(self) -> None:
        """Nothing of its own: the shared HTTP client is closed by the lifespan."""

    async def send(self, address: str, rendered: Rendered, *,
                   reference: str | None = None) -> DeliveryResult:
        url = address.strip()
        parts = urlsplit(url)
        schemes = ("https", "http") if self.settings.allow_http else ("https",)
        if parts.scheme not in schemes or not parts.hostname:
            return DeliveryResult("permanent", f"invalid address: not an {' or '.join(schemes)} URL")
        body = json.dumps({"notification_id": reference, "template": rendered.template,
                           "language": rendered.language, "title": rendered.subject,
                           "text": rendered.text, "data": rendered.data},
                          ensure_ascii=False, separators=(",", ":")).encode()
        headers: dict[str, str] = {}
        if reference is not None:
            headers["Idempotency-Key"] = reference
        if self.settings.secret is not None:
            key = self.settings.secret.get_secret_value().encode()
            headers[SIGNATURE_HEADER] = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
        return await post_json(self.client, url, body, headers, self.settings.timeout_s)
