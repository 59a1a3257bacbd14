"""The demo's applications: a realistic mix, each with what its department will do, and some invalid.

Pure and seeded, so every run tells the same story:
* many procedures and communes; some records the pre-reform table sends to a former district's
  People's Committee (they move when the 2025 reorganisation is published), some applications
  naming a former district itself;
* each valid record gets a behaviour for the department that receives it (accept and resolve,
  ask for a supplement, return as misrouted, refuse, never accept, be late with or without a
  reported reason);
* invalid applications, one per kind of problem intake must name.
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass
from typing import Any, Literal

from reference.catalog import Catalog, Procedure
from reference.units import Units
from services.intake.examples import application
from services.routing.domain.decide import RouteInput, route
from services.routing.domain.table import RoutingTable

Behaviour = Literal["resolve", "supplement", "misrouted", "refuse", "ignore", "late", "late_explained"]

# One in each block of 20 valid records, in this order: the shares of the story.
_CYCLE: tuple[Behaviour, ...] = (
    "resolve", "late", "supplement", "resolve", "misrouted", "late_explained", "resolve", "late",
    "refuse", "resolve", "supplement", "late", "resolve", "misrouted", "ignore", "late_explained",
    "resolve", "supplement", "late", "resolve",
)


@dataclass(frozen=True)
class Planned:
    """A valid application and what its department does with the record."""

    body: dict[str, Any]
    behaviour: Behaviour
    note: str
    """Why it is in the mix (e.g. 'bound for a former district PC under the old table')."""


@dataclass(frozen=True)
class Invalid:
    """An application intake must refuse, and the problem code it must name."""

    body: dict[str, Any]
    expected: str


def _bound_for_district(procedure: Procedure, commune: str, old: RoutingTable, units: Units) -> bool:
    decision = route(RouteInput(procedure_code=procedure.code, agency_kind=procedure.agency_kind,
                                handling_level=procedure.handling_level,
                                administrative_unit_code=commune), old, units)
    return decision.department_code.startswith("UBND-H-")


def valid_mix(catalog: Catalog, units: Units, old: RoutingTable, n: int = 40,
              seed: int = 2025) -> list[Planned]:
    """`n` valid applications over the catalogue; about one in eight goes to a former district."""
    rng = random.Random(seed)
    procedures = list(catalog)
    communal = [p for p in procedures if p.handling_level == "commune"]
    district_bound = [(p, c.code) for p in communal for c in units.communes
                      if _bound_for_district(p, c.code, old, units)]
    made: list[Planned] = []
    for i in range(n):
        behaviour = _CYCLE[i % len(_CYCLE)]
        if i % 8 == 3 and district_bound:
            procedure, commune = rng.choice(district_bound)
            body = application(procedure, units, rng, commune_code=commune)
            note = "sent to a former district PC by the pre-reform table"
        elif i % 8 == 6:
            procedure = rng.choice(communal)
            district = rng.choice(units.former_districts).code
            commune = rng.choice(units.successors_of(district)).code
            body = application(procedure, units, rng, commune_code=commune,
                               administrative_unit_code=district)
            note = f"names the former district {district}"
        else:
            procedure = rng.choice(procedures)
            body = application(procedure, units, rng)
            note = "ordinary"
        made.append(Planned(body, behaviour, note))
    return made


def invalid_mix(catalog: Catalog, units: Units, seed: int = 2026) -> list[Invalid]:
    """One application per problem intake checks, each otherwise valid."""
    rng = random.Random(seed)
    procedure = catalog.get("1.001193.000.00.00.H40")
    online_only = next((p for p in catalog if p.channels == frozenset({"online"})), procedure)

    def base() -> dict[str, Any]:
        return copy.deepcopy(application(procedure, units, rng))

    made: list[Invalid] = []
    body = base()
    body["procedure_code"] = "9.999999.000.00.00.H40"
    made.append(Invalid(body, "unknown_procedure"))
    body = base()
    body["documents"] = body["documents"][1:]
    made.append(Invalid(body, "missing_required_document"))
    body = base()
    body["fee_vnd"] = body["fee_vnd"] + 50_000
    made.append(Invalid(body, "fee_mismatch"))
    body = base()
    body["administrative_unit_code"] = body["applicant"]["address"]["commune_code"]
    body["applicant"]["address"]["commune_code"] = "99999"
    made.append(Invalid(body, "unknown_commune"))
    body = base()
    body["administrative_unit_code"] = "999"
    made.append(Invalid(body, "unknown_administrative_unit"))
    body = base()
    body["receiving_unit_code"] = "000.99.99.H40"
    made.append(Invalid(body, "unknown_receiving_unit"))
    body = copy.deepcopy(application(online_only, units, rng))
    body["channel"], body["paid_online"] = "post", False
    made.append(Invalid(body, "channel_not_allowed"))
    return made
