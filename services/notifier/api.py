"""Read side for operators and tests: what was planned and sent for a record, and parked events.

Addresses appear masked only; no name, phone, email or citizen id leaves through here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from reference.localtime import to_local
from services.runtime.auth import requires
from services.runtime.parking import ParkingLot

from .ports import Delivery, Hold, NotifierStore

Document = dict[str, Any]


async def _state(store: NotifierStore, delivery: Delivery, holds: list[Hold]) -> Document:
    """Status, attempts and times of one notification, from its result, claims and holds."""
    nid = delivery.notification_id
    result = await store.result(nid)
    if result is not None:
        return {"status": result.status, "attempts": result.attempts, "reason": result.reason,
                "detail": result.detail, "message_id": result.message_id, "not_before": None,
                "next_attempt_at": None,
                "outcome_published": result.published or await store.is_published(nid)}
    claims = await store.claims_of(nid)
    last = claims[-1] if claims else None
    held = max((h.not_before for h in holds if h.notification_id == nid), default=None)
    state: Document = {"status": "queued", "attempts": 0, "reason": None, "detail": None,
                       "message_id": None, "not_before": _local(held), "next_attempt_at": None,
                       "outcome_published": None}
    if last is None:
        return state
    state["message_id"] = last.message_id
    if last.kind == "send":
        return {**state, "status": "sending", "attempts": last.attempt}
    if last.kind == "hold":
        return {**state, "not_before": _local(last.at), "attempts": last.attempt - 1}
    return {**state, "status": "retrying", "attempts": last.attempt - 1,
            "detail": last.previous_detail, "next_attempt_at": _local(last.at)}


def _local(value: datetime | None) -> str | None:
    return to_local(value).isoformat() if value is not None else None


def _described(d: Delivery) -> Document:
    return {"notification_id": d.notification_id, "recipient_role": d.recipient_role,
            "channel": d.channel, "template": d.template, "language": d.language,
            "masked_address": d.masked_address, "source_event_id": d.source_event_id,
            "source_event_type": d.source_event_type}


def router(store: NotifierStore, parking: ParkingLot) -> APIRouter:
    # Deliveries name recipients' channels: operators only.
    routes = APIRouter(tags=["deliveries"], dependencies=[Depends(requires("operator", "admin"))])

    @routes.get("/deliveries")
    async def deliveries(record_code: Annotated[str, Query(min_length=1, max_length=64)],
                         limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[dict[str, Any]]:
        """One entry per notification about the record: to whom (masked), how, and what became of
        it (`queued`, possibly with `not_before` when care holds it; `sending`; `retrying` with
        `next_attempt_at`; `sent`; `failed` with its reason)."""
        found = await store.of_record(record_code, limit)
        holds = await store.holds_of([d.notification_id for d in found])
        return [{**_described(d), **await _state(store, d, holds)} for d in found]

    @routes.get("/parked")
    async def parked(record_code: Annotated[str | None, Query(max_length=64)] = None,
                     limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
        """Events waiting for their record's submission (they overtook it on another topic)."""
        return [{"event_id": p.event_id, "record_code": p.record_code, "event_type": p.event_type,
                 "parked_at": _local(p.parked_at)} for p in await parking.listing(record_code, limit)]

    return routes
