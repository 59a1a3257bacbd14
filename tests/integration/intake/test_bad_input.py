"""Bad input: a problem+json that names the field and the problem, and nothing half-written."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.intake.conftest import Intake

pytestmark = pytest.mark.integration

PROBLEM = "application/problem+json"


def _applicant(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**body, "applicant": {**body["applicant"], **changes}}


@pytest.mark.parametrize(("change", "field", "code"), [
    ({"citizen_id": "12345"}, "applicant.citizen_id", "invalid_citizen_id"),
    ({"citizen_id": "999123456789"}, "applicant.citizen_id", "invalid_citizen_id"),
    ({"phone": "12345"}, "applicant.phone", "invalid_phone"),
    ({"email": "hong.nhung@"}, "applicant.email", "invalid_email"),
    ({"full_name": "   "}, "applicant.full_name", "empty_name"),
    ({"full_name": "Nguyễn " * 30}, "applicant.full_name", "name_too_long"),
    ({"full_name": "Nguyễn Văn 4n"}, "applicant.full_name", "invalid_name"),
    ({"preferred_channel": "email", "email": None}, "applicant.email", "email_required"),
])
async def test_invalid_applicant_fields_are_named_each_with_its_own_code(
    intake: Intake, make_application: Callable[..., dict[str, Any]],
    change: dict[str, Any], field: str, code: str,
) -> None:
    body = _applicant(make_application(), **change)
    response = await intake.submit(body)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["type"] == "urn:motcua:problem:validation"
    assert [(e["field"], e["code"]) for e in problem["errors"]] == [(field, code)]
    personal = [v for k, v in change.items() if isinstance(v, str) and k != "preferred_channel"]
    for value in personal:  # personal data is never echoed back
        assert value.strip() == "" or value not in response.text
    assert await intake.count_records() == 0


async def test_negative_fee_and_missing_fields_are_schema_violations(
    intake: Intake, make_application: Callable[..., dict[str, Any]]
) -> None:
    body = make_application()
    del body["channel"]
    response = await intake.submit({**body, "fee_vnd": -1})
    assert response.status_code == 422
    fields = {(e["field"], e["code"]) for e in response.json()["errors"]}
    assert fields == {("fee_vnd", "greater_than_equal"), ("channel", "missing")}


@pytest.mark.parametrize(("procedure", "change", "field", "code"), [
    ("9.000003.000.00.00.H40", {"procedure_code": "1.999999.000.00.00.H40"},
     "procedure_code", "unknown_procedure"),
    ("9.000003.000.00.00.H40", {"channel": "counter"}, "channel", "channel_not_allowed"),
    ("9.000003.000.00.00.H40", {"documents": []}, "documents", "missing_required_document"),
    ("9.000003.000.00.00.H40", {"fee_vnd": 1}, "fee_vnd", "fee_mismatch"),
    ("9.000003.000.00.00.H40", {"receiving_unit_code": "000.99.99.H40"},
     "receiving_unit_code", "unknown_receiving_unit"),
    ("9.000003.000.00.00.H40", {"administrative_unit_code": "99999"},
     "administrative_unit_code", "unknown_administrative_unit"),
])
async def test_catalogue_and_map_violations_are_422_naming_the_rule(
    intake: Intake, make_application: Callable[..., dict[str, Any]],
    procedure: str, change: dict[str, Any], field: str, code: str,
) -> None:
    response = await intake.submit({**make_application(procedure), **change})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"] == "urn:motcua:problem:catalogue-violation"
    assert (field, code) in {(e["field"], e["code"]) for e in problem["errors"]}
    assert await intake.count_records() == 0
    assert await intake.runtime.db["record_codes"].count_documents({}) == 0


async def test_unknown_commune_in_the_province_is_refused(
    intake: Intake, make_application: Callable[..., dict[str, Any]]
) -> None:
    body = make_application()
    body["applicant"]["address"] = {**body["applicant"]["address"], "commune_code": "99999"}
    response = await intake.submit(body)
    assert response.status_code == 422
    assert ("applicant.address.commune_code", "unknown_commune") in {
        (e["field"], e["code"]) for e in response.json()["errors"]}


async def test_malformed_json_is_400(intake: Intake) -> None:
    response = await intake.client.post("/applications", content=b'{"procedure_code": ',
                                        headers={"Idempotency-Key": "k",
                                                 "content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["type"] == "urn:motcua:problem:malformed-json"


@pytest.mark.parametrize("encoded", [
    b'"S\\ud800 7"',  # a lone surrogate, escaped: JSON the standard library accepts
    '"S\ud800 7"'.encode("utf-8", "surrogatepass"),  # the same, as bytes that are not UTF-8
    b'"S\xff 7"',  # not UTF-8 at all
])
async def test_text_that_is_not_unicode_is_400_and_nothing_is_stored(
    intake: Intake, make_application: Callable[..., dict[str, Any]], encoded: bytes
) -> None:
    body = make_application()
    body["applicant"]["address"] = {**body["applicant"]["address"], "detail": "@@DETAIL@@"}
    raw = json.dumps(body).encode().replace(b'"@@DETAIL@@"', encoded)
    response = await intake.client.post("/applications", content=raw, headers={
        "Idempotency-Key": "surrogate", "content-type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["type"] == "urn:motcua:problem:malformed-json"
    assert await intake.count_records() == 0


async def test_body_over_the_limit_is_413_even_without_content_length(
    intake: Intake, make_application: Callable[..., dict[str, Any]]
) -> None:
    body = make_application()
    body["form_data"] = {"note": "x" * (intake.settings.max_body_bytes + 10)}
    response = await intake.submit(body)
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM

    async def chunks() -> Any:
        for _ in range(300):
            yield b" " * 1024

    streamed = await intake.client.post("/applications", content=chunks(), headers={
        "Idempotency-Key": "k", "content-type": "application/json"})
    assert streamed.status_code == 413
    assert await intake.count_records() == 0


async def test_non_json_media_type_is_415(intake: Intake) -> None:
    response = await intake.client.post("/applications", content=b"procedure_code=1",
                                        headers={"Idempotency-Key": "k",
                                                 "content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 415
    assert response.json()["type"] == "urn:motcua:problem:unsupported-media-type"


async def test_missing_idempotency_key_is_400(
    intake: Intake, make_application: Callable[..., dict[str, Any]]
) -> None:
    response = await intake.client.post("/applications", json=make_application())
    assert response.status_code == 400
    assert response.json()["type"] == "urn:motcua:problem:missing-idempotency-key"
    assert await intake.count_records() == 0
    metrics = (await intake.client.get("/metrics")).text
    assert 'motcua_applications_rejected_total{reason="missing_idempotency_key"} 1.0' in metrics


@pytest.mark.parametrize(("form_data", "code"), [
    ({"so_thua": 2**63}, "int_out_of_range"),
    ({"so_thua": -(2**63) - 1}, "int_out_of_range"),
    ({"ghi_chu": "x" * 2001}, "string_too_long"),
    ({"ghi_chu": "dòng 1\r\nBcc: evil@evil.test"}, "control_character"),
])
async def test_form_values_the_store_cannot_keep_are_422_naming_the_field(
    intake: Intake, make_application: Callable[..., dict[str, Any]],
    form_data: dict[str, Any], code: str,
) -> None:
    response = await intake.submit(make_application(form_data=form_data))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    field = f"form_data.{next(iter(form_data))}"
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [(field, code)]
    assert await intake.count_records() == 0


async def test_the_largest_64_bit_form_integer_is_kept(
    intake: Intake, make_application: Callable[..., dict[str, Any]]
) -> None:
    response = await intake.submit(make_application(form_data={"so_thua": 2**63 - 1}))
    assert response.status_code == 201, response.text
    stored = await intake.runtime.db["records"].find_one({"_id": response.json()["record_code"]})
    assert stored is not None and stored["application"]["form_data"] == {"so_thua": 2**63 - 1}


@pytest.mark.parametrize("name", ["<script>alert(1)</script>.pdf", "to khai\r\nBcc: x.pdf"])
async def test_a_document_name_with_markup_or_control_characters_is_refused(
    intake: Intake, make_application: Callable[..., dict[str, Any]], name: str,
) -> None:
    body = make_application()
    body["documents"][0]["name"] = name
    response = await intake.submit(body)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["documents.0.name"]
    assert name not in response.text
    assert await intake.count_records() == 0
