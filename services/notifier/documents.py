"""The shapes of what the notifier stores: deliveries, attempt claims, holds and results."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from .domain import DeliveryIntent, PlannedFailure, outcomes
from .publisher import outcome_message
from .store import claim_id

Document = dict[str, Any]
ClaimKind = Literal["send", "retry", "hold"]


def delivery(intent: DeliveryIntent, *, created_at: datetime, traceparent: str | None) -> Document:
    """A notification to attempt; the intent (address included) is kept for a takeover."""
    return {**_common(intent.notification_id, intent.source.record_code, intent.source.event_id,
                      intent.source.event_type, intent.recipient_role, intent.channel, intent.template,
                      intent.language, intent.masked_address),
            "intent": intent.to_dict(), "open": True, "created_at": created_at,
            "traceparent": traceparent}


def planned_failure(failure: PlannedFailure, *, created_at: datetime, now: datetime,
                    traceparent: str | None) -> tuple[Document, Document]:
    """A notification that cannot be attempted: its delivery, and its result (failed, with the
    outcome to publish)."""
    doc = {**_common(failure.notification_id, failure.source.record_code, failure.source.event_id,
                     failure.source.event_type, failure.recipient_role, failure.channel,
                     failure.template, failure.language, failure.masked_address),
           "intent": None, "open": False, "created_at": created_at, "traceparent": traceparent}
    outcome = outcome_message(outcomes.planned(failure), now, traceparent)
    return doc, result(failure.notification_id, "failed", attempts=0, message_id=None,
                       detail=failure.detail, reason=failure.reason, finished_at=created_at,
                       outcome=outcome)


def claim(notification_id: str, message_id: str, attempt: int, kind: ClaimKind, *, at: datetime,
          lease_until: datetime, previous_detail: str | None = None) -> Document:
    """Attempt `attempt` of a notification: made now (`send`) or planned at `at` (`retry`, `hold`)."""
    return {"_id": claim_id(notification_id, attempt), "notification_id": notification_id,
            "message_id": message_id, "attempt": attempt, "kind": kind, "at": at,
            "lease_until": lease_until, "previous_detail": previous_detail}


def hold(notification_id: str, *, not_before: datetime, lease_until: datetime) -> Document:
    return {"_id": f"{notification_id}@{not_before.isoformat()}", "notification_id": notification_id,
            "not_before": not_before, "lease_until": lease_until}


def result(notification_id: str, status: Literal["sent", "failed"], *, attempts: int,
           message_id: str | None, detail: str | None, reason: str | None, finished_at: datetime,
           outcome: Document) -> Document:
    return {"_id": notification_id, "status": status, "attempts": attempts, "message_id": message_id,
            "detail": detail[:500] if detail else None, "reason": reason, "finished_at": finished_at,
            "outcome": outcome, "published": False}


def lease(real_now: datetime, clock_now: datetime, until: datetime, lease_s: float) -> datetime:
    """The real instant a lease must last to: `until` is on the service clock (maybe a test clock)."""
    return real_now + max(until - clock_now, timedelta(0)) + timedelta(seconds=lease_s)


def _common(nid: str, record_code: str, event_id: str, event_type: str, role: str, channel: str,
            template: str, language: str, masked: str) -> Document:
    return {"_id": nid, "record_code": record_code, "source_event_id": event_id,
            "source_event_type": event_type, "recipient_role": role, "channel": channel,
            "template": template, "language": language, "masked_address": masked}
