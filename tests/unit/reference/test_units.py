"""Nghệ An's units after the July 2025 reform: counts, successors of former districts, desks."""

from __future__ import annotations

import re

import pytest

from reference.errors import UnknownUnit
from reference.units import Units, load_units


@pytest.fixture(scope="module")
def units() -> Units:
    return load_units()


def test_counts_match_the_reported_totals(units: Units) -> None:
    assert units.province.code == "40"
    assert len(units.communes) == 130
    kinds = [c.kind for c in units.communes]
    assert kinds.count("xã") == 119 and kinds.count("phường") == 11
    assert len(units.former_districts) == 21
    assert "sample data" in units.provenance


def test_codes_are_unique_and_well_formed(units: Units) -> None:
    codes = [c.code for c in units.communes]
    assert len(codes) == len(set(codes))
    desks = [u.code for u in units.receiving_units()]
    assert len(desks) == len(set(desks)) == 131
    for desk in desks:
        assert re.fullmatch(r"[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.H[0-9]{2}", desk)
    assert units.provincial_centre.code == "000.00.21.H40"


def test_every_former_district_has_a_successor(units: Units) -> None:
    for district in units.former_districts:
        assert units.successors_of(district.code), district.code


def test_every_commune_belongs_to_exactly_one_former_district(units: Units) -> None:
    owners: dict[str, list[str]] = {}
    for district in units.former_districts:
        for commune in units.successors_of(district.code):
            owners.setdefault(commune.code, []).append(district.code)
    assert sorted(owners) == sorted(c.code for c in units.communes)
    assert all(len(found) == 1 for found in owners.values())


def test_lookups(units: Units) -> None:
    first = units.communes[0]
    assert units.commune(first.code) == first
    assert units.is_commune(first.code) and not units.is_commune("99999")
    assert units.former_district("412").name == "Vinh"
    assert [c.name for c in units.successors_of("413")] == ["Cửa Lò"]
    assert units.receiving_unit(first.code) == first.receiving_unit
    assert units.receiving_unit("40") == units.provincial_centre
    assert units.receiving_unit_by_agency_code("000.00.21.H40") == units.provincial_centre


@pytest.mark.parametrize(("lookup", "code", "kind"), [
    ("commune", "99999", "commune"),
    ("former_district", "999", "former district"),
    ("successors_of", "999", "former district"),
    ("receiving_unit", "41", "commune"),
    ("receiving_unit_by_agency_code", "000.99.99.H40", "receiving unit"),
])
def test_unknown_codes_raise_a_named_error(units: Units, lookup: str, code: str, kind: str) -> None:
    with pytest.raises(UnknownUnit, match=f"unknown {kind} code '{re.escape(code)}'"):
        getattr(units, lookup)(code)


def test_unknown_province_file_is_refused() -> None:
    with pytest.raises(UnknownUnit, match="province"):
        load_units("99")
