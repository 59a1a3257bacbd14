"""The outcome events the notifier publishes, one per notification, from what happened to it."""

from __future__ import annotations

from typing import Literal

from contracts.notifications.v1 import NotificationFailed, NotificationSent

from .intents import DeliveryIntent, Digest, Outgoing, PlannedFailure

FailureKind = Literal["permanent", "transient-exhausted"]


def _fields(intent: DeliveryIntent, attempts: int) -> dict[str, object]:
    return {
        "notification_id": intent.notification_id, "record_code": intent.source.record_code,
        "source_event_id": intent.source.event_id, "source_event_type": intent.source.event_type,
        "recipient_role": intent.recipient_role, "channel": intent.channel,
        "template": intent.template, "language": intent.language, "attempts": max(attempts, 1),
        "masked_address": intent.masked_address,
    }


def members(message: Outgoing) -> tuple[DeliveryIntent, ...]:
    """The notifications a message answers for: itself, or every member of a digest."""
    return message.members if isinstance(message, Digest) else (message,)


def sent(message: Outgoing, attempts: int) -> tuple[NotificationSent, ...]:
    """One `NotificationSent` per notification the message carried."""
    return tuple(NotificationSent.model_validate(_fields(m, attempts)) for m in members(message))


def failed(message: Outgoing, attempts: int, reason: FailureKind,
           detail: str | None) -> tuple[NotificationFailed, ...]:
    """One `NotificationFailed` per notification the message carried; `detail` has no address."""
    return tuple(NotificationFailed.model_validate(
        {**_fields(m, attempts), "reason": reason, "detail": _detail(detail)}) for m in members(message))


def planned(failure: PlannedFailure) -> NotificationFailed:
    """The outcome of a notification that could not be attempted (no contact, language, template)."""
    return NotificationFailed(
        notification_id=failure.notification_id, record_code=failure.source.record_code,
        source_event_id=failure.source.event_id, source_event_type=failure.source.event_type,
        recipient_role=failure.recipient_role, channel=failure.channel, template=failure.template,
        language=failure.language, attempts=1, masked_address=failure.masked_address,
        reason="permanent", detail=_detail(f"{failure.reason}: {failure.detail}"))


def _detail(detail: str | None) -> str | None:
    text = (detail or "").strip()
    return text[:500] if text else None
