"""Topic names, department topics and the registry that finds a payload class."""

from __future__ import annotations

import re

import pytest

from contracts import topics
from contracts.department.v1 import RecordAccepted, RecordRejected, UpdateRefused
from contracts.department.v1 import RecordAssigned as RecordAssignedV1
from contracts.department.v2 import AssignedRecord, RecordAssigned
from contracts.envelope import ContractError
from contracts.payload import EventPayload
from contracts.records.v1 import RecordSubmitted
from contracts.registry import ALL_MODELS, REGISTRY, Registry, lookup, models_for_topic
from contracts.samples import record_submitted


@pytest.mark.parametrize("code", ["SO-TU-PHAP", "UBND-X-27280", "cong_an.tinh"])
def test_department_topic_accepts_department_codes(code: str) -> None:
    assert topics.department_topic(code) == f"routed.{code}.v2"
    assert topics.department_code_of(topics.department_topic(code)) == code


@pytest.mark.parametrize("code", ["", "SỞ-TƯ-PHÁP", "SO TU PHAP", "SO/TU", "-SO", "X" * 65])
def test_department_topic_rejects_codes_kafka_cannot_carry(code: str) -> None:
    with pytest.raises(ValueError, match="cannot name a topic") as caught:
        topics.department_topic(code)
    assert repr(code) in str(caught.value)


def test_dead_letter_topic_appends_dlq_once() -> None:
    assert topics.dead_letter_topic(topics.SLA_ALERTS) == "sla.alerts.v1.dlq"
    with pytest.raises(ValueError):
        topics.dead_letter_topic("sla.alerts.v1.dlq")


def test_core_topics_carry_their_major_version_and_record_topics_more_partitions() -> None:
    names = [spec.name for spec in topics.CORE_TOPICS]
    assert len(set(names)) == 5
    assert all(name.endswith(".v1") for name in names)
    partitions = {spec.name: spec.partitions for spec in topics.CORE_TOPICS}
    assert partitions[topics.RECORDS_SUBMITTED] == 6
    assert partitions[topics.SLA_ALERTS] == 3
    spec = topics.CORE_TOPICS[0]
    assert spec.config()["retention.ms"] == str(30 * 24 * 3600 * 1000)
    assert spec.dead_letter().name == f"{spec.name}.dlq"


def test_registry_finds_each_model_by_type_and_version() -> None:
    assert len(REGISTRY) == len(ALL_MODELS) == 21
    for model in ALL_MODELS:
        assert lookup(model.event_type, model.schema_version) is model
        assert model.event_type.startswith("vn.motcua.")


def test_registry_tells_unknown_type_from_unsupported_version() -> None:
    with pytest.raises(ContractError) as unknown:
        lookup("vn.motcua.record.teleported", 1)
    assert unknown.value.reason == "unknown_event_type"
    with pytest.raises(ContractError) as unsupported:
        lookup(RecordSubmitted.event_type, 9)
    assert unsupported.value.reason == "unsupported_schema_version"
    assert "supported: 1" in unsupported.value.message


def test_models_for_topic_covers_every_model_and_department_topics() -> None:
    assert models_for_topic(topics.RECORDS_SUBMITTED) == (RecordSubmitted,)
    assert models_for_topic("routed.SO-TU-PHAP.v2") == (RecordAssigned,)
    assert models_for_topic("routed.SO-TU-PHAP.v1") == (RecordAssignedV1,)  # retired
    updates = models_for_topic(topics.DEPARTMENT_UPDATES)
    assert len(updates) == 8 and RecordAccepted in updates and RecordRejected in updates
    assert models_for_topic("updates.SO-TU-PHAP.v1") == updates  # what the gate checks
    assert models_for_topic("feedback.SO-TU-PHAP.v1") == (UpdateRefused,)
    assert models_for_topic("records.unknown.v1") == ()
    every_topic = [spec.name for spec in topics.CORE_TOPICS] + ["routed.X.v2", "routed.X.v1",
                                                                "feedback.X.v1"]
    assert sorted(m.__name__ for t in every_topic for m in models_for_topic(t)) == sorted(
        m.__name__ for m in ALL_MODELS
    )


def test_registry_refuses_duplicates_and_incomplete_classes() -> None:
    class Twin(EventPayload):
        event_type = RecordSubmitted.event_type
        topic = topics.RECORDS_SUBMITTED

    class NoTopic(EventPayload):
        event_type = "vn.motcua.test.no-topic"

    with pytest.raises(ValueError, match="both claim"):
        Registry([RecordSubmitted, Twin])
    with pytest.raises(ValueError, match="'topic'"):
        Registry([NoTopic])


def test_each_department_has_three_topics_and_the_inbound_one_names_its_sender() -> None:
    assert topics.department_topics("SO-TU-PHAP") == (
        "routed.SO-TU-PHAP.v2", "updates.SO-TU-PHAP.v1", "feedback.SO-TU-PHAP.v1")
    assert topics.sender_of("updates.SO-TU-PHAP.v1") == "SO-TU-PHAP"
    assert topics.sender_of("updates.SO-TU-PHAP.v1.dlq") is None
    assert topics.sender_of(topics.DEPARTMENT_UPDATES) is None
    assert topics.owner_of("feedback.CA-TINH.v1") == "CA-TINH"
    assert re.fullmatch(topics.UPDATES_TOPIC_PATTERN, "updates.UBND-X-16681.v1")
    assert not re.fullmatch(topics.UPDATES_TOPIC_PATTERN, "routed.UBND-X-16681.v1")
    with pytest.raises(ValueError):
        topics.updates_topic("bad code")


def test_a_department_gets_the_applicants_identity_and_address_but_not_their_contact() -> None:
    submitted = record_submitted()
    assigned = AssignedRecord.of(submitted)
    applicant = assigned.model_dump(mode="json")["applicant"]
    assert set(applicant) == {"full_name", "citizen_id", "address"}
    as_sent = assigned.model_dump_json()
    for contact in (submitted.applicant.phone, submitted.applicant.email):
        assert contact is not None and contact not in as_sent
    assert assigned.documents == submitted.documents
