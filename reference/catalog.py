"""The province's procedure catalogue: what each procedure needs, who handles it, how long it takes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from importlib.resources import files
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from reference.errors import ReferenceDataError, UnknownProcedure

Channel = Literal["online", "counter", "post"]
AgencyKind = Literal["police", "justice", "commune_ppc", "tax", "social_insurance", "electricity",
                     "education", "labour", "natural_resources"]
Project06Group = Literal["police", "commune", "other"]

PROCEDURE_CODE_PATTERN = r"^[0-9]+\.[0-9]{6}(\.[0-9A-Z]+)+$"


class DocumentRequirement(BaseModel):
    """One component of the application file (thành phần hồ sơ)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name_vi: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    required: bool


class Procedure(BaseModel):
    """One administrative procedure (TTHC) as the province publishes it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(pattern=PROCEDURE_CODE_PATTERN, max_length=64)
    code_verified: bool
    name_vi: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    field: str = Field(min_length=1)
    """Lĩnh vực, e.g. "Hộ tịch"."""
    field_en: str = Field(min_length=1)
    agency_kind: AgencyKind
    handling_level: Literal["province", "commune"]
    online_level: Literal["full", "partial"]
    channels: frozenset[Channel] = Field(min_length=1)
    online_only_since: dt.date | None = None
    online_only_basis: str | None = None
    project06: Project06Group | None = None
    """Group of the Project 06 essential service list, None for other procedures."""
    processing_days: int = Field(ge=0)
    """Working days after acceptance; 0 = the same day."""
    processing_days_source: str = Field(min_length=1)
    processing_days_with_verification: int | None = Field(default=None, ge=0)
    documents: tuple[DocumentRequirement, ...]
    fee_vnd: int = Field(ge=0)
    fee_source: str = Field(min_length=1)
    waiting_time_counts: bool = False
    """Whether waiting for a supplement after acceptance counts against the deadline."""
    legal_basis: tuple[str, ...] = Field(min_length=1)
    notes: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Procedure:
        codes = [doc.code for doc in self.documents]
        if len(set(codes)) != len(codes):
            raise ValueError(f"{self.code}: a document code is listed twice")
        if not any(doc.required for doc in self.documents):
            raise ValueError(f"{self.code}: no required document")
        longer = self.processing_days_with_verification
        if longer is not None and longer < self.processing_days:
            raise ValueError(f"{self.code}: time with verification is shorter than without")
        if self.online_only_since is not None and self.channels != {"online"}:
            raise ValueError(f"{self.code}: online only since {self.online_only_since} "
                             f"but accepts {sorted(self.channels)}")
        return self

    @property
    def is_same_day(self) -> bool:
        return self.processing_days == 0

    def document(self, code: str) -> DocumentRequirement | None:
        return next((doc for doc in self.documents if doc.code == code), None)


class _CatalogFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    provenance: str
    sources: tuple[str, ...]
    procedures: tuple[Procedure, ...]


class Catalog:
    """Procedures by code; iteration follows the data file's order."""

    def __init__(self, procedures: Iterable[Procedure], provenance: str = "") -> None:
        self._by_code: dict[str, Procedure] = {}
        for procedure in procedures:
            if procedure.code in self._by_code:
                raise ReferenceDataError(f"procedure code {procedure.code} is listed twice")
            self._by_code[procedure.code] = procedure
        self.provenance = provenance

    def get(self, code: str) -> Procedure:
        try:
            return self._by_code[code]
        except KeyError:
            raise UnknownProcedure(code) from None

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def __iter__(self) -> Iterator[Procedure]:
        return iter(self._by_code.values())

    def __len__(self) -> int:
        return len(self._by_code)

    def essential_services(self) -> tuple[Procedure, ...]:
        """The Project 06 essential services, in catalogue order."""
        return tuple(p for p in self if p.project06 is not None)


def parse_catalog(text: str, origin: str) -> Catalog:
    """Validate a catalogue file's text; `origin` names the file in the error."""
    try:
        data = _CatalogFile.model_validate_json(text)
    except ValidationError as error:
        raise ReferenceDataError(f"catalogue file {origin} is invalid: {error}") from None
    return Catalog(data.procedures, data.provenance)


def load_catalog() -> Catalog:
    """Read the shipped catalogue (reference/data/procedures.json)."""
    resource = files("reference") / "data" / "procedures.json"
    return parse_catalog(resource.read_text(encoding="utf-8"), "procedures.json")
