"""The in-memory record store keeps the promises of the MongoDB adapter."""

from __future__ import annotations

import pytest

from services.intake.ports import RecordStore
from tests.behaviour.intake_store import RecordStoreBehaviour
from tests.fakes.intake import InMemoryRecordStore


class TestInMemoryRecordStore(RecordStoreBehaviour):
    @pytest.fixture
    def store(self) -> RecordStore:
        return InMemoryRecordStore()
