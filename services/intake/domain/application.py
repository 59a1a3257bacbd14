"""An application as the portal or a counter fills it in, with the rules each field obeys.

Validation messages name the field and the rule, never the value (applications carry personal
data).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

# Province codes that open a 12-digit citizen id (the 63 pre-2025 provinces, Circular 07/2016/TT-BCA).
_CITIZEN_ID_PROVINCES = frozenset("""
001 002 004 006 008 010 011 012 014 015 017 019 020 022 024 025 026 027 030 031 033 034 035 036
037 038 040 042 044 045 046 048 049 051 052 054 056 058 060 062 064 066 067 068 070 072 074 075
077 079 080 082 083 084 086 087 089 091 092 093 094 095 096""".split())
_PHONE = re.compile(r"^(?:\+84|0)(?:[35789][0-9]{8}|2[0-9]{9})$")
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$")


def _citizen_id(value: str) -> str:
    if not re.fullmatch(r"[0-9]{12}", value):
        raise PydanticCustomError("invalid_citizen_id", "citizen id must be exactly 12 digits")
    if value[:3] not in _CITIZEN_ID_PROVINCES:
        raise PydanticCustomError("invalid_citizen_id",
                                 "citizen id does not start with a valid province code")
    return value


def _phone(value: str) -> str:
    compact = re.sub(r"[\s.-]", "", value)
    if not _PHONE.fullmatch(compact):
        raise PydanticCustomError("invalid_phone", "phone must be a Vietnamese number: 0 or +84, "
                                  "then 9 digits (mobile) or 10 digits starting with 2 (landline)")
    return compact


def _email(value: str) -> str:
    if len(value) > 254 or not _EMAIL.fullmatch(value):
        raise PydanticCustomError("invalid_email", "email is not a valid address")
    return value.lower()


def _full_name(value: str) -> str:
    name = unicodedata.normalize("NFC", " ".join(value.split()))
    if not name:
        raise PydanticCustomError("empty_name", "full name is empty")
    if len(name) > 100:
        raise PydanticCustomError("name_too_long", "full name is longer than 100 characters")
    if not all(ch.isalpha() or ch in " '-." or unicodedata.category(ch).startswith("M")
               for ch in name):
        raise PydanticCustomError("invalid_name", "full name may contain only letters (with "
                                  "diacritics), spaces, apostrophes, hyphens and dots")
    return name


CitizenId = Annotated[str, AfterValidator(_citizen_id)]
Phone = Annotated[str, AfterValidator(_phone)]
Email = Annotated[str, AfterValidator(_email)]
FullName = Annotated[str, StringConstraints(max_length=400), AfterValidator(_full_name)]
Code = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z._-]+$")]
AgencyCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.H[0-9]{2}$")]
UnitCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{3}([0-9]{2})?$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Address(_Strict):
    province_code: Annotated[str, StringConstraints(pattern=r"^[0-9]{2}$")]
    commune_code: Annotated[str, StringConstraints(pattern=r"^[0-9]{5}$")]
    detail: Annotated[str, StringConstraints(min_length=1, max_length=300,
                                             pattern=FREE_TEXT_PATTERN)]


class Applicant(_Strict):
    full_name: FullName
    citizen_id: CitizenId
    phone: Phone
    address: Address
    preferred_channel: Literal["email", "sms"] = "sms"
    language: Literal["vi", "en"] = "vi"
    email: Email | None = Field(None, validate_default=True)
    """After the channel, so that its check can see the channel and name this field."""

    @field_validator("email", mode="after")
    @classmethod
    def _reachable_on_the_preferred_channel(cls, email: str | None,
                                            info: ValidationInfo) -> str | None:
        if email is None and info.data.get("preferred_channel") == "email":
            raise PydanticCustomError("email_required", "preferred channel is email but no email "
                                      "is given: give applicant.email or prefer sms")
        return email


DOCUMENT_NAME_PATTERN = r"^[^\x00-\x1f\x7f-\x9f<>\"\\]+$"
"""A file name as a person writes it, without control characters or markup: it is shown on the
receipt, to the department and in messages, and must read the same everywhere."""
FREE_TEXT_PATTERN = r"^[^\x00-\x08\x0b-\x1f\x7f-\x9f]*$"
"""Text as a person types it: line breaks and tabs, no other control character."""


class AttachedDocument(_Strict):
    code: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
    """The catalogue's code of this component of the file."""
    name: Annotated[str, StringConstraints(min_length=1, max_length=300,
                                           pattern=DOCUMENT_NAME_PATTERN)]
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    size_bytes: int = Field(ge=1, le=100_000_000)
    digitized: bool = True


BSON_INT_MIN, BSON_INT_MAX = -(2**63), 2**63 - 1


FORM_TEXT_MAX = 2000


def _form_value(value: object) -> object:
    """One clear error for a value the store cannot keep, before the union tries each type (an
    integer past BSON's 64 bits would otherwise become a float)."""
    if isinstance(value, int) and not isinstance(value, bool) and not (
            BSON_INT_MIN <= value <= BSON_INT_MAX):
        raise PydanticCustomError("int_out_of_range",
                                  "integer is outside the 64-bit range -2^63 .. 2^63-1")
    if isinstance(value, str) and len(value) > FORM_TEXT_MAX:
        raise PydanticCustomError("string_too_long",
                                  f"text is longer than {FORM_TEXT_MAX} characters")
    if isinstance(value, str) and not re.fullmatch(FREE_TEXT_PATTERN, value):
        raise PydanticCustomError("control_character", "text holds a control character (line "
                                  "breaks and tabs are the only ones kept)")
    return value


FormInt = Annotated[int, Field(ge=BSON_INT_MIN, le=BSON_INT_MAX)]
FormText = Annotated[str, StringConstraints(max_length=FORM_TEXT_MAX, pattern=FREE_TEXT_PATTERN)]
FormValue = Annotated[FormText | FormInt | float | bool | None, BeforeValidator(_form_value)]
"""A form field's value: text up to 2,000 characters, a 64-bit integer, a number, a flag."""


class Application(_Strict):
    """An application for one procedure, as the portal or the counter sends it."""

    procedure_code: Code
    channel: Literal["online", "counter", "post"]
    receiving_unit_code: AgencyCode
    """The centre that receives it: any centre of the province may receive any record."""
    administrative_unit_code: UnitCode | None = None
    """Commune (5 digits) or former district (3 digits) the case belongs to; default: the
    applicant's commune."""
    applicant: Applicant
    documents: list[AttachedDocument] = Field(max_length=100)
    form_data: dict[Annotated[str, StringConstraints(max_length=64)], FormValue] = Field(
        default_factory=dict, max_length=200)
    fee_vnd: int = Field(ge=0, le=1_000_000_000)
    paid_online: bool = False
    reused_data: bool = False
    electronic_result: bool = False
