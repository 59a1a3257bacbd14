"""The one error a consumer gets for a message that breaks the contract, with a reason to act on."""

from __future__ import annotations

from typing import Literal

from pydantic import ValidationError

ContractErrorReason = Literal[
    "missing_header",
    "duplicate_header",
    "invalid_header",
    "unsupported_spec_version",
    "unsupported_content_type",
    "unknown_event_type",
    "unsupported_schema_version",
    "malformed_json",
    "invalid_payload",
    "invalid_envelope",
    "key_mismatch",
    "missing_key",
    "value_too_large",
    "unexpected_event_type",
]

_MAX_ERRORS_SHOWN = 5


class ContractError(ValueError):
    """A message that can never be processed as it is: dead-letter it, do not retry it.

    ``reason`` is a stable machine-readable code; ``where`` names the header or field at fault.
    The message never quotes the offending value, so it is safe to log.
    """

    def __init__(self, reason: ContractErrorReason, message: str, *, where: str | None = None):
        super().__init__(message)
        self.reason: ContractErrorReason = reason
        self.message = message
        self.where = where

    def __str__(self) -> str:
        return f"{self.reason}: {self.message}"


def describe_validation_error(error: ValidationError) -> tuple[str, str | None]:
    """A loggable summary of a pydantic error (locations and messages, never the input values)."""
    details = error.errors(include_url=False, include_input=False, include_context=False)
    parts = []
    for detail in details[:_MAX_ERRORS_SHOWN]:
        location = ".".join(str(part) for part in detail["loc"]) or "(root)"
        parts.append(f"{location}: {detail['msg']}")
    if len(details) > _MAX_ERRORS_SHOWN:
        parts.append(f"... and {len(details) - _MAX_ERRORS_SHOWN} more")
    first = ".".join(str(part) for part in details[0]["loc"]) if details else None
    return "; ".join(parts), first or None
