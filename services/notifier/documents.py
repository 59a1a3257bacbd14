"""The values the notifier stores, built from what the domain decided."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.runtime.outbox import StoredMessage

from .domain import DeliveryIntent, PlannedFailure, outcomes
from .ports import Delivery, FinalResult, Status
from .publisher import outcome_message


def delivery(intent: DeliveryIntent, *, created_at: datetime, traceparent: str | None) -> Delivery:
    """A notification to attempt; the intent (address included) is kept for a takeover."""
    return _delivery(intent, intent, created_at=created_at, traceparent=traceparent)


def planned_failure(failure: PlannedFailure, *, created_at: datetime, now: datetime,
                    traceparent: str | None) -> tuple[Delivery, FinalResult]:
    """A notification that cannot be attempted: its delivery, and its result (failed, with the
    outcome to publish)."""
    outcome = outcome_message(outcomes.planned(failure), now, traceparent)
    return (_delivery(failure, None, created_at=created_at, traceparent=traceparent),
            result(failure.notification_id, "failed", attempts=0, message_id=None,
                   detail=failure.detail, reason=failure.reason, finished_at=created_at,
                   outcome=outcome))


def result(notification_id: str, status: Status, *, attempts: int, message_id: str | None,
           detail: str | None, reason: str | None, finished_at: datetime,
           outcome: StoredMessage) -> FinalResult:
    return FinalResult(notification_id=notification_id, status=status, attempts=attempts,
                       message_id=message_id, detail=detail[:500] if detail else None,
                       reason=reason, finished_at=finished_at, outcome=outcome)


def lease(real_now: datetime, clock_now: datetime, until: datetime, lease_s: float) -> datetime:
    """The real instant a lease must last to: `until` is on the service clock (maybe a test clock)."""
    return real_now + max(until - clock_now, timedelta(0)) + timedelta(seconds=lease_s)


def _delivery(planned: DeliveryIntent | PlannedFailure, intent: DeliveryIntent | None, *,
              created_at: datetime, traceparent: str | None) -> Delivery:
    """Open while there is an intent to attempt; one that cannot be attempted is closed at once."""
    return Delivery(notification_id=planned.notification_id, record_code=planned.source.record_code,
                    source_event_id=planned.source.event_id,
                    source_event_type=planned.source.event_type,
                    recipient_role=planned.recipient_role, channel=planned.channel,
                    template=planned.template, language=planned.language,
                    masked_address=planned.masked_address, intent=intent, open=intent is not None,
                    created_at=created_at, traceparent=traceparent)
