"""Routing's store in memory: the same promises as MongoDB's adapter, for unit tests of the
dispatcher. `tests/behaviour/route_store.py` holds both to them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import replace

from services.routing.domain.directory import MANUAL_QUEUE
from services.routing.domain.route import Route
from services.routing.domain.table import RoutingTable
from services.routing.ports import Outgoing, StoredRoute
from services.runtime.errors import StateChanged
from services.runtime.outbox import StoredMessage


class InMemoryRouteStore:
    def __init__(self) -> None:
        self._tables: dict[int, str] = {}
        self._routes: dict[str, StoredRoute] = {}
        self._refusals: dict[str, StoredMessage] = {}

    async def create_indexes(self) -> None:
        return None

    async def newest_table_version(self) -> int | None:
        return max(self._tables, default=None)

    async def table(self, version: int) -> RoutingTable | None:
        kept = self._tables.get(version)
        return None if kept is None else RoutingTable.model_validate_json(kept)

    async def add_table(self, table: RoutingTable) -> bool:
        if table.version in self._tables:
            return False
        self._tables[table.version] = table.model_dump_json()  # a copy, as a database keeps
        return True

    async def get(self, code: str) -> StoredRoute | None:
        return self._routes.get(code)

    async def get_many(self, codes: Collection[str]) -> dict[str, StoredRoute]:
        return {code: self._routes[code] for code in codes if code in self._routes}

    async def create_many(self, routes: Sequence[StoredRoute]) -> set[str]:
        created: set[str] = set()
        for stored in routes:
            if stored.code not in self._routes:
                self._routes[stored.code] = stored
                created.add(stored.code)
        return created

    async def apply(self, read: StoredRoute, event_id: str, route: Route,
                    messages: Sequence[Outgoing], *, unsent: bool = False) -> None:
        now = self._routes.get(read.code)
        if (now is None or now.route.attempt != read.route.attempt
                or now.route.stage != read.route.stage or event_id in now.applied):
            raise StateChanged(f"route {read.code} changed while {event_id} was decided")
        self._routes[read.code] = replace(now, route=route, applied=(*now.applied, event_id),
                                          outbox=(*now.outbox, *messages),
                                          unsent=now.unsent or unsent)

    async def mark_sent(self, code: str) -> None:
        if code in self._routes:
            self._routes[code] = replace(self._routes[code], unsent=False)

    async def unsent(self) -> AsyncIterator[StoredRoute]:
        for stored in list(self._routes.values()):
            if stored.unsent:
                yield stored

    async def held_by(self, departments: Collection[str]) -> AsyncIterator[StoredRoute]:
        for stored in list(self._routes.values()):
            if stored.route.status == "routed" and stored.route.department in departments:
                yield stored

    async def waiting(self, limit: int) -> list[Route]:
        queue = [stored.route for stored in self._routes.values()
                 if stored.route.status == "manual" and stored.route.department == MANUAL_QUEUE]
        return sorted(queue, key=lambda route: route.waiting_since)[:limit]

    async def refusal(self, sender: str, event_id: str) -> StoredMessage | None:
        return self._refusals.get(f"{sender}:{event_id}")

    async def refuse(self, sender: str, event_id: str, message: StoredMessage) -> StoredMessage:
        return self._refusals.setdefault(f"{sender}:{event_id}", message)
