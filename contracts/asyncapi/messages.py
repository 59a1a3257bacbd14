"""AsyncAPI message objects: each event with its committed JSON Schema and CloudEvents headers,
and the dead letter, which keeps whatever was sent and says why in its own headers."""

from __future__ import annotations

import inspect
from typing import Any, Final, get_args

from pydantic import TypeAdapter

from contracts import cloudevents as ce
from contracts.common import EventId, RecordCode
from contracts.errors import ContractErrorReason
from contracts.payload import EventPayload
from contracts.schemagen import History, Schema, file_name

KAFKA_BINDING: Final = "0.5.0"
"""The Kafka bindings' version the documents use (the newest AsyncAPI 3.0.0 knows)."""
DEAD_LETTER: Final = "dead-letter"
"""The id of the dead-letter message, the same on every `.dlq` channel."""

_HEADER_NOTES: Final = {
    ce.H_SPECVERSION: "CloudEvents version.",
    ce.H_ID: "Unique per event; a resend keeps it, so a consumer drops duplicates by it.",
    ce.H_SOURCE: "The producer, a URI reference: `/motcua/<service>` or `/departments/<code>`.",
    ce.H_TYPE: "The event type.",
    ce.H_TIME: "When it happened, RFC 3339 with an offset.",
    ce.H_SUBJECT: "The record code; equal to the message key.",
    ce.H_DATASCHEMA: "The id of the payload's JSON Schema (type and major version).",
    ce.H_SCHEMAVERSION: "The major schema version, also in the topic name.",
    ce.H_CONTENT_TYPE: "The payload's media type; absent means JSON.",
    ce.H_TRACEPARENT: "W3C Trace Context of the record's journey; a malformed one is ignored.",
    ce.H_TRACESTATE: "W3C Trace Context vendor state; sent only with a traceparent.",
}
DEAD_LETTER_HEADERS: Final = {
    "dlq-reason": "Why, as a code: a contract error's reason (see examples) or the consumer's "
                  "own, such as `handler_failed`.",
    "dlq-detail": "What was wrong, naming the header or field, never its value.",
    "dlq-original-topic": "The topic the message was read from.",
    "dlq-original-partition": "Its partition there.",
    "dlq-original-offset": "Its offset there.",
    "dlq-consumer-group": "The consumer group that gave up on it.",
    "dlq-service": "The service that gave up on it.",
    "dlq-failed-at": "When, ISO 8601 in UTC.",
}
"""What a consumer adds to a message it can never process (services.runtime.consumer)."""


def message_id(model: type[EventPayload]) -> str:
    """`vn.motcua.record.submitted.v1`: the id of an event's message and of its payload schema."""
    return f"{model.event_type}.v{model.schema_version}"


def payload_schema(model: type[EventPayload], history: History) -> tuple[str, Schema]:
    """The latest committed schema of `model` as it sits under `components.schemas`: without
    `$schema` and `$id` (an `$id` would rebase its references) and with its `#/$defs/` references
    pointing at the same definitions inside the document. Also the committed file it came from."""
    revisions = history.get(model.event_type, {}).get(model.schema_version)
    if not revisions:
        raise LookupError(f"No committed schema for {model.event_type} v{model.schema_version}: "
                          "run `make schemas` first")
    latest = max(revisions)
    schema = {key: value for key, value in revisions[latest].items() if key not in ("$schema", "$id")}
    here = f"#/components/schemas/{message_id(model)}/$defs/"
    repointed: Schema = _repoint(schema, here)
    return f"{model.event_type}/{file_name(model.schema_version, latest)}", repointed


def _repoint(node: Any, prefix: str) -> Any:
    if isinstance(node, dict):
        return {key: (prefix + value.removeprefix("#/$defs/")
                      if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/")
                      else _repoint(value, prefix))
                for key, value in node.items()}
    if isinstance(node, list):
        return [_repoint(item, prefix) for item in node]
    return node


def event_message(model: type[EventPayload], committed_file: str) -> dict[str, Any]:
    """One event type and major version as a message: its payload by reference, its headers."""
    text = (inspect.getdoc(model) or model.__name__).replace("``", "`")  # reST to CommonMark
    summary, _, more = text.partition("\n\n")
    source = f"Payload schema: `contracts/schemas/{committed_file}` (`{model.dataschema()}`)."
    return {
        "name": model.event_type,
        "title": f"{model.__name__} v{model.schema_version}",
        "summary": " ".join(summary.split()),
        "description": f"{more}\n\n{source}" if more else source,
        "contentType": ce.CONTENT_TYPE,
        "headers": cloudevents_headers(model),
        "payload": {"$ref": f"#/components/schemas/{message_id(model)}"},
        "bindings": {"kafka": {"key": _record_key(), "bindingVersion": KAFKA_BINDING}},
    }


def cloudevents_headers(model: type[EventPayload]) -> dict[str, Any]:
    """The binary binding's headers (contracts.envelope.encode), fixed where the event fixes them."""
    known: dict[str, dict[str, Any]] = {
        ce.H_SPECVERSION: {"const": ce.SPEC_VERSION},
        ce.H_ID: TypeAdapter(EventId).json_schema(),
        ce.H_SOURCE: {"type": "string", "minLength": 1, "maxLength": 500},
        ce.H_TYPE: {"const": model.event_type},
        ce.H_TIME: {"type": "string", "format": "date-time"},
        ce.H_SUBJECT: TypeAdapter(RecordCode).json_schema(),
        ce.H_DATASCHEMA: {"const": model.dataschema()},
        ce.H_SCHEMAVERSION: {"const": str(model.schema_version)},
        ce.H_CONTENT_TYPE: {"const": ce.CONTENT_TYPE},
        ce.H_TRACEPARENT: {"type": "string", "pattern": ce.TRACEPARENT_PATTERN},
        ce.H_TRACESTATE: {"type": "string", "maxLength": 512},
    }
    return {
        "type": "object",
        "description": "CloudEvents Kafka binding, binary mode; every value UTF-8 text.",
        "required": list(ce.REQUIRED_HEADERS),
        "properties": {name: {**schema, "description": _HEADER_NOTES[name]}
                       for name, schema in known.items()},
    }


def dead_letter_message() -> dict[str, Any]:
    """A message no consumer could ever process, parked as it was sent, with the reason."""
    return {
        "name": DEAD_LETTER,
        "title": "Dead letter",
        "summary": "A message its consumer could never process, as it was sent, with why.",
        "description": "Key, value and headers are the original message's, byte for byte, so the "
                       "value may be anything; the `dlq-*` headers are added. Never retried.",
        "contentType": "application/octet-stream",
        "headers": {
            "type": "object",
            "description": "The original headers, unchanged, and these.",
            "required": sorted(DEAD_LETTER_HEADERS),
            "properties": {
                name: {"type": "string", "description": note,
                       **({"examples": list(get_args(ContractErrorReason))}
                          if name == "dlq-reason" else {})}
                for name, note in DEAD_LETTER_HEADERS.items()},
        },
        "payload": {"description": "The original value, whatever it was."},
        "bindings": {"kafka": {"key": {"type": "string",
                                       "description": "The original key, if it had one."},
                               "bindingVersion": KAFKA_BINDING}},
    }


def _record_key() -> dict[str, Any]:
    return {**TypeAdapter(RecordCode).json_schema(),
            "description": "The record code: all events of one record share a partition, in order."}
