"""The base of every event's data, and the open-content policy all events share."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

DATASCHEMA_PREFIX = "urn:motcua:schema"


def dataschema_urn(event_type: str, schema_version: int) -> str:
    """The CloudEvents ``dataschema`` of one event type and major version (also the schema $id)."""
    return f"{DATASCHEMA_PREFIX}:{event_type}:{schema_version}"


class ContractModel(BaseModel):
    """Base of every model on the wire, payloads and the values nested in them.

    Policy (see contracts/README.md): models are frozen; readers are tolerant, ignoring fields
    they do not know (``extra="ignore"``, so schemas stay open), which lets a producer add an
    optional field inside a major version without breaking old consumers. A field added inside a
    major version must have a default, so new consumers still read old events.
    """

    model_config = ConfigDict(frozen=True, extra="ignore", use_attribute_docstrings=True)


class EventPayload(ContractModel):
    """Base of every event's data; a concrete event names its type, major version and topic."""

    event_type: ClassVar[str]
    """CloudEvents ``type``, e.g. ``vn.motcua.record.submitted``."""
    schema_version: ClassVar[int] = 1
    """Major version; it is also in the topic name."""
    topic: ClassVar[str]
    """Topic the event travels on (``topics.DEPARTMENT_TOPIC_MARKER`` for per-department ones)."""

    @classmethod
    def dataschema(cls) -> str:
        return dataschema_urn(cls.event_type, cls.schema_version)

    def subject(self) -> str | None:
        """The record code this event is about (CloudEvents ``subject``, Kafka key), if any."""
        code = getattr(self, "record_code", None)
        return code if isinstance(code, str) else None
