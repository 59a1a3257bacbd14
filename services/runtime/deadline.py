"""One bound on a request's database time, whatever number of operations the request makes.

Per-operation limits (server selection, write acknowledgement, socket reads) each reset with the
next operation, so a request making three calls to a frozen database could wait three times the
limit. PyMongo's client-side operation timeout holds every operation inside the block to one
shared deadline; past it the driver raises a timeout error, which the problem handlers answer 503.
"""

from __future__ import annotations

import pymongo
from starlette.types import ASGIApp, Receive, Scope, Send


class DatabaseDeadlineMiddleware:
    """Runs each HTTP request inside `pymongo.timeout(seconds)`."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with pymongo.timeout(self.seconds):
            await self.app(scope, receive, send)
