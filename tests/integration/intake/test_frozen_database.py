"""A database that stops answering: the request gets a bounded 503, and its retry creates once."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from deploy.local.mongo import MongoServer
from services.intake.app import create_app
from services.intake.settings import IntakeSettings
from tests.endpoints import Endpoints

pytestmark = pytest.mark.integration

TIMEOUT_S = 2.0
"""The request's whole database time. Each operation's own limits (a socket read waits up to
twice this) would let one request wait longer; the deadline is the request's, not per call."""


async def test_a_frozen_database_answers_503_and_the_retry_with_the_key_creates_once(
    tmp_path: Path, make_settings: Callable[..., Any], make_application: Callable[..., dict[str, Any]],
    endpoints: Endpoints,
) -> None:
    mongo = MongoServer(tmp_path / "mongo")  # a member of this test's own, to freeze at will
    mongo.prepare()
    mongo.start()
    assert mongo.process is not None and mongo.process.pid is not None
    pid = mongo.process.pid
    try:
        settings: IntakeSettings = make_settings(IntakeSettings, MONGODB_URI=mongo.uri,
                                                 MONGODB_TIMEOUT_S=TIMEOUT_S)
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://intake",
                                         timeout=60, headers=endpoints.all_roles()) as client:
                body, key = make_application(), str(uuid.uuid4())
                os.kill(pid, signal.SIGSTOP)
                try:  # unbounded, this request would wait for the SIGCONT that follows it
                    asked = time.monotonic()
                    frozen = await client.post("/applications", json=body,
                                               headers={"Idempotency-Key": key})
                    waited = time.monotonic() - asked
                finally:
                    os.kill(pid, signal.SIGCONT)
                assert waited < 1.75 * TIMEOUT_S, f"answered after {waited:.1f} s"
                assert frozen.status_code == 503, frozen.text
                assert frozen.headers["content-type"] == "application/problem+json"
                assert frozen.json()["type"] == "urn:motcua:problem:database-unavailable"
                assert int(frozen.headers["retry-after"]) > 0
                created = await client.post("/applications", json=body,
                                            headers={"Idempotency-Key": key})
                again = await client.post("/applications", json=body,
                                          headers={"Idempotency-Key": key})
                assert (created.status_code, again.status_code) == (201, 200), created.text
                assert created.json()["record_code"] == again.json()["record_code"]
                runtime = app.state.runtime
                assert await runtime.db["records"].count_documents({}) == 1
    finally:
        os.kill(pid, signal.SIGCONT)
        mongo.stop()
