"""The shipped procedure catalogue and the completeness check intake runs on an application."""

from __future__ import annotations

import re

import pytest

from reference.applications import check_application
from reference.catalog import Catalog, Procedure, load_catalog, parse_catalog
from reference.errors import ReferenceDataError, UnknownProcedure

BIRTH = "1.001193.000.00.00.H40"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def by_name(catalog: Catalog, name_vi: str) -> Procedure:
    return next(p for p in catalog if p.name_vi == name_vi)


def test_catalogue_loads_with_unique_codes(catalog: Catalog) -> None:
    codes = [p.code for p in catalog]
    assert 30 <= len(catalog) == len(set(codes))
    assert all(p.code in catalog for p in catalog)


def test_all_project06_essential_services_are_present(catalog: Catalog) -> None:
    essential = catalog.essential_services()
    assert len(essential) >= 25
    groups = [p.project06 for p in essential]
    assert groups.count("police") == 13 and groups.count("commune") == 6
    names = {p.name_vi for p in essential}
    for name in ("Đăng ký khai sinh", "Đăng ký khai tử", "Đăng ký kết hôn", "Đăng ký thường trú",
                 "Đăng ký tạm trú", "Cấp hộ chiếu phổ thông ở trong nước",
                 "Cấp phiếu lý lịch tư pháp", "Đổi giấy phép lái xe",
                 "Giải quyết hưởng trợ cấp thất nghiệp"):
        assert name in names


def test_essential_services_are_online_only_since_october_2025(catalog: Catalog) -> None:
    for procedure in catalog.essential_services():
        assert procedure.channels == {"online"}
        assert procedure.online_only_since is not None
        assert procedure.online_only_since.isoformat() == "2025-10-01"


def test_every_procedure_has_a_required_document_and_a_channel(catalog: Catalog) -> None:
    for procedure in catalog:
        assert any(doc.required for doc in procedure.documents), procedure.code
        assert procedure.channels, procedure.code
        assert procedure.processing_days_source and procedure.fee_source and procedure.legal_basis


def test_statutory_times_from_the_domain(catalog: Catalog) -> None:
    birth = catalog.get(BIRTH)
    assert birth.code_verified and birth.is_same_day and birth.fee_vnd == 0
    bundle = by_name(catalog, "Liên thông đăng ký khai sinh, đăng ký thường trú, cấp thẻ bảo "
                              "hiểm y tế cho trẻ em dưới 6 tuổi")
    assert (bundle.processing_days, bundle.processing_days_with_verification) == (3, 5)
    recognition = by_name(catalog, "Đăng ký khai sinh kết hợp nhận cha, mẹ, con")
    assert (recognition.processing_days, recognition.processing_days_with_verification) == (3, 8)
    assert by_name(catalog, "Đăng ký thường trú").processing_days == 7
    for name in ("Đăng ký khai tử", "Đăng ký kết hôn"):
        assert by_name(catalog, name).processing_days_source.startswith("assumption")


def test_unverified_codes_are_placeholders_that_cannot_collide(catalog: Catalog) -> None:
    for procedure in catalog:
        assert re.fullmatch(r"[0-9]+\.[0-9]{6}(\.[0-9A-Z]+)+", procedure.code)
        assert procedure.code_verified or procedure.code.startswith("9.")
        assert not procedure.waiting_time_counts


def test_unknown_code_names_the_code(catalog: Catalog) -> None:
    with pytest.raises(UnknownProcedure, match=r"1\.999999\.H40"):
        catalog.get("1.999999.H40")


def test_complete_application_has_no_violation(catalog: Catalog) -> None:
    birth = catalog.get(BIRTH)
    documents = {"declaration_form", "medical_birth_certificate", "requester_identity"}
    assert check_application(birth, "online", documents) == []
    assert check_application(birth, "online", documents | {"authorisation"}) == []


def test_missing_document_and_disallowed_channel_are_reported(catalog: Catalog) -> None:
    birth = catalog.get(BIRTH)
    violations = check_application(birth, "counter", {"declaration_form", "requester_identity",
                                                      "tax_registration_form"})
    assert [(v.field, v.code) for v in violations] == [
        ("channel", "channel_not_allowed"),
        ("documents", "missing_required_document"),
        ("documents", "unknown_document"),
    ]
    assert "counter" in violations[0].message
    assert "medical_birth_certificate" in violations[1].message
    assert "tax_registration_form" in violations[2].message
    assert all(v.message.isascii() for v in violations)


def test_violation_messages_are_english_for_every_procedure(catalog: Catalog) -> None:
    for procedure in catalog:
        for violation in check_application(procedure, "fax", set()):
            assert violation.message.isascii(), violation.message


def test_invalid_catalogue_text_is_refused() -> None:
    with pytest.raises(ReferenceDataError, match=r"broken\.json"):
        parse_catalog('{"provenance": "x", "sources": [], "procedures": [{}]}', "broken.json")
