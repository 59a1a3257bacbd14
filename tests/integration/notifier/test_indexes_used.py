"""Every query the notifier sends on its hot paths and sweeps uses an index (none scans a
collection)."""

from __future__ import annotations

import asyncio

import pytest

from tests.query_plans import collection_scans, operations_profiled, profile_everything
from tests.unit.notifier.factories import routed

from .conftest import Gateway, NotifierFactory, applicant, for_record

pytestmark = pytest.mark.integration


async def test_parking_delivery_retries_sweeps_and_reads_use_indexes(
        notifier_service: NotifierFactory, gateway: Gateway) -> None:
    early, texted = applicant(), applicant(preferred="sms")
    gateway.script = [503]  # the first text is refused for now: a retry is claimed and made
    async with notifier_service() as notifier:
        client, database = notifier.runtime.mongo, notifier.settings.mongodb_database
        await profile_everything(client, database)
        await notifier.send(for_record(routed(), early.code))  # before its submission: parked
        async with asyncio.timeout(20):
            while not await notifier.parked(early.code):
                await asyncio.sleep(0.1)
        await notifier.send(early.submitted())  # replays the parked notice
        await notifier.send(texted.submitted())
        await notifier.settled(early.code, 2)
        [text] = await notifier.settled(texted.code, 1)
        assert text["attempts"] == 2
        await notifier.outcomes(count=3)
        await asyncio.sleep(notifier.settings.lease_s + 2 * notifier.settings.sweep_s)  # sweeps

        assert await operations_profiled(client, database) > 15
        assert await collection_scans(client, database) == []
