"""The envelope every event travels in, and its CloudEvents Kafka binding (binary mode)."""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, Self, TypeVar
from uuid import uuid4

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializeAsAny,
    StringConstraints,
    ValidationError,
    model_validator,
)

from contracts import cloudevents as ce
from contracts.cloudevents import RawHeaders, headers_dict
from contracts.common import EventId, RecordCode, Timestamp
from contracts.errors import ContractError, describe_validation_error
from contracts.payload import EventPayload, dataschema_urn
from contracts.registry import REGISTRY, Registry

__all__ = [
    "MAX_VALUE_BYTES",
    "ContractError",
    "Envelope",
    "EventPayload",
    "KafkaMessage",
    "decode",
    "encode",
    "headers_dict",
]

MAX_VALUE_BYTES = 512 * 1024
"""The largest event body the contract admits. Events carry metadata, never documents, so a
larger body is a producer's fault; refusing it before parsing bounds what a consumer spends on
one message. Below the broker's own limit (1 MiB), so such a body reaches a consumer and its
dead-letter topic whole, and above twice intake's request limit, so no accepted application
makes one."""

P = TypeVar("P", bound=EventPayload)
Q = TypeVar("Q", bound=EventPayload)


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


class Envelope(BaseModel, Generic[P]):
    """One event: CloudEvents context attributes, W3C trace context and the typed data."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: EventId = Field(default_factory=lambda: str(uuid4()))
    type: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    schema_version: int = Field(ge=1)
    source: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    """The producer, as a URI reference, e.g. ``/motcua/intake``."""
    time: Annotated[Timestamp, AfterValidator(_to_utc)]
    """When it happened; stored in UTC."""
    record_id: RecordCode
    """The record code: CloudEvents ``subject`` and the Kafka message key."""
    traceparent: Annotated[str, StringConstraints(pattern=ce.TRACEPARENT_PATTERN)] | None = None
    tracestate: Annotated[str, StringConstraints(max_length=512)] | None = None
    data: SerializeAsAny[P]

    @model_validator(mode="after")
    def _consistent_with_data(self) -> Self:
        model = type(self.data)
        if not isinstance(getattr(model, "event_type", None), str):
            raise ValueError(f"data is a {model.__name__}, not a concrete event payload")
        if (self.type, self.schema_version) != (model.event_type, model.schema_version):
            raise ValueError(
                f"type {self.type} v{self.schema_version} does not match data "
                f"{model.__name__} ({model.event_type} v{model.schema_version})"
            )
        subject = self.data.subject()
        if subject is not None and subject != self.record_id:
            raise ValueError("record_id differs from the record code inside data")
        return self

    @classmethod
    def wrap(
        cls,
        payload: Q,
        *,
        source: str,
        time: datetime,
        record_id: str | None = None,
        id: str | None = None,
        traceparent: str | None = None,
        tracestate: str | None = None,
    ) -> Envelope[Q]:
        """Put ``payload`` in an envelope; type and version come from its class.

        ``record_id`` defaults to the record code inside the payload.
        """
        subject = record_id if record_id is not None else payload.subject()
        if subject is None:
            raise ValueError(f"{type(payload).__name__} has no record code: pass record_id")
        return Envelope(
            id=id if id is not None else str(uuid4()),
            type=payload.event_type,
            schema_version=payload.schema_version,
            source=source,
            time=time,
            record_id=subject,
            traceparent=traceparent,
            tracestate=tracestate,
            data=payload,
        )

    @property
    def dataschema(self) -> str:
        return dataschema_urn(self.type, self.schema_version)

    def narrow(self, model: builtins.type[Q]) -> Envelope[Q]:
        """This envelope typed by its payload class; ContractError if the data is another event."""
        if not isinstance(self.data, model):
            raise ContractError(
                "unexpected_event_type",
                f"Expected {model.event_type} v{model.schema_version}, got "
                f"{self.type} v{self.schema_version}.",
                where=ce.H_TYPE,
            )
        return self  # type: ignore[return-value]  # checked just above


@dataclass(frozen=True, slots=True)
class KafkaMessage:
    """What goes to Kafka: key, value and headers (header names are exact, values UTF-8)."""

    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]] = field(default_factory=list)

    def header_map(self) -> dict[str, str]:
        """Headers as text, for clients that take a mapping (e.g. FastStream's ``publish``)."""
        return {name: value.decode("utf-8") for name, value in self.headers}


def encode(envelope: Envelope[Any]) -> KafkaMessage:
    """The envelope in binary mode: attributes in ``ce_*`` headers, the data as compact JSON."""
    headers = [
        (ce.H_SPECVERSION, ce.SPEC_VERSION),
        (ce.H_ID, envelope.id),
        (ce.H_SOURCE, envelope.source),
        (ce.H_TYPE, envelope.type),
        (ce.H_TIME, ce.format_time(envelope.time)),
        (ce.H_SUBJECT, envelope.record_id),
        (ce.H_DATASCHEMA, envelope.dataschema),
        (ce.H_SCHEMAVERSION, str(envelope.schema_version)),
        (ce.H_CONTENT_TYPE, ce.CONTENT_TYPE),
    ]
    if envelope.traceparent is not None:
        headers.append((ce.H_TRACEPARENT, envelope.traceparent))
        if envelope.tracestate is not None:
            headers.append((ce.H_TRACESTATE, envelope.tracestate))
    return KafkaMessage(
        key=envelope.record_id.encode("utf-8"),
        value=envelope.data.model_dump_json().encode("utf-8"),
        headers=[(name, value.encode("utf-8")) for name, value in headers],
    )


def decode(
    key: bytes | str | None,
    value: bytes | str,
    headers: RawHeaders,
    *,
    registry: Registry = REGISTRY,
) -> Envelope[EventPayload]:
    """Read one Kafka message; any breach of the contract raises ContractError with a reason.

    Unknown fields in the data are ignored (tolerant reader). A malformed ``traceparent`` is
    dropped with its ``tracestate``, as W3C Trace Context asks, instead of failing the message.
    """
    size = len(value) if isinstance(value, bytes) else len(value.encode("utf-8"))
    if size > MAX_VALUE_BYTES:
        raise ContractError(
            "value_too_large",
            f"The message value is {size} bytes; the contract admits at most {MAX_VALUE_BYTES}.",
            where="value",
        )
    pairs = ce.text_headers(headers)
    attrs = ce.required_attributes(pairs)
    other = {name: text for name, text in pairs if text is not None}
    ce.check_content_type(other.get(ce.H_CONTENT_TYPE))
    version = ce.parse_schema_version(attrs[ce.H_SCHEMAVERSION])
    model = registry.lookup(attrs[ce.H_TYPE], version)
    data = _parse_data(model, value)
    subject = attrs[ce.H_SUBJECT]
    if key is None:  # keyless messages land on any partition: a record's order would be lost
        raise ContractError("missing_key", "The message has no key (the record code).", where="key")
    key_text = key.decode("utf-8", errors="replace") if isinstance(key, bytes) else key
    if key_text != subject:
        raise ContractError(
            "key_mismatch", "The message key differs from ce_subject.", where="key"
        )
    traceparent = ce.valid_traceparent(other.get(ce.H_TRACEPARENT))
    try:
        return Envelope(
            id=attrs[ce.H_ID],
            type=attrs[ce.H_TYPE],
            schema_version=version,
            source=attrs[ce.H_SOURCE],
            time=ce.parse_time(attrs[ce.H_TIME]),
            record_id=subject,
            traceparent=traceparent,
            tracestate=other.get(ce.H_TRACESTATE) if traceparent is not None else None,
            data=data,
        )
    except ValidationError as error:
        message, where = describe_validation_error(error)
        raise ContractError("invalid_envelope", message, where=where) from None


def _parse_data(model: type[EventPayload], value: bytes | str) -> EventPayload:
    try:
        return model.model_validate_json(value)
    except ValidationError as error:
        if any(detail["type"] == "json_invalid" for detail in error.errors()):
            raise ContractError(
                "malformed_json", f"The body of a {model.event_type} is not valid JSON."
            ) from None
        message, where = describe_validation_error(error)
        raise ContractError(
            "invalid_payload", f"{model.event_type} v{model.schema_version}: {message}", where=where
        ) from None
