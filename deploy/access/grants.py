"""The ACLs the system needs, computed from the services' topic use and the department directory.

Pure: no broker here. A grant is one Kafka ACL binding (allow only; the broker denies whatever no
grant allows, `allow.everyone.if.no.acl.found=false`). Names carry the topic namespace, so a test
run's principals are confined to that run's topics and groups.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from contracts import topics
from services.runtime.kafka_access import TopicUse

ResourceKind = Literal["topic", "group"]
PatternKind = Literal["literal", "prefixed"]
Operation = Literal["read", "write", "create", "describe"]

SERVICE_PREFIX = "svc."
DEPARTMENT_PREFIX = "dept."
MANAGED_PREFIXES = (SERVICE_PREFIX, DEPARTMENT_PREFIX)
"""Principals this module owns: their ACLs are exactly the computed ones, nothing left over."""


def service_principal(service_name: str) -> str:
    """The SCRAM user of a service, e.g. `svc.routing`."""
    return f"{SERVICE_PREFIX}{service_name}"


def department_principal(department_code: str) -> str:
    """The SCRAM user of a department, e.g. `dept.SO-TU-PHAP`."""
    topics.department_topic(department_code)  # the same charset as its topics
    return f"{DEPARTMENT_PREFIX}{department_code}"


@dataclass(frozen=True, order=True, slots=True)
class Grant:
    """Allow `principal` to do `operation` on the resource `name` (literal or a prefix)."""

    principal: str
    resource: ResourceKind
    pattern: PatternKind
    name: str
    operation: Operation

    def __str__(self) -> str:
        star = "*" if self.pattern == "prefixed" else ""
        return f"{self.principal} {self.operation} {self.resource} {self.name}{star}"


def _topic(principal: str, name: str, *operations: Operation,
           prefixed: bool = False) -> list[Grant]:
    pattern: PatternKind = "prefixed" if prefixed else "literal"
    return [Grant(principal, "topic", pattern, name, operation) for operation in operations]


def service_grants(service_name: str, use: TopicUse, namespace: str = "") -> set[Grant]:
    """Exactly what a service's composition declared: it reads and dead-letters what it consumes,
    writes what it publishes, creates every topic it uses (and its `.dlq`), joins its groups."""
    who = service_principal(service_name)
    grants: list[Grant] = []
    for name in use.reads | use.writes:
        grants += _topic(who, namespace + name, "create", "describe")
        grants += _topic(who, namespace + topics.dead_letter_topic(name), "create", "describe")
    for name in use.reads:
        grants += _topic(who, namespace + name, "read")
        grants += _topic(who, namespace + topics.dead_letter_topic(name), "write")
    for name in use.writes:
        grants += _topic(who, namespace + name, "write")
    # A family is granted by prefix, which also covers its topics' dead-letter topics.
    for marker in use.read_families:
        grants += _topic(who, namespace + topics.family_prefix(marker),
                         "read", "describe", "create", "write", prefixed=True)
    for marker in use.write_families:
        grants += _topic(who, namespace + topics.family_prefix(marker),
                         "write", "describe", "create", prefixed=True)
    grants += [Grant(who, "group", "literal", namespace + group, "read") for group in use.groups]
    return set(grants)


def department_grants(department_code: str, namespace: str = "") -> set[Grant]:
    """A department reads its assignments and its feedback, writes its updates, and uses groups
    under its own prefix; nothing of any other department, nothing of the services.

    It also reads its updates' dead letters: an update routing cannot even read (no key, a broken
    binding, a payload off the schema) names no record an `UpdateRefused` could carry, so the
    message itself, with `dlq-reason`, is how its sender learns why."""
    who = department_principal(department_code)
    routed, updates, feedback = topics.department_topics(department_code)
    return {
        *_topic(who, namespace + routed, "read", "describe"),
        *_topic(who, namespace + feedback, "read", "describe"),
        *_topic(who, namespace + topics.dead_letter_topic(updates), "read", "describe"),
        *_topic(who, namespace + updates, "write", "describe"),
        Grant(who, "group", "prefixed", namespace + topics.department_group_prefix(department_code), "read"),
    }


def all_grants(services: Mapping[str, TopicUse], departments: Iterable[str],
               namespace: str = "") -> set[Grant]:
    """Every grant of the system: the services' and each department's."""
    found: set[Grant] = set()
    for name, use in services.items():
        found |= service_grants(name, use, namespace)
    for code in departments:
        found |= department_grants(code, namespace)
    return found


def is_managed(principal: str) -> bool:
    """Whether the access command owns this principal's ACLs (a service's or a department's)."""
    return principal.startswith(MANAGED_PREFIXES)
