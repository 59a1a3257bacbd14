"""The in-memory notifier store keeps the promises of the MongoDB adapter."""

from __future__ import annotations

import pytest

from services.notifier.ports import NotifierStore
from tests.behaviour.notifier_store import NotifierStoreBehaviour
from tests.fakes.notifier import InMemoryNotifierStore


class TestInMemoryNotifierStore(NotifierStoreBehaviour):
    @pytest.fixture
    def store(self) -> NotifierStore:
        return InMemoryNotifierStore()
