"""A routing table version: ordered rules over a department directory, and the checks it must pass."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from reference.catalog import AgencyKind, Catalog, Procedure
from reference.errors import UnknownUnit
from reference.units import Units

from .directory import (
    COMMUNE_OF_RECORD,
    Department,
    commune_ppc_code,
    district_ppc_code,
    is_topic_safe,
)

ANY: Final = "*"
COMMUNE_PPC: Final = "{commune_ppc}"
DISTRICT_PPC: Final = "{district_ppc}"
TEMPLATES: Final = frozenset({COMMUNE_PPC, DISTRICT_PPC})

UnitKind = Literal["commune", "former_district", "province", "unknown"]


@dataclass(frozen=True, slots=True)
class Place:
    """A record's unit code located on the map: its commune and former district, where known."""

    unit: str
    kind: UnitKind
    commune: str | None = None
    district: str | None = None


def locate(unit: str, units: Units) -> Place:
    """Where a unit code sits: a commune (with its former district), a former district, or neither."""
    if units.is_commune(unit):
        return Place(unit, "commune", commune=unit, district=units.commune(unit).former_district)
    try:
        units.former_district(unit)
    except UnknownUnit:
        return Place(unit, "province" if unit == units.province.code else "unknown")
    return Place(unit, "former_district", district=unit)


class Rule(BaseModel):
    """Where records of some procedures for some units go; the first matching rule of a table wins."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=64)
    procedure: str = Field(default=ANY, min_length=1)
    agency_kind: AgencyKind | Literal["*"] = ANY
    level: Literal["province", "commune", "*"] = ANY
    """The procedure's handling level."""
    unit: str = Field(default=ANY, pattern=r"^(\*|[0-9]{3}|[0-9]{5})$")
    """A commune, or a former district (matching itself and its communes), or any unit."""
    unit_kind: Literal["commune", "former_district", "*"] = ANY
    """What the record's unit code must be: a commune, a former district, or either."""
    candidates: tuple[str, ...] = Field(min_length=1)
    """Department codes or templates `{commune_ppc}` / `{district_ppc}`, tried in order."""
    note: str | None = None
    """Why the rule exists; quoted in the reason of every decision it makes."""

    def matches(self, procedure: str, agency_kind: str, level: str, place: Place) -> bool:
        return (self.procedure in (ANY, procedure)
                and self.agency_kind in (ANY, agency_kind)
                and self.level in (ANY, level)
                and self.unit_kind in (ANY, place.kind)
                and self.unit in (ANY, place.unit, place.district))


def resolve(candidate: str, place: Place) -> str | None:
    """The department code a candidate stands for at a place, None when the place cannot fill it."""
    if candidate == COMMUNE_PPC:
        return commune_ppc_code(place.commune) if place.commune else None
    if candidate == DISTRICT_PPC:
        return district_ppc_code(place.district) if place.district else None
    return None if candidate.startswith("{") else candidate


class RoutingTable(BaseModel):
    """One published version of the rules and the directory; a change is always a new version."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = Field(ge=1)
    effective_from: dt.date
    note: str
    departments: tuple[Department, ...]
    rules: tuple[Rule, ...]
    _index: tuple[tuple[Department, ...], dict[str, Department]] | None = PrivateAttr(default=None)

    def _by_code(self) -> dict[str, Department]:
        cached = self._index
        if cached is not None and cached[0] is self.departments:  # stale after a model_copy
            return cached[1]
        index: dict[str, Department] = {}
        for department in self.departments:
            index.setdefault(department.code, department)
        self._index = (self.departments, index)
        return index

    def department(self, code: str) -> Department | None:
        return self._by_code().get(code)

    def is_active(self, code: str) -> bool:
        department = self.department(code)
        return department is not None and department.active

    def first_match(self, procedure: str, agency_kind: str, level: str, place: Place) -> Rule | None:
        return next((r for r in self.rules if r.matches(procedure, agency_kind, level, place)), None)

    def resolve(self, rule: Rule, place: Place) -> tuple[str, ...]:
        """The rule's candidates as department codes at a place, in order, without repeats."""
        codes: list[str] = []
        for candidate in rule.candidates:
            code = resolve(candidate, place)
            if code is not None and code not in codes:
                codes.append(code)
        return tuple(codes)


@dataclass(frozen=True, slots=True)
class TableProblem:
    """Why a table cannot be published; `where` is a rule id, a department code or a procedure."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def validate_table(table: RoutingTable, catalog: Catalog, units: Units) -> list[TableProblem]:
    """Every problem that forbids publishing the table, in a stable order; empty when it is sound."""
    return [*_department_problems(table, units), *_rule_problems(table, catalog, units),
            *_coverage_problems(table, catalog, units)]


def publishable(new: RoutingTable, previous: RoutingTable) -> list[TableProblem]:
    """What forbids `new` from following `previous`: versions are consecutive and never forget."""
    where = f"version {new.version}"
    problems: list[TableProblem] = []
    if new.version != previous.version + 1:
        problems.append(TableProblem(where, f"must be version {previous.version + 1}: the table in "
                                            f"force is version {previous.version}"))
    if new.effective_from < previous.effective_from:
        problems.append(TableProblem(where, f"effective from {new.effective_from}, before version "
                                            f"{previous.version} ({previous.effective_from})"))
    for department in previous.departments:
        if new.department(department.code) is None:
            problems.append(TableProblem(department.code, f"department {department.code} of version "
                                         f"{previous.version} is missing from version {new.version}; "
                                         "keep it, inactive, with a successor"))
    return problems


def _department_problems(table: RoutingTable, units: Units) -> list[TableProblem]:
    problems = [TableProblem(code, f"department code {code} is listed {n} times")
                for code, n in Counter(d.code for d in table.departments).items() if n > 1]
    for department in table.departments:
        code = department.code
        if not is_topic_safe(code):
            problems.append(TableProblem(code, f"department code {code!r} cannot name a topic: use "
                                         "1-64 characters from [A-Za-z0-9._-], starting with a "
                                         "letter or digit"))
        successor = department.successor
        if successor is None:
            continue
        if successor == COMMUNE_OF_RECORD:
            idle = [commune_ppc_code(c.code) for c in units.communes
                    if not table.is_active(commune_ppc_code(c.code))]
            if idle:
                problems.append(TableProblem(code, f"successor of {code} is the commune of record, "
                                             f"but {idle[0]} is missing or inactive "
                                             f"({len(idle)} commune PCs in all)"))
        elif table.department(successor) is None:
            problems.append(TableProblem(code, f"successor of {code} is {successor}, which is not "
                                         "in the directory"))
        elif not table.is_active(successor):
            problems.append(TableProblem(code, f"successor of {code} is {successor}, which is "
                                         "inactive"))
    return problems


def _rule_problems(table: RoutingTable, catalog: Catalog, units: Units) -> list[TableProblem]:
    problems = [TableProblem(rule_id, f"rule id {rule_id} is used by {n} rules")
                for rule_id, n in Counter(r.id for r in table.rules).items() if n > 1]
    for rule in table.rules:
        if rule.procedure != ANY and rule.procedure not in catalog:
            problems.append(TableProblem(rule.id, f"rule {rule.id} names procedure {rule.procedure}, "
                                         "which is not in the catalogue"))
        if rule.unit != ANY and locate(rule.unit, units).kind not in ("commune", "former_district"):
            problems.append(TableProblem(rule.id, f"rule {rule.id} names unit {rule.unit}, which is "
                                         "neither a commune nor a former district"))
        live = False
        for candidate in rule.candidates:
            if candidate.startswith("{"):
                if candidate not in TEMPLATES:
                    problems.append(TableProblem(rule.id, f"rule {rule.id} has unknown template "
                                                 f"{candidate}; use one of {sorted(TEMPLATES)}"))
                live = live or _template_live(candidate, table, units)
            elif table.department(candidate) is None:
                problems.append(TableProblem(rule.id, f"rule {rule.id} names department "
                                             f"{candidate}, which is not in the directory"))
            else:
                live = live or table.is_active(candidate)
        if not live:
            problems.append(TableProblem(rule.id, f"all candidates of rule {rule.id} are inactive "
                                         f"or missing: {', '.join(rule.candidates)}"))
    return problems


def _template_live(template: str, table: RoutingTable, units: Units) -> bool:
    if template == COMMUNE_PPC:
        return any(table.is_active(commune_ppc_code(c.code)) for c in units.communes)
    if template == DISTRICT_PPC:
        return any(table.is_active(district_ppc_code(d.code)) for d in units.former_districts)
    return False


def _coverage_problems(table: RoutingTable, catalog: Catalog, units: Units) -> list[TableProblem]:
    places = [*(locate(c.code, units) for c in units.communes),
              *(locate(d.code, units) for d in units.former_districts)]
    problems: list[TableProblem] = []
    for procedure in catalog:
        unmatched: list[str] = []
        dead: list[tuple[str, str]] = []
        for place in places:
            rule = table.first_match(procedure.code, procedure.agency_kind,
                                     procedure.handling_level, place)
            if rule is None:
                unmatched.append(place.unit)
            elif not any(table.is_active(code) for code in table.resolve(rule, place)):
                dead.append((place.unit, rule.id))
        if unmatched:
            problems.append(TableProblem(procedure.code, f"{_named(procedure)} matches no rule for "
                                         f"unit {unmatched[0]} ({len(unmatched)} units in all)"))
        if dead:
            unit, rule_id = dead[0]
            problems.append(TableProblem(procedure.code, f"{_named(procedure)} resolves to no active "
                                         f"candidate for unit {unit} under rule {rule_id} "
                                         f"({len(dead)} units in all)"))
    return problems


def _named(procedure: Procedure) -> str:
    return f"procedure {procedure.code} ({procedure.name_vi})"
