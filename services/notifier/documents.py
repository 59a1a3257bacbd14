"""The values the notifier stores, built from what the domain decided."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.runtime.outbox import StoredMessage

from .domain import DeliveryIntent, PlannedFailure, outcomes
from .ports import Delivery, FinalResult, Status
from .publisher import outcome_message


def delivery(intent: DeliveryIntent, *, created_at: datetime, traceparent: str | None) -> Delivery:
    """A notification to attempt; the intent (address included) is kept for a takeover."""
    return Delivery(notification_id=intent.notification_id, record_code=intent.source.record_code,
                    source_event_id=intent.source.event_id,
                    source_event_type=intent.source.event_type,
                    recipient_role=intent.recipient_role, channel=intent.channel,
                    template=intent.template, language=intent.language,
                    masked_address=intent.masked_address, intent=intent, open=True,
                    created_at=created_at, traceparent=traceparent)


def planned_failure(failure: PlannedFailure, *, created_at: datetime, now: datetime,
                    traceparent: str | None) -> tuple[Delivery, FinalResult]:
    """A notification that cannot be attempted: its delivery, and its result (failed, with the
    outcome to publish)."""
    planned = Delivery(notification_id=failure.notification_id,
                       record_code=failure.source.record_code,
                       source_event_id=failure.source.event_id,
                       source_event_type=failure.source.event_type,
                       recipient_role=failure.recipient_role, channel=failure.channel,
                       template=failure.template, language=failure.language,
                       masked_address=failure.masked_address, intent=None, open=False,
                       created_at=created_at, traceparent=traceparent)
    outcome = outcome_message(outcomes.planned(failure), now, traceparent)
    return planned, result(failure.notification_id, "failed", attempts=0, message_id=None,
                           detail=failure.detail, reason=failure.reason, finished_at=created_at,
                           outcome=outcome)


def result(notification_id: str, status: Status, *, attempts: int, message_id: str | None,
           detail: str | None, reason: str | None, finished_at: datetime,
           outcome: StoredMessage) -> FinalResult:
    return FinalResult(notification_id=notification_id, status=status, attempts=attempts,
                       message_id=message_id, detail=detail[:500] if detail else None,
                       reason=reason, finished_at=finished_at, outcome=outcome)


def lease(real_now: datetime, clock_now: datetime, until: datetime, lease_s: float) -> datetime:
    """The real instant a lease must last to: `until` is on the service clock (maybe a test clock)."""
    return real_now + max(until - clock_now, timedelta(0)) + timedelta(seconds=lease_s)
