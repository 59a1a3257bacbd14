"""The demo's applications: the valid ones pass intake's checks, each invalid one fails on its own
problem, and the mix holds the cases the story needs."""

from __future__ import annotations

from collections import Counter

from deploy.local.demo.mix import invalid_mix, valid_mix
from reference.catalog import load_catalog
from reference.units import load_units
from services.intake.domain import Application, assess
from services.routing.domain.tables import shipped_tables

CATALOG, UNITS = load_catalog(), load_units()
OLD, REFORM = shipped_tables()


def test_every_valid_application_passes_intake() -> None:
    for planned in valid_mix(CATALOG, UNITS, OLD):
        problems = assess(Application.model_validate(planned.body), CATALOG, UNITS).problems
        assert problems == [], (planned.note, problems)


def test_the_mix_holds_every_behaviour_and_both_reform_cases() -> None:
    mix = valid_mix(CATALOG, UNITS, OLD)
    behaviours = Counter(p.behaviour for p in mix)
    assert set(behaviours) == {"resolve", "supplement", "misrouted", "refuse", "ignore", "late",
                               "late_explained"}
    notes = Counter(p.note.split(" ")[0] for p in mix)
    assert notes["sent"] >= 3  # bound for a former district PC under the old table
    assert notes["names"] >= 3  # naming a former district as the unit
    assert len({p.body["procedure_code"] for p in mix}) >= 10
    assert len({p.body["applicant"]["address"]["commune_code"] for p in mix}) >= 20


def test_the_mix_is_the_same_every_run() -> None:
    first, again = valid_mix(CATALOG, UNITS, OLD), valid_mix(CATALOG, UNITS, OLD)
    assert [p.body for p in first] == [p.body for p in again]


def test_each_invalid_application_fails_on_its_own_problem() -> None:
    invalid = invalid_mix(CATALOG, UNITS)
    assert len({i.expected for i in invalid}) == len(invalid)
    for wrong in invalid:
        problems = assess(Application.model_validate(wrong.body), CATALOG, UNITS).problems
        assert [p.code for p in problems] == [wrong.expected]
