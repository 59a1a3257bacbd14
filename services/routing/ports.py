"""What routing keeps, as typed values, and the store port the dispatcher speaks to.

A stored route is the domain's `Route` plus the bookkeeping that makes each event apply once:
the ids of the events applied, and the messages they produced (each tagged with its cause, so
a redelivered event re-sends exactly its own).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

from services.runtime.outbox import StoredMessage

from .domain.route import Route
from .domain.table import RoutingTable

ROUTE_LAYOUT = 1
"""The layout of route documents this build writes and reads."""


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message a decision produced, with the event (or reorganisation step) that caused it."""

    cause: str
    message: StoredMessage


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredRoute:
    route: Route
    applied: tuple[str, ...]
    outbox: tuple[Outgoing, ...]
    unsent: bool = False
    """A reorganisation's messages were stored but not yet all sent (no Kafka redelivery
    would send them again: start-up does)."""

    @property
    def code(self) -> str:
        return self.route.code

    def caused_by(self, cause: str) -> list[StoredMessage]:
        return [out.message for out in self.outbox if out.cause == cause]


class Outlet(Protocol):
    """Where the dispatcher's stored messages go: the broker, through the runtime."""

    async def ensure_topic(self, topic: str, *together: str) -> None: ...
    async def send_stored(self, messages: Sequence[StoredMessage]) -> None:
        """Returns once the broker acknowledged every message."""
        ...


class RouteStore(Protocol):
    async def create_indexes(self) -> None: ...

    # table versions: insert-only
    async def newest_table_version(self) -> int | None: ...
    async def table(self, version: int) -> RoutingTable | None: ...
    async def add_table(self, table: RoutingTable) -> bool:
        """False if that version number exists already (never overwritten)."""
        ...

    # routes
    async def get(self, code: str) -> StoredRoute | None: ...
    async def get_many(self, codes: Collection[str]) -> dict[str, StoredRoute]: ...
    async def create_many(self, routes: Sequence[StoredRoute]) -> set[str]:
        """The codes of the routes inserted; the others existed already (a redelivery)."""
        ...
    async def apply(self, read: StoredRoute, event_id: str, route: Route,
                    messages: Sequence[Outgoing], *, unsent: bool = False) -> None:
        """Store an event's effect if the route is still as `read` (same attempt and stage,
        the event not yet applied); otherwise raise `StateChanged`."""
        ...
    async def mark_sent(self, code: str) -> None: ...
    def unsent(self) -> AsyncIterator[StoredRoute]: ...
    async def waiting(self, limit: int) -> list[Route]:
        """Records in the manual queue, longest waiting first, at most `limit`."""
        ...
    def held_by(self, departments: Collection[str]) -> AsyncIterator[StoredRoute]:
        """Open (routed) routes held by these departments."""
        ...

    # the gate's refusals, by sender and event id
    async def refusal(self, sender: str, event_id: str) -> StoredMessage | None: ...
    async def refuse(self, sender: str, event_id: str, message: StoredMessage) -> StoredMessage:
        """Keep a refusal's feedback message; the one kept first if a redelivery raced it."""
        ...
