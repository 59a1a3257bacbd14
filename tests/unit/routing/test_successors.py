"""After a reorganisation, records follow successors to an active department, or go to a person."""

from __future__ import annotations

from services.routing.domain.decide import successor_decision, successor_for
from services.routing.domain.directory import COMMUNE_OF_RECORD, MANUAL_QUEUE
from services.routing.domain.table import RoutingTable, Rule
from tests.unit.routing.factories import TRUONG_VINH, UNITS, VINH, dept, table

ANY = Rule(id="r", candidates=("SO-TU-PHAP",))


def reorganised() -> RoutingTable:
    return table(ANY, departments=(
        dept("SO-TU-PHAP"), dept("UBND-X-16681", level="commune_ppc"),
        dept("SO-A", active=False, successor="SO-B"),
        dept("SO-B", active=False, successor="SO-TU-PHAP"),
        dept("UBND-H-412", level="district_ppc", active=False, successor=COMMUNE_OF_RECORD),
        dept("SO-CU", active=False, successor="UBND-H-412"),
        dept("LOOP-1", active=False, successor="LOOP-2"),
        dept("LOOP-2", active=False, successor="LOOP-1"),
        dept("SO-GIAI-THE", active=False),
    ))


def test_an_active_department_keeps_its_records() -> None:
    assert successor_for("SO-TU-PHAP", TRUONG_VINH, reorganised(), UNITS) == "SO-TU-PHAP"


def test_follows_a_chain_of_dissolved_departments() -> None:
    decision = successor_decision("SO-A", TRUONG_VINH, reorganised(), UNITS)
    assert decision.department_code == "SO-TU-PHAP"
    assert "SO-A -> SO-B -> SO-TU-PHAP" in decision.reason


def test_commune_of_record_is_the_commune_pc_of_the_record() -> None:
    assert successor_for("UBND-H-412", TRUONG_VINH, reorganised(), UNITS) == "UBND-X-16681"
    assert successor_for("SO-CU", TRUONG_VINH, reorganised(), UNITS) == "UBND-X-16681"


def test_commune_of_record_is_ambiguous_for_a_former_district_unit() -> None:
    decision = successor_decision("UBND-H-412", VINH, reorganised(), UNITS)
    assert decision.department_code == MANUAL_QUEUE
    assert "unit 412 is not a commune; choose the commune" in decision.reason


def test_a_cycle_of_successors_ends_in_the_manual_queue() -> None:
    decision = successor_decision("LOOP-1", TRUONG_VINH, reorganised(), UNITS)
    assert decision.department_code == MANUAL_QUEUE
    assert "loop back to LOOP-1" in decision.reason


def test_dissolved_without_successor_or_unknown_goes_to_the_manual_queue() -> None:
    gone = successor_decision("SO-GIAI-THE", TRUONG_VINH, reorganised(), UNITS)
    assert "SO-GIAI-THE was dissolved without a successor" in gone.reason
    assert successor_for("SO-MA", TRUONG_VINH, reorganised(), UNITS) == MANUAL_QUEUE
    # the commune of record exists on the map but not in this directory
    assert successor_for("UBND-H-412", "16684", reorganised(), UNITS) == MANUAL_QUEUE
