"""The province's administrative units after the July 2025 reform, and where each receives records."""

# Published procedure texts still name the former district-level units, so each former district
# maps to the communes that took over its territory, for routing files addressed to it.

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from importlib.resources import files
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from reference.errors import ReferenceDataError, UnknownUnit

AGENCY_CODE_PATTERN = r"^[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.H[0-9]{2}$"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Province(_Frozen):
    code: str = Field(pattern=r"^[0-9]{2}$")
    name: str
    name_en: str


class ReceivingUnit(_Frozen):
    """A one-stop desk that receives records; its code is the national agency code."""

    code: str = Field(pattern=AGENCY_CODE_PATTERN)
    name: str


class FormerDistrict(_Frozen):
    """A district-level unit that no longer exists but still appears in published texts."""

    code: str = Field(pattern=r"^[0-9]{3}$")
    name: str
    kind: Literal["thành phố", "thị xã", "huyện"]
    dissolved_on: dt.date


class Commune(_Frozen):
    """A commune-level unit (xã or phường) since 1 July 2025."""

    code: str = Field(pattern=r"^[0-9]{5}$")
    name: str
    kind: Literal["xã", "phường"]
    former_district: str = Field(pattern=r"^[0-9]{3}$")
    receiving_unit: ReceivingUnit


class Units(_Frozen):
    """Lookups over one province's units; every lookup raises `UnknownUnit` for unknown codes."""

    provenance: str
    sources: tuple[str, ...]
    receiving_unit_scheme: str
    province: Province
    provincial_centre: ReceivingUnit
    former_districts: tuple[FormerDistrict, ...]
    communes: tuple[Commune, ...]

    @model_validator(mode="after")
    def _consistent(self) -> Units:
        _unique("commune", [c.code for c in self.communes])
        _unique("former district", [d.code for d in self.former_districts])
        _unique("receiving unit", [self.provincial_centre.code,
                                   *(c.receiving_unit.code for c in self.communes)])
        districts = {d.code for d in self.former_districts}
        for commune in self.communes:
            if commune.former_district not in districts:
                raise ValueError(f"commune {commune.code} names unknown former district "
                                 f"{commune.former_district}")
        orphans = districts - {c.former_district for c in self.communes}
        if orphans:
            raise ValueError(f"former districts without successor: {sorted(orphans)}")
        return self

    def commune(self, code: str) -> Commune:
        for commune in self.communes:
            if commune.code == code:
                return commune
        raise UnknownUnit("commune", code)

    def is_commune(self, code: str) -> bool:
        return any(commune.code == code for commune in self.communes)

    def former_district(self, code: str) -> FormerDistrict:
        for district in self.former_districts:
            if district.code == code:
                return district
        raise UnknownUnit("former district", code)

    def successors_of(self, district_code: str) -> tuple[Commune, ...]:
        """The communes that took over a former district's territory."""
        self.former_district(district_code)
        return tuple(c for c in self.communes if c.former_district == district_code)

    def receiving_unit(self, code: str) -> ReceivingUnit:
        """The desk of a commune (5-digit code) or the provincial centre (the province code)."""
        if code == self.province.code:
            return self.provincial_centre
        return self.commune(code).receiving_unit

    def receiving_unit_by_agency_code(self, agency_code: str) -> ReceivingUnit:
        for unit in self.receiving_units():
            if unit.code == agency_code:
                return unit
        raise UnknownUnit("receiving unit", agency_code)

    def receiving_units(self) -> Iterator[ReceivingUnit]:
        yield self.provincial_centre
        for commune in self.communes:
            yield commune.receiving_unit


def _unique(kind: str, codes: list[str]) -> None:
    seen: set[str] = set()
    for code in codes:
        if code in seen:
            raise ValueError(f"{kind} code {code} is listed twice")
        seen.add(code)


def parse_units(text: str, origin: str) -> Units:
    """Validate a units file's text; `origin` names the file in the error."""
    try:
        return Units.model_validate_json(text)
    except ValidationError as error:
        raise ReferenceDataError(f"units file {origin} is invalid: {error}") from None


def load_units(province_code: str = "40") -> Units:
    """Read the shipped unit list of a province (reference/data/units_<code>.json)."""
    resource = files("reference") / "data" / f"units_{province_code}.json"
    if not resource.is_file():
        raise UnknownUnit("province", province_code)
    return parse_units(resource.read_text(encoding="utf-8"), f"units_{province_code}.json")
