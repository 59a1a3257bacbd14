"""The routing table in force: loaded from the store, seeded once, changed only by a new version."""

from __future__ import annotations

import logging

from reference.catalog import Catalog
from reference.units import Units

from .domain.table import RoutingTable, TableProblem, publishable, validate_table
from .domain.tables import shipped_tables
from .ports import RouteStore

log = logging.getLogger(__name__)


class TableRejected(Exception):
    """A proposed table version failed validation; nothing was published."""

    def __init__(self, problems: list[TableProblem]) -> None:
        super().__init__("; ".join(str(problem) for problem in problems))
        self.problems = problems


class TableVersions:
    def __init__(self, store: RouteStore, catalog: Catalog, units: Units) -> None:
        self._store = store
        self._catalog = catalog
        self._units = units
        self._current: RoutingTable | None = None

    @property
    def current(self) -> RoutingTable:
        if self._current is None:
            raise RuntimeError("no routing table loaded yet")
        return self._current

    async def load(self, seed: str) -> RoutingTable:
        """The newest stored version; an empty store is seeded with the shipped tables."""
        if await self._store.newest_table_version() is None:
            first, reform = shipped_tables()
            for table in (first, reform) if seed == "current" else (first,):
                await self._store.add_table(table)
        return await self.refresh()

    async def refresh(self) -> RoutingTable:
        """Pick up a version another instance published (reads only version numbers when none)."""
        newest = await self._store.newest_table_version()
        if newest is not None and (self._current is None or newest > self._current.version):
            stored = await self._store.table(newest)
            if stored is not None:
                self._current = stored
                log.info("routing table in force", extra={"version": newest})
        return self.current

    def check(self, proposed: RoutingTable) -> list[TableProblem]:
        return [*publishable(proposed, self.current),
                *validate_table(proposed, self._catalog, self._units)]

    async def publish(self, proposed: RoutingTable) -> RoutingTable:
        """Validate and store a new version; it applies to new records at once."""
        problems = self.check(proposed)
        if problems:
            raise TableRejected(problems)
        if not await self._store.add_table(proposed):
            raise TableRejected([TableProblem(
                where=f"version {proposed.version}",
                message=f"version {proposed.version} was published meanwhile")])
        self._current = proposed
        return proposed
