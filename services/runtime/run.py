"""Serve one service process with uvicorn: SIGTERM stops HTTP, drains consumers, then exits."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from .logs import configure_logging
from .settings import ServiceSettings


def serve(app: FastAPI, settings: ServiceSettings) -> None:
    configure_logging(settings.service_name, settings.log_level)
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        lifespan="on",
        # The standard loop, never uvloop: on uvloop, writing to a connection the broker closed
        # raises inside aiokafka's group coordinator task and ends it, and the consumer never
        # rejoins its group (seen when Kafka was killed mid-stream: the notifier stopped).
        loop="asyncio",
        timeout_graceful_shutdown=int(settings.graceful_timeout_s),
    )
