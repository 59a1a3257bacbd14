"""Field rules that protect every consumer: codes, times, contacts, and no personal data leaking."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from contracts import samples
from contracts.department.v1 import SupplementRequested
from contracts.masking import mask_email, mask_phone, mask_url
from contracts.notifications.v1 import NotificationSent
from contracts.records.v1 import RecordSubmitted
from contracts.sla.v1 import DeadlineWarning


def submitted(**changes: Any) -> RecordSubmitted:
    return RecordSubmitted.model_validate({**samples.record_submitted().model_dump(), **changes})


@pytest.mark.parametrize(
    "code", ["000.00.21.H40-251124-0001", "000.00.00.H38-250701-9999", "H40.21-991231-0000"]
)
def test_record_codes_in_the_circular_format_are_accepted(code: str) -> None:
    assert submitted(record_code=code).record_code == code


@pytest.mark.parametrize(
    "code",
    [
        "000.00.21.H40-25112-0001",
        "000.00.21.h40-251124-0001",
        "000.00.21.H40-\uff12\uff15\uff11\uff11\uff12\uff14-0001",
    ],
)
def test_malformed_record_codes_are_rejected(code: str) -> None:
    with pytest.raises(ValidationError, match="record_code"):
        submitted(record_code=code)


@pytest.mark.parametrize("code", ["1.000948.H38", "2.001218.000.00.00.H38"])
def test_procedure_codes_from_the_national_catalogue_are_accepted(code: str) -> None:
    assert submitted(procedure_code=code).procedure_code == code


def test_naive_datetime_is_rejected_with_a_clear_message() -> None:
    with pytest.raises(ValidationError, match="no timezone") as caught:
        submitted(received_at=datetime(2025, 11, 24, 8, 15))
    assert caught.value.errors()[0]["loc"] == ("received_at",)


def test_times_must_be_in_order() -> None:
    with pytest.raises(ValidationError, match="accepted_at is before received_at"):
        submitted(accepted_at=samples.RECEIVED_AT - timedelta(minutes=1))
    with pytest.raises(ValidationError, match="appointment_current is before"):
        submitted(appointment_current=samples.DUE_AT - timedelta(days=1))


def test_numbers_have_lower_bounds() -> None:
    with pytest.raises(ValidationError, match="fee_vnd"):
        submitted(fee_vnd=-1)
    with pytest.raises(ValidationError, match="remaining_working_hours"):
        DeadlineWarning(
            record_code=samples.RECORD_CODE,
            procedure_code=samples.PROCEDURE_CODE,
            due_at=samples.DUE_AT,
            remaining_working_hours=-0.5,
        )


def test_email_is_required_when_it_is_the_preferred_channel() -> None:
    applicant = samples.record_submitted().applicant.model_dump()
    with pytest.raises(ValidationError, match="no email"):
        submitted(applicant={**applicant, "email": None})
    assert submitted(applicant={**applicant, "email": None, "preferred_channel": "sms"})


def test_supplement_request_names_at_least_one_missing_item() -> None:
    with pytest.raises(ValidationError, match="missing"):
        SupplementRequested(
            record_code=samples.RECORD_CODE, department_code="SO-TU-PHAP", missing=(), reason="x"
        )


def test_payloads_are_frozen() -> None:
    record = samples.record_submitted()
    with pytest.raises(ValidationError, match="frozen"):
        record.fee_vnd = 1  # type: ignore[misc]


def test_repr_of_a_record_hides_the_applicants_personal_data() -> None:
    text = repr(samples.record_submitted())
    for secret in ("Nguyễn", "040190001234", "0912345678", "hongnhung", "Lê Hồng Phong"):
        assert secret not in text
    assert samples.RECORD_CODE in text


def test_masking_helpers_produce_addresses_the_contract_accepts() -> None:
    masked = [
        mask_email("hongnhung.nguyen@example.vn"),
        mask_phone("0912345678"),
        mask_url("https://hooks.example.vn/t/abc?token=secret"),
    ]
    assert masked == ["h***@example.vn", "09*****678", "https://hooks.example.vn/***"]
    base = samples.sample_payloads()[-2].model_dump()
    for address in masked:
        assert NotificationSent.model_validate({**base, "masked_address": address})


def test_an_unmasked_address_is_rejected() -> None:
    base = samples.sample_payloads()[-2].model_dump()
    with pytest.raises(ValidationError, match="masked_address"):
        NotificationSent.model_validate({**base, "masked_address": "hongnhung.nguyen@example.vn"})
