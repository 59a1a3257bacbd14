"""A person chooses: the one-stop office routes what no rule could place (pure, no I/O).

A record waits in the manual queue (`MOT-CUA-TINH`) with the reason routing gave. An officer
picks an active department; the choice is checked here against the route as the officer saw it
(its `attempt`), so two officers, or an officer and a late department answer, never both move it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from reference.units import Units

from .decide import Decision
from .directory import MANUAL_QUEUE, commune_ppc_code
from .route import Route
from .table import RoutingTable, locate

Refusal = Literal["not_waiting", "moved_on", "unknown_department", "inactive_department",
                  "the_queue_itself"]


class ChoiceRefused(Exception):
    """The choice cannot be applied; `reason` says why in a word a client can act on."""

    def __init__(self, reason: Refusal, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail


@dataclass(frozen=True, slots=True, kw_only=True)
class Choice:
    department_code: str
    seen_attempt: int
    """The route's `attempt` when the officer looked: a later one means it moved meanwhile."""
    officer: str
    """Who chose: the subject of their token."""
    note: str


def suggestions(route: Route, table: RoutingTable, units: Units) -> tuple[str, ...]:
    """Active departments worth a look first: those the matching rule names, then the communes
    that took over a former district; those that returned the record come last."""
    place = locate(route.unit, units)
    found: list[str] = []
    rule = table.first_match(route.procedure_code, route.agency_kind, route.handling_level, place)
    if rule is not None:
        found += table.resolve(rule, place)
    if place.kind == "former_district" and place.district is not None:
        found += [commune_ppc_code(c.code) for c in units.successors_of(place.district)]
    usable = [code for code in dict.fromkeys(found)
              if code != MANUAL_QUEUE and table.is_active(code)]
    return tuple(sorted(usable, key=lambda code: code in route.returned_by))


def decide(route: Route, choice: Choice, table: RoutingTable) -> Decision:
    """The decision an officer's choice makes, or `ChoiceRefused`."""
    if route.status != "manual":
        raise ChoiceRefused("not_waiting", f"record {route.code} is not in the manual queue "
                                           f"(it is {route.status}, held by {route.department})")
    if route.attempt != choice.seen_attempt:
        raise ChoiceRefused("moved_on", f"record {route.code} moved since it was shown "
                                        f"(assignment {route.attempt}, not {choice.seen_attempt})")
    code = choice.department_code
    if code == MANUAL_QUEUE:
        raise ChoiceRefused("the_queue_itself", f"{MANUAL_QUEUE} is the queue; choose a department")
    department = table.department(code)
    if department is None:
        raise ChoiceRefused("unknown_department",
                            f"{code} is not in the directory of table v{table.version}")
    if not department.active:
        raise ChoiceRefused("inactive_department", f"{code} was dissolved in table "
                                                   f"v{table.version}; choose an active department")
    return Decision(department_code=code, candidates_left=(), rule_id=None,
                    reason=f"chosen at the one-stop office by {choice.officer}: {choice.note}")
