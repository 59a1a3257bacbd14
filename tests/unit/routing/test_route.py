"""First routing: first match wins, templates resolve per unit, inactive and returning departments skipped."""

from __future__ import annotations

from services.routing.domain.decide import RouteInput, route
from services.routing.domain.directory import MANUAL_QUEUE
from services.routing.domain.table import Rule
from tests.unit.routing.factories import (
    BIRTH,
    PASSPORT,
    THAI_HOA_COMMUNE,
    THANH_VINH,
    TRUONG_VINH,
    UNITS,
    VINH,
    dept,
    record,
    table,
)

SPECIFIC = Rule(id="r-birth", procedure=BIRTH, candidates=("SO-TU-PHAP",))
GENERAL = Rule(id="r-all", candidates=("SO-NN-MT",))


def test_first_matching_rule_wins() -> None:
    assert route(record(BIRTH, TRUONG_VINH), table(SPECIFIC, GENERAL), UNITS).rule_id == "r-birth"
    assert route(record(BIRTH, TRUONG_VINH), table(GENERAL, SPECIFIC), UNITS).rule_id == "r-all"
    other = route(record(PASSPORT, TRUONG_VINH), table(SPECIFIC, GENERAL), UNITS)
    assert (other.rule_id, other.department_code) == ("r-all", "SO-NN-MT")


def test_rule_matches_on_agency_kind_and_handling_level() -> None:
    rules = (Rule(id="r-province", level="province", agency_kind="police", candidates=("CA-TINH",)),
             GENERAL)
    assert route(record(PASSPORT, TRUONG_VINH), table(*rules), UNITS).department_code == "CA-TINH"
    assert route(record(BIRTH, TRUONG_VINH), table(*rules), UNITS).department_code == "SO-NN-MT"


def test_templates_resolve_for_a_commune_unit() -> None:
    rule = Rule(id="r-t", candidates=("{commune_ppc}", "{district_ppc}", "SO-TU-PHAP"))
    decision = route(record(BIRTH, TRUONG_VINH), table(rule), UNITS)
    assert decision.department_code == "UBND-X-16681"
    assert decision.candidates_left == ("UBND-H-412", "SO-TU-PHAP")
    assert "rule r-t" in decision.reason and "UBND-X-16681" in decision.reason


def test_templates_resolve_for_a_former_district_unit() -> None:
    rule = Rule(id="r-t", candidates=("{commune_ppc}", "{district_ppc}", "SO-TU-PHAP"))
    decision = route(record(BIRTH, VINH), table(rule), UNITS)
    assert decision.department_code == "UBND-H-412"
    assert decision.candidates_left == ("SO-TU-PHAP",)


def test_a_former_district_rule_covers_its_communes_and_itself_only() -> None:
    rules = (Rule(id="r-vinh", unit=VINH, candidates=("SO-TU-PHAP",)), GENERAL)
    assert route(record(BIRTH, THANH_VINH), table(*rules), UNITS).rule_id == "r-vinh"
    assert route(record(BIRTH, VINH), table(*rules), UNITS).rule_id == "r-vinh"
    assert route(record(BIRTH, THAI_HOA_COMMUNE), table(*rules), UNITS).rule_id == "r-all"


def test_unit_kind_separates_former_district_codes_from_communes() -> None:
    rules = (Rule(id="r-district", unit_kind="former_district", candidates=("CA-TINH",)), GENERAL)
    assert route(record(BIRTH, VINH), table(*rules), UNITS).rule_id == "r-district"
    assert route(record(BIRTH, TRUONG_VINH), table(*rules), UNITS).rule_id == "r-all"


def test_inactive_departments_are_skipped() -> None:
    departments = (dept("SO-TU-PHAP", active=False), dept("SO-NN-MT"))
    rule = Rule(id="r", candidates=("SO-TU-PHAP", "SO-NN-MT"))
    decision = route(record(BIRTH, TRUONG_VINH), table(rule, departments=departments), UNITS)
    assert (decision.department_code, decision.candidates_left) == ("SO-NN-MT", ())


def test_never_routes_back_to_a_department_that_returned_the_record() -> None:
    rule = Rule(id="r", candidates=("{commune_ppc}", "SO-TU-PHAP", "SO-NN-MT"))
    decision = route(record(BIRTH, TRUONG_VINH), table(rule), UNITS,
                     exclude=frozenset({"UBND-X-16681", "SO-NN-MT"}))
    assert (decision.department_code, decision.candidates_left) == ("SO-TU-PHAP", ())


def test_manual_queue_when_every_candidate_was_tried() -> None:
    rule = Rule(id="r-two", candidates=("SO-TU-PHAP", "SO-NN-MT"))
    decision = route(record(BIRTH, TRUONG_VINH), table(rule), UNITS,
                     exclude=frozenset({"SO-TU-PHAP", "SO-NN-MT"}))
    assert decision.department_code == MANUAL_QUEUE
    assert decision.reason.startswith("all candidates of rule r-two were tried")
    assert decision.rule_id == "r-two"


def test_manual_queue_when_no_rule_matches() -> None:
    decision = route(record(PASSPORT, TRUONG_VINH), table(SPECIFIC), UNITS)
    assert decision.department_code == MANUAL_QUEUE
    assert decision.reason == f"no rule matches procedure {PASSPORT} for unit {TRUONG_VINH}"
    assert (decision.rule_id, decision.candidates_left) == (None, ())


def test_manual_queue_when_a_former_district_needs_a_commune() -> None:
    decision = route(record(BIRTH, VINH), table(Rule(id="r-c", candidates=("{commune_ppc}",))), UNITS)
    assert decision.department_code == MANUAL_QUEUE
    assert decision.reason.startswith("unit 412 is a former district; choose the commune")


def test_manual_queue_for_a_unit_not_on_the_map() -> None:
    unknown = RouteInput(procedure_code=BIRTH, agency_kind="commune_ppc", handling_level="commune",
                         administrative_unit_code="99999")
    decision = route(unknown, table(GENERAL), UNITS)
    assert decision.department_code == MANUAL_QUEUE
    assert "unit 99999 is neither a commune" in decision.reason


def test_a_candidate_resolving_twice_is_offered_once() -> None:
    rule = Rule(id="r", candidates=("{commune_ppc}", "UBND-X-16681", "SO-TU-PHAP"))
    decision = route(record(BIRTH, TRUONG_VINH), table(rule), UNITS)
    assert decision.candidates_left == ("SO-TU-PHAP",)
