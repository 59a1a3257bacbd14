"""The in-memory route store keeps the promises of the MongoDB adapter."""

from __future__ import annotations

import pytest

from services.routing.ports import RouteStore
from tests.behaviour.route_store import RouteStoreBehaviour
from tests.fakes.routing import InMemoryRouteStore


class TestInMemoryRouteStore(RouteStoreBehaviour):
    @pytest.fixture
    def store(self) -> RouteStore:
        return InMemoryRouteStore()
