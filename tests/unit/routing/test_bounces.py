"""A record returned as misrouted goes to the next candidate, then to the manual queue."""

from __future__ import annotations

from services.routing.domain.decide import next_candidate, route
from services.routing.domain.directory import MANUAL_QUEUE
from services.routing.domain.table import Rule
from tests.unit.routing.factories import BIRTH, TRUONG_VINH, UNITS, dept, record, table

THREE = Rule(id="r-three", candidates=("{commune_ppc}", "SO-TU-PHAP", "SO-NN-MT"))


def test_bounces_along_the_candidates_then_to_the_manual_queue() -> None:
    rules = table(THREE)
    first = route(record(BIRTH, TRUONG_VINH), rules, UNITS)
    second = next_candidate(first.candidates_left, first.department_code, 2, 5, rules)
    third = next_candidate(second.candidates_left, second.department_code, 3, 5, rules)
    last = next_candidate(third.candidates_left, third.department_code, 4, 5, rules)
    assert [d.department_code for d in (first, second, third, last)] == [
        "UBND-X-16681", "SO-TU-PHAP", "SO-NN-MT", MANUAL_QUEUE]
    assert second.candidates_left == ("SO-NN-MT",)
    assert "returned by UBND-X-16681" in second.reason
    assert last.reason.startswith("returned by SO-NN-MT; no active candidate left")


def test_never_back_to_the_department_that_returned_it() -> None:
    decision = next_candidate(("SO-TU-PHAP", "SO-NN-MT"), "SO-TU-PHAP", 2, 5, table(THREE))
    assert (decision.department_code, decision.candidates_left) == ("SO-NN-MT", ())


def test_skips_a_candidate_dissolved_since_the_first_routing() -> None:
    departments = (dept("SO-TU-PHAP", active=False), dept("SO-NN-MT"), dept("CA-TINH"))
    decision = next_candidate(("SO-TU-PHAP", "SO-NN-MT"), "CA-TINH", 2, 5,
                              table(THREE, departments=departments))
    assert decision.department_code == "SO-NN-MT"


def test_manual_queue_once_the_attempt_would_exceed_max_bounces() -> None:
    left = ("SO-TU-PHAP", "SO-NN-MT")
    assert next_candidate(left, "CA-TINH", 3, 3, table(THREE)).department_code == "SO-TU-PHAP"
    over = next_candidate(left, "CA-TINH", 4, 3, table(THREE), rule_id="r-three")
    assert over.department_code == MANUAL_QUEUE
    assert over.reason == ("returned by CA-TINH; attempt 4 would exceed the limit of 3 "
                           "assignments")
    assert (over.rule_id, over.candidates_left) == ("r-three", ())
