"""Every event survives the CloudEvents Kafka binding, and every broken message is named."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from contracts import samples
from contracts.cloudevents import headers_dict
from contracts.department.v1 import RecordAccepted
from contracts.envelope import (
    MAX_VALUE_BYTES,
    ContractError,
    Envelope,
    KafkaMessage,
    decode,
    encode,
)
from contracts.errors import ContractErrorReason
from contracts.payload import EventPayload
from contracts.records.v1 import RecordSubmitted
from contracts.registry import REGISTRY

PAYLOADS = samples.sample_payloads()
CE_HEADERS = {
    "ce_specversion",
    "ce_id",
    "ce_source",
    "ce_type",
    "ce_time",
    "ce_subject",
    "ce_dataschema",
    "ce_schemaversion",
    "content-type",
}


def test_samples_cover_every_registered_event_type() -> None:
    assert sorted(p.event_type for p in PAYLOADS) == sorted(m.event_type for m in REGISTRY)


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: p.event_type)
def test_every_event_round_trips_to_an_equal_envelope(payload: EventPayload) -> None:
    envelope = samples.sample_envelope(payload)
    message = encode(envelope)
    decoded = decode(message.key, message.value, message.headers)
    assert decoded == envelope
    assert type(decoded.data) is type(payload)
    assert decoded.traceparent == samples.TRACEPARENT
    assert decoded.tracestate == "motcua=intake"


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: p.event_type)
def test_headers_are_bytes_and_carry_the_cloudevents_attributes(payload: EventPayload) -> None:
    envelope = samples.sample_envelope(payload)
    message = encode(envelope)
    assert all(isinstance(name, str) and isinstance(v, bytes) for name, v in message.headers)
    headers = headers_dict(message.headers)
    assert set(headers) == CE_HEADERS | {"traceparent", "tracestate"}
    assert headers["ce_specversion"] == "1.0"
    assert headers["ce_type"] == payload.event_type
    assert headers["ce_subject"] == samples.RECORD_CODE
    assert headers["ce_schemaversion"] == str(payload.schema_version)
    assert headers["ce_dataschema"] == f"urn:motcua:schema:{payload.event_type}:{payload.schema_version}"
    assert headers["content-type"] == "application/json"
    assert headers["ce_time"] == "2025-11-24T02:30:15.250000Z"
    assert message.key == samples.RECORD_CODE.encode()


def test_value_is_compact_utf8_json_and_vietnamese_survives() -> None:
    message = encode(samples.sample_envelope(samples.record_submitted()))
    assert "Nguyễn Thị Hồng Nhung".encode() in message.value
    body = json.loads(message.value.decode("utf-8"))
    compact = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    assert message.value == compact
    assert body["applicant"]["address"]["detail"] == "Số 12, đường Lê Hồng Phong, khối Tân Phúc"
    decoded = decode(message.key, message.value, message.headers).narrow(RecordSubmitted)
    assert decoded.data.applicant.full_name == "Nguyễn Thị Hồng Nhung"


def test_trace_headers_are_absent_without_a_trace() -> None:
    message = encode(samples.sample_envelope(PAYLOADS[0], traceparent=None))
    assert set(headers_dict(message.headers)) == CE_HEADERS
    assert decode(message.key, message.value, message.headers).traceparent is None


def test_a_malformed_traceparent_is_dropped_not_fatal() -> None:
    message = encode(samples.sample_envelope(PAYLOADS[0]))
    headers = _replace(message, "traceparent", b"not-a-trace")
    decoded = decode(message.key, message.value, headers)
    assert (decoded.traceparent, decoded.tracestate) == (None, None)


def test_decode_accepts_text_headers_as_a_mapping() -> None:
    envelope = samples.sample_envelope(PAYLOADS[3])
    message = encode(envelope)
    assert decode(message.key.decode(), message.value, message.header_map()) == envelope


def test_an_unknown_field_in_the_body_is_ignored() -> None:
    message = encode(samples.sample_envelope(samples.record_submitted()))
    body = json.loads(message.value)
    body["priority"] = "khẩn"
    body["applicant"]["nickname"] = "Nhung"
    decoded = decode(message.key, json.dumps(body).encode(), message.headers)
    assert decoded.data == samples.record_submitted()


def test_narrow_refuses_another_event_type() -> None:
    envelope = samples.sample_envelope(samples.record_submitted())
    with pytest.raises(ContractError) as caught:
        envelope.narrow(RecordAccepted)
    assert caught.value.reason == "unexpected_event_type"


Change = Callable[[KafkaMessage], tuple[bytes | None, bytes, list[tuple[str, bytes]]]]
"""Turns a good message into (key, value, headers) to decode."""


def _replace(message: KafkaMessage, name: str, value: bytes | None) -> list[tuple[str, bytes]]:
    """The headers with ``name`` set to ``value`` (or removed when None)."""
    kept = [(n, v) for n, v in message.headers if n != name]
    return kept if value is None else [*kept, (name, value)]


def _decode_error(change: Change) -> ContractError:
    message = encode(samples.sample_envelope(samples.record_submitted()))
    with pytest.raises(ContractError) as caught:
        decode(*change(message))
    return caught.value


BROKEN: dict[str, tuple[Change, ContractErrorReason, str]] = {
    "missing ce_type": (
        lambda m: (m.key, m.value, _replace(m, "ce_type", None)),
        "missing_header",
        "ce_type",
    ),
    "missing ce_subject": (
        lambda m: (m.key, m.value, _replace(m, "ce_subject", None)),
        "missing_header",
        "ce_subject",
    ),
    "unknown type": (
        lambda m: (m.key, m.value, _replace(m, "ce_type", b"vn.motcua.record.teleported")),
        "unknown_event_type",
        "ce_type",
    ),
    "unsupported version": (
        lambda m: (m.key, m.value, _replace(m, "ce_schemaversion", b"9")),
        "unsupported_schema_version",
        "ce_schemaversion",
    ),
    "version not a number": (
        lambda m: (m.key, m.value, _replace(m, "ce_schemaversion", b"v1")),
        "invalid_header",
        "ce_schemaversion",
    ),
    "spec version": (
        lambda m: (m.key, m.value, _replace(m, "ce_specversion", b"0.3")),
        "unsupported_spec_version",
        "ce_specversion",
    ),
    "duplicate ce_type": (
        lambda m: (m.key, m.value, [*m.headers, ("ce_type", b"vn.motcua.record.routed")]),
        "duplicate_header",
        "ce_type",
    ),
    "naive ce_time": (
        lambda m: (m.key, m.value, _replace(m, "ce_time", b"2025-11-24T09:30:15")),
        "invalid_header",
        "ce_time",
    ),
    "header not utf-8": (
        lambda m: (m.key, m.value, _replace(m, "ce_source", b"\xff\xfe")),
        "invalid_header",
        "ce_source",
    ),
    "xml body": (
        lambda m: (m.key, m.value, _replace(m, "content-type", b"application/xml")),
        "unsupported_content_type",
        "content-type",
    ),
    "malformed json": (
        lambda m: (m.key, m.value[:-7], m.headers),
        "malformed_json",
        "",
    ),
    "schema violation": (
        lambda m: (m.key, m.value.replace(b'"channel":"online"', b'"channel":"fax"'), m.headers),
        "invalid_payload",
        "channel",
    ),
    "key differs from subject": (
        lambda m: (b"000.00.21.H40-251124-0008", m.value, m.headers),
        "key_mismatch",
        "key",
    ),
    "subject differs from data": (
        lambda m: (b"000.00.21.H40-251124-0008", m.value,
                   _replace(m, "ce_subject", b"000.00.21.H40-251124-0008")),
        "invalid_envelope",
        "",
    ),
    "no key": (lambda m: (None, m.value, m.headers), "missing_key", "key"),
    "value too large": (
        lambda m: (m.key, m.value[:-1] + b',"pad":"' + b"x" * MAX_VALUE_BYTES + b'"}', m.headers),
        "value_too_large",
        "value",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_message_raises_contract_error_with_its_reason(case: str) -> None:
    change, reason, where = BROKEN[case]
    error = _decode_error(change)
    assert isinstance(error, ValueError)
    assert error.reason == reason
    if where:
        assert error.where == where
        assert where in error.message


def test_error_messages_never_quote_personal_data() -> None:
    def bad_citizen_id(m: KafkaMessage) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
        return m.key, m.value.replace(b'"040190001234"', b'"04019000123X"'), m.headers

    error = _decode_error(bad_citizen_id)
    assert error.reason == "invalid_payload"
    assert error.where == "applicant.citizen_id"
    assert "04019000123" not in str(error)


def test_naive_payload_datetime_is_rejected_with_a_clear_message() -> None:
    def naive(m: KafkaMessage) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
        body = json.loads(m.value)
        body["appointment_current"] = "2025-11-27T17:00:00"
        return m.key, json.dumps(body).encode(), m.headers

    error = _decode_error(naive)
    assert error.reason == "invalid_payload"
    assert error.where == "appointment_current"
    assert "no timezone" in error.message


def test_envelope_rejects_a_naive_time_and_stores_utc() -> None:
    payload = samples.record_submitted()
    with pytest.raises(ValueError, match="no timezone"):
        Envelope.wrap(payload, source="/motcua/intake", time=datetime(2025, 11, 24, 9, 0))
    envelope = Envelope.wrap(payload, source="/motcua/intake", time=samples.RECEIVED_AT)
    assert envelope.time.tzinfo is UTC
    assert envelope.time == samples.RECEIVED_AT


def test_wrap_takes_type_version_and_record_id_from_the_payload() -> None:
    envelope = Envelope.wrap(
        samples.record_submitted(), source="/motcua/intake", time=samples.RECEIVED_AT
    )
    assert (envelope.type, envelope.schema_version) == ("vn.motcua.record.submitted", 1)
    assert envelope.record_id == samples.RECORD_CODE
    assert (
        envelope.id
        != Envelope.wrap(samples.record_submitted(), source="/x", time=samples.RECEIVED_AT).id
    )


def test_wrap_refuses_a_record_id_that_contradicts_the_payload() -> None:
    with pytest.raises(ValueError, match="record_id differs"):
        Envelope.wrap(
            samples.record_submitted(),
            source="/motcua/intake",
            time=samples.RECEIVED_AT,
            record_id="000.00.21.H40-251124-0999",
        )


def test_an_envelope_stored_as_json_reads_back_typed() -> None:
    envelope = samples.sample_envelope(samples.record_submitted())
    stored = envelope.model_dump(mode="json")
    assert stored["data"]["applicant"]["full_name"] == "Nguyễn Thị Hồng Nhung"
    assert Envelope[RecordSubmitted].model_validate(stored) == envelope
