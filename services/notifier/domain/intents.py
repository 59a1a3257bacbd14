"""What the planner decides: deliveries to attempt and planned failures, each with a stable id."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal, TypeAlias

from contracts.common import Language
from contracts.masking import mask_email, mask_phone, mask_url

ChannelName = Literal["email", "sms", "webhook"]
RecipientRole = Literal[
    "applicant", "department_head", "provincial_supervisor", "one_stop_office_supervisor"
]
FailureReason = Literal["no_contact", "unknown_language", "no_template"]
"""Why a notification cannot even be attempted; the wiring publishes it as a failed outcome."""

JsonValue: TypeAlias = str | int | float | bool | Sequence["JsonValue"] | Mapping[str, "JsonValue"] | None
Context: TypeAlias = Mapping[str, JsonValue]
"""A template's variables: JSON values only (instants as ISO-8601 strings), so a queued intent can be
stored as it is and read back unchanged."""

DEFAULT_LANGUAGE: Final[Language] = "vi"
_NAMESPACE: Final = uuid.UUID("6d1c3f1e-7b0a-5c39-9e55-4f3b6a0d2c71")
NO_ADDRESS: Final = "-"


def notification_id(source_event_id: str, role: str, channel: str, address: str) -> str:
    """Deterministic per (event, recipient, channel): a redelivered event gets the same id.

    A name-based UUID, so the id can be logged and published without showing the address.
    """
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join((source_event_id, role, channel, address))))


def mask(channel: str, address: str) -> str:
    """The address as it may appear in logs and outcomes."""
    if channel == "email":
        return mask_email(address)
    if channel == "sms":
        return mask_phone(address)
    if channel == "webhook":
        return mask_url(address)
    return "***"


def recipient_key(channel: str, address: str) -> str:
    """A stable key per recipient for rate limits and queues that does not reveal the address."""
    return hashlib.sha256(f"{channel}\x1f{address.strip().lower()}".encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    """The event a notification answers, as the outcome must name it."""

    event_id: str
    event_type: str
    record_code: str
    occurred_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryIntent:
    """One message to one recipient on one channel, ready to render and send."""

    notification_id: str
    source: Source
    recipient_role: RecipientRole
    channel: ChannelName
    address: str = field(repr=False)
    language: Language
    template: str
    context: Context
    foldable: bool = True
    """False for formal notices (forms 02, 03, 04) that must arrive as messages of their own."""
    not_after: datetime | None = None
    """The latest instant the law allows (the apology by the due date): care never delays past it."""

    @property
    def masked_address(self) -> str:
        return mask(self.channel, self.address)

    @property
    def recipient_key(self) -> str:
        return recipient_key(self.channel, self.address)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, for a queue that waits out quiet hours or a rate limit (holds the address)."""
        return {
            "notification_id": self.notification_id,
            "source": {"event_id": self.source.event_id, "event_type": self.source.event_type,
                       "record_code": self.source.record_code,
                       "occurred_at": self.source.occurred_at.isoformat()},
            "recipient_role": self.recipient_role, "channel": self.channel, "address": self.address,
            "language": self.language, "template": self.template, "context": dict(self.context),
            "foldable": self.foldable,
            "not_after": self.not_after.isoformat() if self.not_after is not None else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DeliveryIntent:
        """The inverse of `to_dict`."""
        source = data["source"]
        not_after = data.get("not_after")
        return cls(
            notification_id=data["notification_id"],
            source=Source(event_id=source["event_id"], event_type=source["event_type"],
                          record_code=source["record_code"],
                          occurred_at=datetime.fromisoformat(source["occurred_at"])),
            recipient_role=data["recipient_role"], channel=data["channel"], address=data["address"],
            language=data["language"], template=data["template"], context=data["context"],
            foldable=bool(data.get("foldable", True)),
            not_after=datetime.fromisoformat(not_after) if not_after is not None else None)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedFailure:
    """A notification that cannot be attempted, with a machine-readable reason and a detail."""

    notification_id: str
    source: Source
    recipient_role: RecipientRole
    channel: ChannelName
    masked_address: str
    language: Language
    """The language used for the outcome; the one asked for, if unknown, is named in `detail`."""
    template: str
    reason: FailureReason
    detail: str


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything one event leads to; empty when the notifier has nothing to say about it."""

    intents: tuple[DeliveryIntent, ...] = ()
    failures: tuple[PlannedFailure, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.intents and not self.failures


@dataclass(frozen=True, slots=True, kw_only=True)
class Digest:
    """Several intents for one recipient sent as one message; each member keeps its own outcome."""

    notification_id: str
    members: tuple[DeliveryIntent, ...]
    """Every intent the message answers for, superseded ones included, in arrival order."""
    shown: tuple[DeliveryIntent, ...]
    """The members whose lines the message shows, in order."""

    @property
    def first(self) -> DeliveryIntent:
        return self.members[0]

    @property
    def recipient_role(self) -> RecipientRole:
        return self.first.recipient_role

    @property
    def channel(self) -> ChannelName:
        return self.first.channel

    @property
    def address(self) -> str:
        return self.first.address

    @property
    def language(self) -> Language:
        return self.first.language

    @property
    def masked_address(self) -> str:
        return self.first.masked_address

    @property
    def recipient_key(self) -> str:
        return self.first.recipient_key

    @property
    def not_after(self) -> datetime | None:
        limits = [m.not_after for m in self.members if m.not_after is not None]
        return min(limits) if limits else None


Outgoing: TypeAlias = DeliveryIntent | Digest
"""One message to send: a single intent or a digest of several."""


def digest_id(members: Sequence[DeliveryIntent]) -> str:
    """Deterministic for the same set of members, whatever order they were queued in."""
    return str(uuid.uuid5(_NAMESPACE, "digest\x1f" + "\x1f".join(sorted(m.notification_id
                                                                          for m in members))))
