"""Concurrent first uses of a new topic make one creation; a failed one is tried again."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import pytest

from services.intake.settings import IntakeSettings
from services.runtime.service import ServiceRuntime

REQUIRED = {"KAFKA_SASL_USERNAME": "svc.routing", "KAFKA_SASL_PASSWORD": "unused",
            "AUTH_ISSUER": "https://issuer.example", "AUTH_JWKS_URL": "file:///jwks.json",
            "lookup_key": "k" * 32}


async def test_concurrent_callers_share_one_creation_and_a_failure_is_retried(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []
    fail = True

    async def create(names: Iterable[str]) -> set[str]:
        calls.append(sorted(names))
        await asyncio.sleep(0.05)
        if fail:
            raise ConnectionError("broker away")
        return set(names)

    runtime = ServiceRuntime(IntakeSettings.model_validate(REQUIRED))
    monkeypatch.setattr(runtime.topic_admin, "ensure", create)
    family = ("routed.X.v2", "updates.X.v1", "feedback.X.v1")
    results = await asyncio.gather(*(runtime.ensure_topic(*family) for _ in range(5)),
                                   return_exceptions=True)
    assert len(calls) == 1 and all(isinstance(r, ConnectionError) for r in results)
    fail = False
    await asyncio.gather(*(runtime.ensure_topic(*family) for _ in range(5)))
    await runtime.ensure_topic("routed.X.v2")  # known now: no call at all
    assert calls == [sorted(family), sorted(family)]
