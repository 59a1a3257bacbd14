"""The notifier's store in memory: the same promises as MongoDB's adapter, for unit tests of the
planner and the delivery loop. `tests/behaviour/notifier_store.py` holds both to them."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TypeVar

from services.notifier.domain import KnownRecord
from services.notifier.ports import AttemptClaim, Delivery, FinalResult, Hold, claim_id

T = TypeVar("T")


class InMemoryNotifierStore:
    def __init__(self) -> None:
        self._records: dict[str, KnownRecord] = {}
        self._deliveries: dict[str, Delivery] = {}
        self._claims: dict[str, AttemptClaim] = {}
        self._holds: dict[str, Hold] = {}
        self._results: dict[str, FinalResult] = {}
        self._published: set[str] = set()

    async def create_indexes(self) -> None:
        return None

    async def remember(self, records: Sequence[KnownRecord]) -> None:
        _insert_unique(self._records, [(r.record_code, r) for r in records])

    async def records(self, codes: Collection[str]) -> dict[str, KnownRecord]:
        return {code: self._records[code] for code in codes if code in self._records}

    async def insert_deliveries(self, deliveries: Sequence[Delivery]) -> set[str]:
        return _insert_unique(self._deliveries, [(d.notification_id, d) for d in deliveries])

    async def claim(self, claims: Sequence[AttemptClaim]) -> set[str]:
        return _insert_unique(self._claims, [(c.id, c) for c in claims])

    async def hold(self, holds: Sequence[Hold]) -> None:
        _insert_unique(self._holds, [(h.id, h) for h in holds])

    async def finish(self, results: Sequence[FinalResult]) -> set[str]:
        return _insert_unique(self._results, [(r.notification_id, r) for r in results])

    async def mark_published(self, ids: Sequence[str]) -> None:
        self._published.update(ids)

    async def claims_of(self, notification_id: str) -> list[AttemptClaim]:
        found: list[AttemptClaim] = []
        while (claim := self._claims.get(claim_id(notification_id, len(found) + 1))) is not None:
            found.append(claim)
        return found

    async def result(self, notification_id: str) -> FinalResult | None:
        return self._results.get(notification_id)

    async def is_published(self, notification_id: str) -> bool:
        return notification_id in self._published

    async def open_deliveries(self, before: datetime, limit: int,
                              after: tuple[datetime, str] | None = None) -> list[Delivery]:
        found = sorted((d for d in self._deliveries.values() if d.open and d.created_at <= before
                        and (after is None or (d.created_at, d.notification_id) > after)),
                       key=lambda d: (d.created_at, d.notification_id))
        return found[:limit]

    async def finished_among(self, ids: Collection[str]) -> set[str]:
        return {nid for nid in ids if nid in self._results}

    async def claims_among(self, ids: Collection[str], attempts: int) -> dict[str, list[AttemptClaim]]:
        found: dict[str, list[AttemptClaim]] = {}
        for nid in ids:
            claims = [c for n in range(1, attempts + 1)
                      if (c := self._claims.get(claim_id(nid, n))) is not None]
            if claims:
                found[nid] = claims
        return found

    async def close(self, ids: Sequence[str]) -> None:
        for nid in ids:
            if nid in self._deliveries:
                self._deliveries[nid] = replace(self._deliveries[nid], open=False)

    async def holds_of(self, ids: Sequence[str]) -> list[Hold]:
        wanted = set(ids)
        return [h for h in self._holds.values() if h.notification_id in wanted]

    async def unpublished(self, before: datetime, limit: int) -> list[FinalResult]:
        return [r for r in self._results.values()
                if not r.published and r.finished_at <= before][:limit]

    async def settle_published(self, ids: Sequence[str]) -> None:
        for nid in ids:
            if nid in self._results:
                self._results[nid] = replace(self._results[nid], published=True)

    async def of_record(self, code: str, limit: int) -> list[Delivery]:
        found = sorted((d for d in self._deliveries.values() if d.record_code == code),
                       key=lambda d: (d.created_at, d.notification_id))
        return [replace(d, intent=None) for d in found[:limit]]


def _insert_unique(kept: dict[str, T], items: Sequence[tuple[str, T]]) -> set[str]:
    """Insert each item whose key is free (the first of a key wins); the keys inserted."""
    won: set[str] = set()
    for key, item in items:
        if key not in kept:
            kept[key] = item
            won.add(key)
    return won
