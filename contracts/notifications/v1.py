"""What the notifier did with each notification, major version 1, for audit."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import StringConstraints

from contracts import topics
from contracts.common import (
    EventId,
    Language,
    MaskedAddress,
    PositiveInt,
    RecordCode,
)
from contracts.payload import EventPayload

RecipientRole = Literal[
    "applicant", "department_head", "provincial_supervisor", "one_stop_office_supervisor"
]
TemplateName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,99}$")]
EventType = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,199}$")]


class NotificationOutcome(EventPayload):
    """Fields every outcome carries (abstract: not an event by itself)."""

    topic = topics.NOTIFICATION_OUTCOMES

    notification_id: EventId
    """Unique per (source event, recipient, channel)."""
    record_code: RecordCode
    source_event_id: EventId
    source_event_type: EventType
    recipient_role: RecipientRole
    channel: Literal["email", "sms", "webhook"]
    template: TemplateName
    language: Language
    attempts: PositiveInt
    masked_address: MaskedAddress
    """Where it went, masked: e.g. ``n***@example.vn``, ``09*****678``; never the raw address."""


class NotificationSent(NotificationOutcome):
    """The provider accepted the notification."""

    event_type = "vn.motcua.notification.sent"


class NotificationFailed(NotificationOutcome):
    """The notification could not be delivered and will not be retried."""

    event_type = "vn.motcua.notification.failed"

    reason: Literal["permanent", "transient-exhausted"]
    """Permanent (e.g. invalid address) or transient failures until the retries ran out."""
    detail: Annotated[str, StringConstraints(min_length=1, max_length=500)] | None = None
    """Provider's error code or message, without personal data."""
