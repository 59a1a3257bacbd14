"""Liveness, readiness (broker and database answer) and, outside production, the test clock."""

from __future__ import annotations

import asyncio
import os
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pydantic import AwareDatetime, BaseModel, Field

from .auth import requires
from .clock import MovableClock
from .problems import Problem

if TYPE_CHECKING:
    from .service import ServiceRuntime


def health_router(runtime: ServiceRuntime) -> APIRouter:
    router = APIRouter(prefix="/health", tags=["health"])

    @router.get("/live")
    async def live() -> dict[str, str]:
        return {"status": "ok", "service": runtime.settings.service_name}

    @router.get("/ready")
    async def ready() -> JSONResponse:
        checks: dict[str, Any] = {"started": runtime.started}
        try:
            await asyncio.wait_for(runtime.db.command("ping"), 2.0)
            checks["mongodb"] = "ok"
        except Exception as error:
            checks["mongodb"] = f"unavailable: {type(error).__name__}"
        checks["kafka"] = "ok" if await runtime.broker.ping(timeout=2.0) else "unavailable"
        ok = checks["started"] and checks["mongodb"] == "ok" and checks["kafka"] == "ok"
        body = {"status": "ready" if ok else "not ready",
                "service": runtime.settings.service_name, "pid": os.getpid(), "checks": checks,
                "notices": runtime.notices()}
        return JSONResponse(body, status_code=200 if ok else 503)

    return router


def metrics_router(registry: CollectorRegistry) -> APIRouter:
    """Prometheus text exposition of the service's own counters (no personal data in labels)."""
    router = APIRouter(tags=["metrics"])

    @router.get("/metrics", response_class=Response)
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router


class ClockMove(BaseModel):
    seconds: float = Field(gt=0, description="how far to move the test clock forward")


class ClockSet(BaseModel):
    at: AwareDatetime = Field(description="the instant to move the test clock to (not in its past)")


def test_clock_router(clock: MovableClock) -> APIRouter:
    # Moving the clock moves every statutory deadline: admins only, and only in tests.
    router = APIRouter(prefix="/test-clock", tags=["test clock"],
                       dependencies=[Depends(requires("admin"))])

    @router.get("")
    async def read() -> dict[str, datetime | float]:
        return {"now": clock.now(), "offset_s": clock.offset.total_seconds()}

    @router.post("/advance")
    async def advance(move: ClockMove) -> dict[str, datetime | float]:
        clock.advance(timedelta(seconds=move.seconds))
        return {"now": clock.now(), "offset_s": clock.offset.total_seconds()}

    @router.post("/set")
    async def set_to(move: ClockSet) -> dict[str, datetime | float]:
        try:
            clock.set(move.at)
        except ValueError as error:
            raise Problem(409, "clock-backwards", "The test clock only moves forward", str(error)) from None
        return {"now": clock.now(), "offset_s": clock.offset.total_seconds()}

    return router
