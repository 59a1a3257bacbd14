"""The in-memory deadline store keeps the promises of the MongoDB adapter."""

from __future__ import annotations

import pytest

from services.sla_monitor.ports import DeadlineStore
from tests.behaviour.deadline_store import DeadlineStoreBehaviour
from tests.fakes.sla_monitor import InMemoryDeadlineStore


class TestInMemoryDeadlineStore(DeadlineStoreBehaviour):
    @pytest.fixture
    def store(self) -> DeadlineStore:
        return InMemoryDeadlineStore()
