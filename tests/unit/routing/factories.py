"""Small tables for routing tests: a few departments and rules over the shipped unit list."""

from __future__ import annotations

import datetime as dt

from reference.catalog import Catalog, load_catalog
from reference.units import Units, load_units
from services.routing.domain.decide import RouteInput
from services.routing.domain.directory import MANUAL_QUEUE, Department, Level
from services.routing.domain.table import RoutingTable, Rule

UNITS: Units = load_units()
CATALOG: Catalog = load_catalog()

VINH = "412"
TRUONG_VINH = "16681"  # a commune of former district 412
THANH_VINH = "16684"  # another commune of 412
THAI_HOA_COMMUNE = "16699"  # a commune of former district 414

BIRTH = "1.001193.000.00.00.H40"
MARRIAGE_FOREIGN = "9.000031.000.00.00.H40"
LAND_CHANGE = "9.000018.000.00.00.H40"
LAND_FIRST_CERTIFICATE = "9.000035.000.00.00.H40"
PASSPORT = "9.000009.000.00.00.H40"


def dept(code: str, *, level: Level = "province_department", active: bool = True,
         successor: str | None = None) -> Department:
    return Department(code=code, name=f"Đơn vị {code}", level=level, active=active,
                      successor=successor)


def table(*rules: Rule, departments: tuple[Department, ...] = (), version: int = 1) -> RoutingTable:
    base = departments or (dept("SO-TU-PHAP"), dept("SO-NN-MT"), dept("CA-TINH"),
                           dept(MANUAL_QUEUE, level="one_stop_office"),
                           dept("UBND-X-16681", level="commune_ppc"),
                           dept("UBND-X-16684", level="commune_ppc"),
                           dept("UBND-H-412", level="district_ppc"))
    return RoutingTable(version=version, effective_from=dt.date(2025, 1, 1), note="test",
                        departments=base, rules=rules)


def record(procedure: str, unit: str) -> RouteInput:
    found = CATALOG.get(procedure)
    return RouteInput(procedure_code=procedure, agency_kind=found.agency_kind,
                      handling_level=found.handling_level, administrative_unit_code=unit)
