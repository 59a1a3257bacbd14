"""The one port every channel implements, and the HTTP call the gateways share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import httpx

from services.notifier.domain.intents import ChannelName
from services.notifier.domain.render import Rendered
from services.notifier.domain.retry import DeliveryResult, classify_http
from services.runtime.logs import redact


class Channel(Protocol):
    """Sends one rendered message to one address; reports the outcome instead of raising."""

    @property
    def name(self) -> ChannelName: ...

    async def send(self, address: str, rendered: Rendered, *,
                   reference: str | None = None) -> DeliveryResult:
        """`reference` (the notification id) lets a provider drop a duplicate of a retried send."""
        ...

    async def close(self) -> None:
        """Release what the channel keeps open (at shutdown)."""
        ...


def detail(text: str) -> str:
    """A provider's message, made safe to publish: personal data shapes masked, kept short."""
    return redact(" ".join(text.split()))[:200]


async def post_json(client: httpx.AsyncClient, url: str, content: bytes,
                    headers: Mapping[str, str], timeout_s: float) -> DeliveryResult:
    """POST a JSON body; the status decides the verdict, a network failure is transient."""
    try:
        response = await client.post(url, content=content, timeout=timeout_s,
                                     headers={"Content-Type": "application/json", **headers})
    except httpx.TimeoutException as error:
        return DeliveryResult("transient", f"timeout ({type(error).__name__})")
    except httpx.TransportError as error:
        return DeliveryResult("transient", f"connection failed ({type(error).__name__})")
    return DeliveryResult(classify_http(response.status_code), f"http {response.status_code}")
