"""Checks intake runs on an application against its procedure before issuing a receipt."""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Literal

from reference.catalog import Procedure

ViolationCode = Literal["channel_not_allowed", "missing_required_document", "unknown_document"]


@dataclass(frozen=True)
class Violation:
    """One reason an application cannot be accepted as it stands (English, no personal data)."""

    field: str
    code: ViolationCode
    message: str


def check_application(
    procedure: Procedure, channel: str, document_codes: AbstractSet[str]
) -> list[Violation]:
    """Everything wrong with the channel and documents of an application; empty when complete."""
    violations: list[Violation] = []
    if channel not in procedure.channels:
        allowed = ", ".join(sorted(procedure.channels))
        violations.append(Violation(
            field="channel", code="channel_not_allowed",
            message=f"channel '{channel}' is not accepted for procedure {procedure.code} "
                    f"(accepted: {allowed})"))
    for document in procedure.documents:
        if document.required and document.code not in document_codes:
            violations.append(Violation(
                field="documents", code="missing_required_document",
                message=f"required document '{document.code}' ({document.name_en}) is missing"))
    for code in sorted(document_codes):
        if procedure.document(code) is None:
            violations.append(Violation(
                field="documents", code="unknown_document",
                message=f"document '{code}' is not part of procedure {procedure.code}"))
    return violations
