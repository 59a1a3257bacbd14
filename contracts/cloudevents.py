"""The CloudEvents Kafka binding's vocabulary: header names, header text, RFC 3339 times."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Final

from contracts.errors import ContractError

SPEC_VERSION: Final = "1.0"
CONTENT_TYPE: Final = "application/json"
TRACEPARENT_PATTERN: Final = r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"
_TRACEPARENT = re.compile(TRACEPARENT_PATTERN)

H_SPECVERSION: Final = "ce_specversion"
H_ID: Final = "ce_id"
H_SOURCE: Final = "ce_source"
H_TYPE: Final = "ce_type"
H_TIME: Final = "ce_time"
H_SUBJECT: Final = "ce_subject"
H_DATASCHEMA: Final = "ce_dataschema"
H_SCHEMAVERSION: Final = "ce_schemaversion"
H_CONTENT_TYPE: Final = "content-type"
H_TRACEPARENT: Final = "traceparent"
H_TRACESTATE: Final = "tracestate"

REQUIRED_HEADERS: Final = (
    H_SPECVERSION,
    H_ID,
    H_SOURCE,
    H_TYPE,
    H_TIME,
    H_SUBJECT,
    H_SCHEMAVERSION,
)

RawHeaders = Sequence[tuple[str, bytes | str | None]] | Mapping[str, bytes | str | None]
"""Headers as clients hand them over: aiokafka's list of pairs, or a mapping."""


def headers_dict(headers: RawHeaders) -> dict[str, str]:
    """Headers as text; a repeated name keeps its last value (as Kafka's ``lastHeader``).

    Raises ContractError for a value that is not UTF-8. A header without a value is skipped.
    """
    return {name: text for name, text in text_headers(headers) if text is not None}


def text_headers(headers: RawHeaders) -> list[tuple[str, str | None]]:
    """Header pairs in order, values decoded from UTF-8; names are compared exactly."""
    items = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
    result: list[tuple[str, str | None]] = []
    for name, value in items:
        if isinstance(value, bytes | bytearray | memoryview):
            try:
                value = bytes(value).decode("utf-8")
            except UnicodeDecodeError:
                raise ContractError(
                    "invalid_header", f"Header {name!r} is not UTF-8.", where=name
                ) from None
        result.append((name, value))
    return result


def required_attributes(pairs: list[tuple[str, str | None]]) -> dict[str, str]:
    """The required ``ce_*`` attributes, each exactly once, with the spec version checked."""
    found: dict[str, str] = {}
    for name, text in pairs:
        if not name.startswith("ce_") or text is None:
            continue
        if name in found:
            raise ContractError(
                "duplicate_header", f"Header {name!r} appears more than once.", where=name
            )
        found[name] = text
    for name in REQUIRED_HEADERS:
        if name not in found:
            raise ContractError("missing_header", f"Header {name!r} is missing.", where=name)
    if found[H_SPECVERSION] != SPEC_VERSION:
        raise ContractError(
            "unsupported_spec_version",
            f"Header {H_SPECVERSION!r} must be {SPEC_VERSION}.",
            where=H_SPECVERSION,
        )
    return found


def check_content_type(value: str | None) -> None:
    """Binary mode carries the data's media type in ``content-type``; absent means JSON."""
    if value is not None and value.split(";")[0].strip().lower() != CONTENT_TYPE:
        raise ContractError(
            "unsupported_content_type",
            f"Header {H_CONTENT_TYPE!r} must be {CONTENT_TYPE}, not {value!r}.",
            where=H_CONTENT_TYPE,
        )


def parse_schema_version(text: str) -> int:
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise ContractError(
            "invalid_header",
            f"Header {H_SCHEMAVERSION!r} must be a positive integer.",
            where=H_SCHEMAVERSION,
        )
    return int(text)


def format_time(value: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``, e.g. ``2025-11-24T01:15:00.123456Z``."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    """An RFC 3339 ``ce_time``; an offset is required."""
    try:
        value: datetime | None = datetime.fromisoformat(text)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise ContractError(
            "invalid_header",
            f"Header {H_TIME!r} must be an RFC 3339 timestamp with an offset.",
            where=H_TIME,
        )
    return value


def valid_traceparent(value: str | None) -> str | None:
    """The traceparent if well formed; W3C Trace Context says to ignore a malformed one."""
    return value if value is not None and _TRACEPARENT.fullmatch(value) else None
