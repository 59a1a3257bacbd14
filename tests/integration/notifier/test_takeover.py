"""A backlog of deliveries left by a dead notifier is taken over in one sweep, past the ones a
live process still holds."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from services.notifier import documents
from services.notifier.domain import DeliveryIntent, plan
from services.notifier.ports import AttemptClaim
from tests.unit.notifier.factories import TEMPLATES, directory, envelope

from .conftest import NotifierFactory, applicant

pytestmark = pytest.mark.integration

BATCH = 4


async def test_a_sweep_takes_over_a_whole_backlog_past_deliveries_a_live_process_holds(
        notifier_service: NotifierFactory) -> None:
    people = [applicant() for _ in range(3 * BATCH)]
    intents: list[DeliveryIntent] = []
    for person in people:
        intents += plan(envelope(person.submitted(), event_id=f"evt-{person.code}"), None,
                        directory(), TEMPLATES).intents
    assert len(intents) == 3 * BATCH
    async with notifier_service(batch_size=BATCH, sweep_s=0.5) as notifier:
        db, store = notifier.runtime.db, notifier.app.state.store
        # Another instance is sending the oldest batch right now (its lease runs).
        held = intents[:BATCH]
        await store.claim([AttemptClaim(
            notification_id=i.notification_id, message_id=i.notification_id, attempt=1,
            kind="send", at=notifier.clock.now(), lease_until=datetime.now(UTC) + timedelta(hours=1))
            for i in held])
        long_ago = datetime.now(UTC) - timedelta(hours=1)
        await store.insert_deliveries([  # the oldest first: what a sweep reads first
            documents.delivery(intent, created_at=long_ago + timedelta(seconds=n), traceparent=None)
            for n, intent in enumerate(intents)])

        orphans = {i.notification_id for i in intents[BATCH:]}
        async with asyncio.timeout(30):
            while {d["_id"] async for d in db["results"].find({"status": "sent"})} != orphans:
                await asyncio.sleep(0.1)
        assert await notifier.metric("motcua_notifications_taken_over_total") == 2 * BATCH  # once each
        assert await db["results"].count_documents(
            {"_id": {"$in": [i.notification_id for i in held]}}) == 0  # the live holder's
