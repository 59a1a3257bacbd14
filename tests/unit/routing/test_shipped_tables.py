"""The shipped tables pass validation and route the reform's cases as the domain says."""

from __future__ import annotations

import pytest

from services.routing.domain.decide import route, successor_for
from services.routing.domain.directory import COMMUNE_OF_RECORD, MANUAL_QUEUE, is_topic_safe
from services.routing.domain.table import RoutingTable, publishable, validate_table
from services.routing.domain.tables import departments_2025, shipped_tables, table_v1, table_v2
from tests.unit.routing.factories import (
    BIRTH,
    CATALOG,
    LAND_CHANGE,
    LAND_FIRST_CERTIFICATE,
    MARRIAGE_FOREIGN,
    PASSPORT,
    THAI_HOA_COMMUNE,
    TRUONG_VINH,
    UNITS,
    VINH,
    record,
)


@pytest.mark.parametrize("shipped", shipped_tables(), ids=["v1", "v2"])
def test_shipped_table_passes_validation(shipped: RoutingTable) -> None:
    assert validate_table(shipped, CATALOG, UNITS) == []


def test_v2_may_follow_v1() -> None:
    v1, v2 = shipped_tables()
    assert (v1.version, v2.version) == (1, 2)
    assert publishable(v2, v1) == []


def test_directory_has_province_commune_and_district_departments() -> None:
    departments = departments_2025(UNITS)
    levels = [d.level for d in departments]
    assert levels.count("commune_ppc") == len(UNITS.communes) == 130
    assert levels.count("district_ppc") == len(UNITS.former_districts) == 21
    assert 17 <= len(departments) - 151 <= 22
    assert all(is_topic_safe(d.code) for d in departments)
    assert all(d.supervisors[0].role == "department_head" for d in departments)
    assert departments_2025(UNITS) == departments  # deterministic


def test_v2_dissolves_every_district_pc_into_the_commune_of_record() -> None:
    districts = [d for d in table_v2().departments if d.level == "district_ppc"]
    assert len(districts) == 21
    assert all(not d.active and d.successor == COMMUNE_OF_RECORD for d in districts)
    assert table_v1().is_active("UBND-H-412")


def test_v1_sends_foreign_marriage_to_the_district_then_justice() -> None:
    decision = route(record(MARRIAGE_FOREIGN, TRUONG_VINH), table_v1(), UNITS)
    assert decision.department_code == "UBND-H-412"
    assert decision.candidates_left == ("SO-TU-PHAP",)


def test_v2_sends_foreign_marriage_to_the_commune_pc() -> None:
    decision = route(record(MARRIAGE_FOREIGN, TRUONG_VINH), table_v2(), UNITS)
    assert decision.department_code == f"UBND-X-{TRUONG_VINH}"
    assert "120/2025" in decision.reason


def test_record_routed_to_a_district_in_v1_goes_to_its_commune_in_v2() -> None:
    under_v1 = route(record(MARRIAGE_FOREIGN, TRUONG_VINH), table_v1(), UNITS)
    assert under_v1.department_code == "UBND-H-412"
    assert successor_for(under_v1.department_code, TRUONG_VINH, table_v2(), UNITS) == "UBND-X-16681"


def test_v1_routes_a_former_district_unit_to_its_district_pc() -> None:
    assert route(record(BIRTH, VINH), table_v1(), UNITS).department_code == "UBND-H-412"
    assert route(record(BIRTH, "413"), table_v1(), UNITS).department_code == "UBND-H-412"


def test_v2_asks_a_person_to_choose_the_commune_for_a_former_district_unit() -> None:
    decision = route(record(BIRTH, VINH), table_v2(), UNITS)
    assert decision.department_code == MANUAL_QUEUE
    assert decision.reason.startswith("unit is a former district; choose the commune")


@pytest.mark.parametrize(("procedure", "department"), [
    (LAND_FIRST_CERTIFICATE, "SO-NN-MT"), (LAND_CHANGE, "SO-NN-MT"), (PASSPORT, "CA-TINH"),
])
def test_v2_lets_a_province_department_take_a_former_district_unit(procedure: str,
                                                                    department: str) -> None:
    assert route(record(procedure, VINH), table_v2(), UNITS).department_code == department


def test_v2_land_first_certificate_goes_to_the_commune_then_the_department() -> None:
    decision = route(record(LAND_FIRST_CERTIFICATE, THAI_HOA_COMMUNE), table_v2(), UNITS)
    assert decision.department_code == f"UBND-X-{THAI_HOA_COMMUNE}"
    assert decision.candidates_left == ("SO-NN-MT",)


def test_most_shipped_rules_leave_somewhere_to_bounce() -> None:
    for shipped in shipped_tables():
        with_two = [r for r in shipped.rules if len(r.candidates) >= 2]
        assert len(with_two) * 2 > len(shipped.rules), shipped.version
