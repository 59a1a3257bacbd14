"""Kafka topic names, spelled once, with the major schema version in each name."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

RECORDS_SUBMITTED: Final = "records.submitted.v1"
RECORDS_ROUTED: Final = "records.routed.v1"
DEPARTMENT_UPDATES: Final = "records.department-updates.v1"
"""Department updates routing checked and accepted, in each record's order: the only source of
department updates the other services trust. Routing alone writes it."""
SLA_ALERTS: Final = "sla.alerts.v1"
NOTIFICATION_OUTCOMES: Final = "notifications.outcomes.v1"

# Stands for "routed.<department code>.v2" where a payload class must name its topic.
DEPARTMENT_TOPIC_MARKER: Final = "routed.{department_code}.v2"
# Version 1 of the assignment (with the applicant's contact details), retired: no longer sent.
DEPARTMENT_TOPIC_V1_MARKER: Final = "routed.{department_code}.v1"
# A department's own inbound topic (only it writes there) and its feedback topic (only it reads).
UPDATES_TOPIC_MARKER: Final = "updates.{department_code}.v1"
FEEDBACK_TOPIC_MARKER: Final = "feedback.{department_code}.v1"

# A department code becomes part of a topic name, so it keeps to Kafka's topic charset.
DEPARTMENT_CODE_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
_DEPARTMENT_CODE = re.compile(DEPARTMENT_CODE_PATTERN)
_CODE_IN_TOPIC = r"(?P<code>[A-Za-z0-9][A-Za-z0-9._-]{0,63})"
_DEPARTMENT_TOPIC = re.compile(rf"^routed\.{_CODE_IN_TOPIC}\.v2$")
_DEPARTMENT_TOPIC_V1 = re.compile(rf"^routed\.{_CODE_IN_TOPIC}\.v1$")
_UPDATES_TOPIC = re.compile(rf"^updates\.{_CODE_IN_TOPIC}\.v1$")
_FEEDBACK_TOPIC = re.compile(rf"^feedback\.{_CODE_IN_TOPIC}\.v1$")
UPDATES_TOPIC_PATTERN: Final = _UPDATES_TOPIC.pattern
"""Every department's inbound topic, as a regular expression over logical topic names."""
_FAMILY_PATTERNS: Final = {
    DEPARTMENT_TOPIC_MARKER: _DEPARTMENT_TOPIC.pattern,
    UPDATES_TOPIC_MARKER: _UPDATES_TOPIC.pattern,
    FEEDBACK_TOPIC_MARKER: _FEEDBACK_TOPIC.pattern,
}
_TOPIC_NAME = re.compile(r"^[A-Za-z0-9._-]{1,249}$")

DEAD_LETTER_SUFFIX: Final = ".dlq"


def department_topic(department_code: str) -> str:
    """The topic on which one department receives the records assigned to it."""
    if not _DEPARTMENT_CODE.fullmatch(department_code):
        raise ValueError(
            f"Department code {department_code!r} cannot name a topic: use 1-64 characters "
            "from [A-Za-z0-9._-], starting with a letter or digit."
        )
    return DEPARTMENT_TOPIC_MARKER.format(department_code=department_code)


def department_code_of(topic: str) -> str | None:
    """The department code inside a department topic name, or None for any other topic."""
    match = _DEPARTMENT_TOPIC.fullmatch(topic)
    return match.group("code") if match else None


def updates_topic(department_code: str) -> str:
    """The topic a department writes its updates to: the topic names the sender."""
    department_topic(department_code)  # the same charset check
    return UPDATES_TOPIC_MARKER.format(department_code=department_code)


def feedback_topic(department_code: str) -> str:
    """The topic on which a department hears why routing refused one of its updates."""
    department_topic(department_code)
    return FEEDBACK_TOPIC_MARKER.format(department_code=department_code)


def department_group_prefix(department_code: str) -> str:
    """What a department's consumer groups start with (before the namespace): the broker lets its
    principal use groups under this prefix only."""
    department_topic(department_code)
    return f"department.{department_code}."


def sender_of(topic: str) -> str | None:
    """The department whose inbound topic this is, or None for any other topic."""
    match = _UPDATES_TOPIC.fullmatch(topic)
    return match.group("code") if match else None


def is_feedback_topic(topic: str) -> bool:
    """Whether ``topic`` is some department's ``feedback.<code>.v1`` topic."""
    return _FEEDBACK_TOPIC.fullmatch(topic) is not None


def owner_of(topic: str) -> str | None:
    """The department a per-department topic (routed, updates, feedback) belongs to."""
    for pattern in (_DEPARTMENT_TOPIC, _UPDATES_TOPIC, _FEEDBACK_TOPIC):
        if match := pattern.fullmatch(topic):
            return match.group("code")
    return None


def family_pattern(marker: str) -> str:
    """The regular expression matching every topic of a per-department family, e.g. all of
    `updates.{department_code}.v1`."""
    try:
        return _FAMILY_PATTERNS[marker]
    except KeyError:
        raise ValueError(f"{marker!r} is not a per-department topic family") from None


def family_prefix(marker: str) -> str:
    """What every topic of a family starts with (`updates.`): the broker's ACLs grant a family
    by this prefix."""
    family_pattern(marker)
    return marker.split("{", 1)[0]


def is_department_topic(topic: str) -> bool:
    """Whether ``topic`` is some department's ``routed.<code>.v2`` topic."""
    return department_code_of(topic) is not None


def is_retired_department_topic(topic: str) -> bool:
    """Whether ``topic`` is some department's ``routed.<code>.v1``, no longer written to."""
    return _DEPARTMENT_TOPIC_V1.fullmatch(topic) is not None


def dead_letter_topic(topic: str) -> str:
    """Where messages of ``topic`` that can never be processed are parked."""
    if not _TOPIC_NAME.fullmatch(topic) or topic.endswith(DEAD_LETTER_SUFFIX):
        raise ValueError(f"Topic {topic!r} has no dead-letter topic: not a valid source topic.")
    return f"{topic}{DEAD_LETTER_SUFFIX}"


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """How a topic is created: its name, partition count and retention."""

    name: str
    partitions: int
    retention: timedelta

    @property
    def retention_ms(self) -> int:
        return int(self.retention.total_seconds() * 1000)

    def config(self) -> dict[str, str]:
        """Topic-level configuration, as an admin client expects it."""
        return {"retention.ms": str(self.retention_ms), "cleanup.policy": "delete"}

    def dead_letter(self) -> TopicSpec:
        """The spec of this topic's dead-letter topic (one partition is plenty)."""
        return TopicSpec(dead_letter_topic(self.name), 1, DEAD_LETTER_RETENTION)


RECORD_TOPIC_PARTITIONS: Final = 6
OTHER_TOPIC_PARTITIONS: Final = 3
RECORD_TOPIC_RETENTION: Final = timedelta(days=30)
ALERT_TOPIC_RETENTION: Final = timedelta(days=14)
DEAD_LETTER_RETENTION: Final = timedelta(days=30)

CORE_TOPICS: Final[tuple[TopicSpec, ...]] = (
    TopicSpec(RECORDS_SUBMITTED, RECORD_TOPIC_PARTITIONS, RECORD_TOPIC_RETENTION),
    TopicSpec(RECORDS_ROUTED, RECORD_TOPIC_PARTITIONS, RECORD_TOPIC_RETENTION),
    TopicSpec(DEPARTMENT_UPDATES, RECORD_TOPIC_PARTITIONS, RECORD_TOPIC_RETENTION),
    TopicSpec(SLA_ALERTS, OTHER_TOPIC_PARTITIONS, ALERT_TOPIC_RETENTION),
    TopicSpec(NOTIFICATION_OUTCOMES, OTHER_TOPIC_PARTITIONS, RECORD_TOPIC_RETENTION),
)


def department_topic_spec(department_code: str) -> TopicSpec:
    """The spec of one department's topic."""
    return TopicSpec(
        department_topic(department_code), OTHER_TOPIC_PARTITIONS, RECORD_TOPIC_RETENTION
    )


def department_topics(department_code: str) -> tuple[str, str, str]:
    """A department's three topics: what it receives, what it answers, and why an answer was
    refused. Routing creates them together when it first assigns the department a record."""
    return (department_topic(department_code), updates_topic(department_code),
            feedback_topic(department_code))


def per_department_spec(topic: str) -> TopicSpec | None:
    """The spec of any per-department topic, or None for another topic."""
    if owner_of(topic) is None:
        return None
    return TopicSpec(topic, OTHER_TOPIC_PARTITIONS, RECORD_TOPIC_RETENTION)
