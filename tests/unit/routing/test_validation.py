"""Each kind of table problem is caught, and its message names the culprit."""

from __future__ import annotations

import datetime as dt

from services.routing.domain.directory import COMMUNE_OF_RECORD
from services.routing.domain.table import RoutingTable, Rule, TableProblem, publishable, validate_table
from tests.unit.routing.factories import BIRTH, CATALOG, UNITS, dept, table

POLICE = Rule(id="r-police", agency_kind="police", candidates=("CA-TINH",))
EVERYTHING = Rule(id="r-all", candidates=("SO-TU-PHAP",))


def problems(checked: RoutingTable) -> list[TableProblem]:
    return validate_table(checked, CATALOG, UNITS)


def at(found: list[TableProblem], where: str) -> list[str]:
    return [p.message for p in found if p.where == where]


def test_a_covering_table_has_no_problem() -> None:
    assert problems(table(POLICE, EVERYTHING)) == []


def test_candidate_missing_from_the_directory_names_rule_and_code() -> None:
    found = problems(table(Rule(id="r-x", candidates=("SO-KHONG-CO", "SO-TU-PHAP"))))
    assert at(found, "r-x") == ["rule r-x names department SO-KHONG-CO, which is not in the directory"]


def test_rule_whose_candidates_are_all_inactive() -> None:
    departments = (dept("SO-TU-PHAP"), dept("CU", active=False), dept("CA-TINH"))
    found = problems(table(Rule(id="r-dead", agency_kind="police", candidates=("CU",)), EVERYTHING,
                           departments=departments))
    assert any("all candidates of rule r-dead are inactive" in m for m in at(found, "r-dead"))


def test_procedure_no_rule_covers_names_procedure_and_an_example_unit() -> None:
    found = problems(table(POLICE))
    message = at(found, BIRTH)
    assert len(message) == 1
    assert BIRTH in message[0] and "Đăng ký khai sinh" in message[0]
    assert "matches no rule for unit 16681 (151 units in all)" in message[0]


def test_procedure_resolving_to_no_active_candidate_is_reported() -> None:
    # only two commune PCs are in the directory, so most communes resolve to nothing
    found = problems(table(POLICE, Rule(id="r-commune", candidates=("{commune_ppc}",))))
    message = at(found, BIRTH)
    assert len(message) == 1
    assert "resolves to no active candidate for unit 16687 under rule r-commune" in message[0]


def test_successor_missing_or_inactive() -> None:
    departments = (dept("SO-TU-PHAP"), dept("CA-TINH"),
                   dept("CU", active=False, successor="KHONG-CO"),
                   dept("CU-2", active=False, successor="CU"))
    found = problems(table(POLICE, EVERYTHING, departments=departments))
    assert at(found, "CU") == ["successor of CU is KHONG-CO, which is not in the directory"]
    assert at(found, "CU-2") == ["successor of CU-2 is CU, which is inactive"]


def test_commune_of_record_needs_every_commune_pc() -> None:
    departments = (dept("SO-TU-PHAP"), dept("CA-TINH"),
                   dept("UBND-H-412", active=False, successor=COMMUNE_OF_RECORD))
    found = problems(table(POLICE, EVERYTHING, departments=departments))
    assert at(found, "UBND-H-412") == [
        "successor of UBND-H-412 is the commune of record, but UBND-X-16681 is missing or "
        "inactive (130 commune PCs in all)"]


def test_duplicate_department_codes_and_rule_ids() -> None:
    departments = (dept("SO-TU-PHAP"), dept("CA-TINH"), dept("SO-TU-PHAP"))
    found = problems(table(POLICE, EVERYTHING, Rule(id="r-all", candidates=("CA-TINH",)),
                           departments=departments))
    assert at(found, "SO-TU-PHAP") == ["department code SO-TU-PHAP is listed 2 times"]
    assert at(found, "r-all") == ["rule id r-all is used by 2 rules"]


def test_department_code_that_cannot_name_a_topic() -> None:
    departments = (dept("SO-TU-PHAP"), dept("CA-TINH"), dept("SO TAI/CHINH"))
    found = problems(table(POLICE, EVERYTHING, departments=departments))
    assert len(at(found, "SO TAI/CHINH")) == 1
    assert "'SO TAI/CHINH' cannot name a topic" in at(found, "SO TAI/CHINH")[0]


def test_unknown_template_procedure_and_unit_in_a_rule() -> None:
    odd = Rule(id="r-odd", procedure="9.999999.H40", unit="99999",
               candidates=("{province_ppc}", "SO-TU-PHAP"))
    messages = at(problems(table(POLICE, odd, EVERYTHING)), "r-odd")
    assert len(messages) == 3
    assert "rule r-odd names procedure 9.999999.H40, which is not in the catalogue" in messages
    assert "rule r-odd names unit 99999, which is neither a commune nor a former district" in messages
    assert any("unknown template {province_ppc}" in m for m in messages)


def test_publishable_needs_the_next_version_and_keeps_every_department() -> None:
    previous = table(POLICE, EVERYTHING, version=3)
    assert publishable(table(POLICE, EVERYTHING, version=4), previous) == []
    skipped = publishable(table(POLICE, EVERYTHING, version=5), previous)
    assert [str(p) for p in skipped] == [
        "version 5: must be version 4: the table in force is version 3"]
    shrunk = table(POLICE, EVERYTHING, version=4,
                   departments=(dept("SO-TU-PHAP"), dept("CA-TINH")))
    assert {p.where for p in publishable(shrunk, previous)} == {
        "SO-NN-MT", "MOT-CUA-TINH", "UBND-X-16681", "UBND-X-16684", "UBND-H-412"}


def test_publishable_refuses_a_version_effective_before_the_previous_one() -> None:
    previous = table(POLICE, EVERYTHING, version=1)
    earlier = table(POLICE, EVERYTHING, version=2).model_copy(
        update={"effective_from": dt.date(2024, 12, 31)})
    assert [p.where for p in publishable(earlier, previous)] == ["version 2"]
