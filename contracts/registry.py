"""Every event payload class, found by (type, major version) or by the topic it travels on."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from contracts import topics
from contracts.department import v1 as department_v1
from contracts.department import v2 as department_v2
from contracts.errors import ContractError
from contracts.notifications import v1 as notifications_v1
from contracts.payload import EventPayload
from contracts.records import v1 as records_v1
from contracts.sla import v1 as sla_v1

PayloadClass = type[EventPayload]

ALL_MODELS: tuple[PayloadClass, ...] = (
    records_v1.RecordSubmitted,
    records_v1.RecordRouted,
    department_v1.RecordAssigned,
    department_v2.RecordAssigned,
    department_v1.RecordAccepted,
    department_v1.RecordReturnedMisrouted,
    department_v1.SupplementRequested,
    department_v1.RecordSupplemented,
    department_v1.RecordResolved,
    department_v1.RecordRejected,
    department_v1.ResultReturned,
    department_v1.DelayReported,
    department_v1.UpdateRefused,
    sla_v1.DeadlineWarning,
    sla_v1.DeadlineBreached,
    sla_v1.EscalationRaised,
    sla_v1.RecordStuckInRouting,
    sla_v1.DelayExplanationRequested,
    sla_v1.ApologyDue,
    notifications_v1.NotificationSent,
    notifications_v1.NotificationFailed,
)


class Registry:
    """An immutable index of payload classes; it refuses a duplicate or incomplete class."""

    def __init__(self, models: Iterable[PayloadClass]) -> None:
        self._by_key: dict[tuple[str, int], PayloadClass] = {}
        for model in models:
            for attribute in ("event_type", "topic"):
                if not isinstance(getattr(model, attribute, None), str):
                    raise ValueError(f"{model.__name__} does not set the ClassVar {attribute!r}")
            key = (model.event_type, model.schema_version)
            if key in self._by_key:
                raise ValueError(
                    f"{model.__name__} and {self._by_key[key].__name__} both claim "
                    f"{model.event_type} v{model.schema_version}"
                )
            self._by_key[key] = model

    def __iter__(self) -> Iterator[PayloadClass]:
        return iter(self._by_key.values())

    def __len__(self) -> int:
        return len(self._by_key)

    def __contains__(self, model: object) -> bool:
        return model in self._by_key.values()

    def event_types(self) -> frozenset[str]:
        return frozenset(event_type for event_type, _ in self._by_key)

    def lookup(self, event_type: str, schema_version: int) -> PayloadClass:
        """The class for one type and major version; ContractError when there is none."""
        model = self._by_key.get((event_type, schema_version))
        if model is not None:
            return model
        known = sorted(v for t, v in self._by_key if t == event_type)
        if not known:
            raise ContractError(
                "unknown_event_type",
                f"No event type {event_type!r} is known (header 'ce_type').",
                where="ce_type",
            )
        raise ContractError(
            "unsupported_schema_version",
            f"Event type {event_type!r} has no schema version {schema_version} "
            f"(header 'ce_schemaversion'; supported: {', '.join(map(str, known))}).",
            where="ce_schemaversion",
        )

    def models_for_topic(self, topic: str) -> tuple[PayloadClass, ...]:
        """The classes that may travel on ``topic`` (any ``routed.<code>.v2`` counts as one, and
        so does any ``feedback.<code>.v1``; a department's ``updates.<code>.v1`` carries the same
        classes as the checked ``records.department-updates.v1``)."""
        if topics.is_department_topic(topic):
            wanted = topics.DEPARTMENT_TOPIC_MARKER
        elif topics.is_retired_department_topic(topic):
            wanted = topics.DEPARTMENT_TOPIC_V1_MARKER
        elif topics.is_feedback_topic(topic):
            wanted = topics.FEEDBACK_TOPIC_MARKER
        elif topics.sender_of(topic) is not None:
            wanted = topics.DEPARTMENT_UPDATES
        else:
            wanted = topic
        return tuple(model for model in self._by_key.values() if model.topic == wanted)


REGISTRY = Registry(ALL_MODELS)


def lookup(event_type: str, schema_version: int) -> PayloadClass:
    """The registered class for one event type and major version (see ``Registry.lookup``)."""
    return REGISTRY.lookup(event_type, schema_version)


def models_for_topic(topic: str) -> tuple[PayloadClass, ...]:
    """The registered classes that may travel on ``topic``."""
    return REGISTRY.models_for_topic(topic)
