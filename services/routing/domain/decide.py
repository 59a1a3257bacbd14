"""Pure routing decisions: first routing, a bounce after a misrouted return, a reorganisation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from reference.units import Units

from .directory import COMMUNE_OF_RECORD, MANUAL_QUEUE, commune_ppc_code
from .table import COMMUNE_PPC, Place, RoutingTable, locate


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteInput:
    """What routing needs to know about a record."""

    procedure_code: str
    agency_kind: str
    handling_level: Literal["province", "commune"]
    administrative_unit_code: str
    """A commune (5 digits) or a former district (3 digits) still named by published texts."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """Where a record goes, what is left to try if it comes back, and why; never a guess."""

    department_code: str
    candidates_left: tuple[str, ...]
    rule_id: str | None
    reason: str

    @property
    def is_manual(self) -> bool:
        return self.department_code == MANUAL_QUEUE


def manual(reason: str, rule_id: str | None = None) -> Decision:
    """A decision to let the one-stop office choose, with the reason it has to."""
    return Decision(department_code=MANUAL_QUEUE, candidates_left=(), rule_id=rule_id, reason=reason)


def route(record: RouteInput, table: RoutingTable, units: Units, *,
          exclude: frozenset[str] = frozenset()) -> Decision:
    """The first matching rule's first active candidate not in `exclude`, else the manual queue."""
    unit = record.administrative_unit_code
    place = locate(unit, units)
    if place.kind == "unknown":
        return manual(f"unit {unit} is neither a commune, a former district nor the province "
                      f"{units.province.code}")
    rule = table.first_match(record.procedure_code, record.agency_kind, record.handling_level, place)
    if rule is None:
        return manual(f"no rule matches procedure {record.procedure_code} for unit {unit}")
    resolved = table.resolve(rule, place)
    usable = [code for code in resolved if table.is_active(code) and code not in exclude]
    if not usable:
        skipped = ", ".join(f"{code} ({'returned it' if code in exclude else 'inactive'})"
                            for code in resolved) or "none"
        if COMMUNE_PPC in rule.candidates and place.kind == "former_district":
            return manual(f"unit {unit} is a former district; choose the commune (rule {rule.id} "
                          f"needs a commune PC; others: {skipped})", rule.id)
        return manual(f"all candidates of rule {rule.id} were tried for unit {unit}: {skipped}",
                      rule.id)
    chosen, *rest = usable
    if chosen == MANUAL_QUEUE and rule.note:
        reason = f"{rule.note} (rule {rule.id}, procedure {record.procedure_code}, unit {unit})"
    else:
        because = f"; {rule.note}" if rule.note else ""
        reason = f"rule {rule.id}: procedure {record.procedure_code} for unit {unit} goes to {chosen}"
        reason += because
    return Decision(department_code=chosen, candidates_left=tuple(rest), rule_id=rule.id,
                    reason=reason)


def next_candidate(candidates_left: tuple[str, ...], returned_by: str, attempt: int,
                   max_bounces: int, table: RoutingTable, *, rule_id: str | None = None) -> Decision:
    """Where a record returned as misrouted goes for its `attempt`-th assignment.

    `attempt` counts assignments (1 = the first routing), so a record may be returned
    `max_bounces` times before a person has to choose.
    """
    if attempt > max_bounces:
        return manual(f"returned by {returned_by}; attempt {attempt} would exceed the limit of "
                      f"{max_bounces} assignments", rule_id)
    usable = [code for code in candidates_left if code != returned_by and table.is_active(code)]
    if not usable:
        tried = ", ".join(candidates_left) or "none left"
        return manual(f"returned by {returned_by}; no active candidate left to try ({tried})",
                      rule_id)
    chosen, *rest = usable
    return Decision(department_code=chosen, candidates_left=tuple(rest), rule_id=rule_id,
                    reason=f"returned by {returned_by} as misrouted; next candidate {chosen} "
                           f"(attempt {attempt} of at most {max_bounces})")


def successor_decision(department_code: str, unit: str, table: RoutingTable,
                       units: Units) -> Decision:
    """Where the open records of a dissolved department go: along its successors to an active one."""
    current = department_code
    seen: list[str] = []
    while True:
        department = table.department(current)
        if department is None:
            return _lost(department_code, seen, f"{current} is not in the directory")
        if department.active:
            path = " -> ".join([*seen, current])
            return Decision(department_code=current, candidates_left=(), rule_id=None,
                            reason=f"successor of {department_code} in table v{table.version}: {path}")
        if current in seen:
            return _lost(department_code, seen, f"the successors loop back to {current}")
        seen.append(current)
        if department.successor is None:
            return _lost(department_code, seen, f"{current} was dissolved without a successor")
        if department.successor != COMMUNE_OF_RECORD:
            current = department.successor
            continue
        place: Place = locate(unit, units)
        if place.commune is None:
            return _lost(department_code, seen, f"{current} passed to the commune of record, but "
                                                f"unit {unit} is not a commune; choose the commune")
        current = commune_ppc_code(place.commune)


def successor_for(department_code: str, unit: str, table: RoutingTable, units: Units) -> str:
    """The department that now holds what `department_code` held for a record of `unit`."""
    return successor_decision(department_code, unit, table, units).department_code


def _lost(start: str, seen: list[str], why: str) -> Decision:
    path = " -> ".join(seen) or start
    return manual(f"no active successor of {start} ({path}): {why}")
