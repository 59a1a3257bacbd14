"""SMS through an HTTP gateway: one JSON POST per message."""

from __future__ import annotations

import json
import re

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from services.notifier.domain.intents import ChannelName
from services.notifier.domain.render import Rendered
from services.notifier.domain.retry import DeliveryResult

from .base import post_json

_PHONE = re.compile(r"^(\+[1-9][0-9]{6,14}|0[0-9]{9,10})$")


class SmsSettings(BaseModel):
    """The gateway's endpoint and credentials.

    The gateway receives ``{"to", "text", "sender", "reference"}``; `reference` is the notification
    id, also sent as ``Idempotency-Key``, so a retry after a lost answer is not a second SMS.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    gateway_url: str = Field(pattern=r"^https?://\S+$")
    timeout_s: float = Field(10.0, gt=0)
    sender: str = Field("MOTCUA", min_length=1, max_length=11)
    """The brand name shown as sender (at most 11 characters)."""
    api_key: SecretStr | None = None


class SmsChannel:
    """HTTP 2xx delivered; 5xx, 408, 429, timeouts and refused connections transient; 4xx permanent."""

    def __init__(self, settings: SmsSettings, client: aiohttp.ClientSession) -> None:
        self.settings = settings
        self.client = client

    @property
    def name(self) -> ChannelName:
        return "sms"

    async def close(self) -> None:
        """Nothing of its own: the shared HTTP client is closed by the lifespan."""

    async def send(self, address: str, rendered: Rendered, *,
                   reference: str | None = None) -> DeliveryResult:
        number = address.strip().replace(" ", "")
        if not _PHONE.fullmatch(number):
            return DeliveryResult("permanent", "invalid address: not a phone number")
        body = {"to": number, "text": rendered.text, "sender": self.settings.sender,
                "reference": reference}
        headers: dict[str, str] = {}
        if reference is not None:
            headers["Idempotency-Key"] = reference
        if self.settings.api_key is not None:
            headers["Authorization"] = f"Bearer {self.settings.api_key.get_secret_value()}"
        return await post_json(self.client, self.settings.gateway_url,
                               json.dumps(body, ensure_ascii=False).encode(), headers,
                               self.settings.timeout_s)
