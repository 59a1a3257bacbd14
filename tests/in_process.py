"""What the in-process service harnesses of the integration tests share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI

from contracts.envelope import Envelope, EventPayload
from services.runtime.clock import MovableClock
from services.runtime.service import ServiceRuntime
from tests.endpoints import Endpoints


@dataclass
class InProcessService:
    """A service app started in the test's event loop, its HTTP client and its test clock."""

    app: FastAPI
    client: httpx.AsyncClient
    endpoints: Endpoints
    clock: MovableClock

    @property
    def runtime(self) -> ServiceRuntime:
        runtime: ServiceRuntime = self.app.state.runtime
        return runtime

    async def send(self, payload: EventPayload, *, event_id: str | None = None,
                   at: datetime | None = None) -> Envelope[Any]:
        """Publish an event as its producer would, stamped with the service's clock."""
        envelope = Envelope.wrap(payload, source="/motcua/test", time=at or self.clock.now(), id=event_id)
        await self.runtime.publisher.publish(envelope)
        return envelope
