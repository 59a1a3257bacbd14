"""The broker's ACLs as computed: each service exactly what its composition uses, each department
its own three topics and groups, and nobody but routing writing what the others trust."""

from __future__ import annotations

import pytest

from contracts import topics
from deploy.access.command import plan
from deploy.access.grants import (
    Grant,
    department_grants,
    department_principal,
    service_grants,
    service_principal,
)
from deploy.access.uses import active_departments, service_uses
from services.routing.domain.tables import shipped_tables

USES = service_uses()


def writers_of(topic: str, grants: set[Grant]) -> set[str]:
    """Principals a grant lets write `topic` (literally or by prefix)."""
    return {g.principal for g in grants if g.resource == "topic" and g.operation == "write"
            and (g.name == topic if g.pattern == "literal" else topic.startswith(g.name))}


def readers_of(topic: str, grants: set[Grant]) -> set[str]:
    return {g.principal for g in grants if g.resource == "topic" and g.operation == "read"
            and (g.name == topic if g.pattern == "literal" else topic.startswith(g.name))}


def test_the_topic_use_is_what_each_composition_subscribes_and_publishes() -> None:
    assert USES["intake"].writes == {topics.RECORDS_SUBMITTED}
    assert USES["intake"].reads == {topics.RECORDS_ROUTED, topics.DEPARTMENT_UPDATES, topics.SLA_ALERTS}
    assert USES["routing"].reads == {topics.RECORDS_SUBMITTED}
    assert USES["routing"].read_families == {topics.UPDATES_TOPIC_MARKER}
    assert USES["routing"].write_families == {topics.DEPARTMENT_TOPIC_MARKER,
                                              topics.UPDATES_TOPIC_MARKER, topics.FEEDBACK_TOPIC_MARKER}
    assert USES["sla_monitor"].writes == {topics.SLA_ALERTS}
    assert USES["notifier"].writes == {topics.NOTIFICATION_OUTCOMES}
    assert USES["routing"].groups == {"motcua-routing", "motcua-routing-gate"}
    assert USES["notifier"].groups == {"motcua-notifier"}


def test_only_routing_writes_what_the_other_services_trust() -> None:
    wanted = plan(shipped_tables())
    assert writers_of(topics.DEPARTMENT_UPDATES, wanted.grants) == {service_principal("routing")}
    assert writers_of(topics.RECORDS_ROUTED, wanted.grants) == {service_principal("routing")}
    assert writers_of(topics.RECORDS_SUBMITTED, wanted.grants) == {service_principal("intake")}
    assert writers_of(topics.department_topic("CA-TINH"), wanted.grants) == {service_principal("routing")}
    # The applicant's contact details travel on records.submitted: services read it, no department.
    assert readers_of(topics.RECORDS_SUBMITTED, wanted.grants) == {
        service_principal(name) for name in ("routing", "sla_monitor", "notifier")}


def test_a_department_gets_its_own_topics_and_group_prefix_and_nothing_else() -> None:
    granted = department_grants("CA-TINH", "t1.")
    who = department_principal("CA-TINH")
    assert {(g.operation, g.resource, g.pattern, g.name) for g in granted} == {
        ("read", "topic", "literal", "t1.routed.CA-TINH.v2"),
        ("describe", "topic", "literal", "t1.routed.CA-TINH.v2"),
        ("read", "topic", "literal", "t1.feedback.CA-TINH.v1"),
        ("describe", "topic", "literal", "t1.feedback.CA-TINH.v1"),
        ("read", "topic", "literal", "t1.updates.CA-TINH.v1.dlq"),
        ("describe", "topic", "literal", "t1.updates.CA-TINH.v1.dlq"),
        ("write", "topic", "literal", "t1.updates.CA-TINH.v1"),
        ("describe", "topic", "literal", "t1.updates.CA-TINH.v1"),
        ("read", "group", "prefixed", "t1.department.CA-TINH."),
    }
    assert {g.principal for g in granted} == {who}
    wanted = plan(shipped_tables())
    assert readers_of(topics.department_topic("CA-TINH"), wanted.grants) == {who}
    assert readers_of(topics.feedback_topic("CA-TINH"), wanted.grants) == {who}
    assert writers_of(topics.updates_topic("CA-TINH"), wanted.grants) == {
        who, service_principal("routing")}  # routing: for the topic's dead letters (by prefix)


def test_a_service_grant_is_confined_to_its_namespace() -> None:
    granted = service_grants("notifier", USES["notifier"], "t9.")
    assert granted and all(g.name.startswith("t9.") for g in granted)
    assert Grant(service_principal("notifier"), "group", "literal", "t9.motcua-notifier",
                 "read") in granted


def test_the_principals_are_the_services_and_the_active_departments() -> None:
    old, current = shipped_tables()
    wanted = plan([current])
    departments = active_departments([current])
    assert len(wanted.principals) == 4 + len(departments)
    dissolved = [d.code for d in current.departments if not d.active]
    assert dissolved, "the shipped table dissolves the district People's Committees"
    assert department_principal(dissolved[0]) not in wanted.principals
    assert not {g for g in wanted.grants if g.principal == department_principal(dissolved[0])}
    assert department_principal(dissolved[0]) in plan([old]).principals


def test_a_department_code_that_cannot_name_a_topic_gets_no_principal() -> None:
    with pytest.raises(ValueError, match="cannot name a topic"):
        department_principal("CA TINH")
