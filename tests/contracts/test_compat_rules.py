"""The compatibility check catches each breaking change and lets additive ones through."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from contracts.compat import Incompatibility, check_backward_compatible


class _Open(BaseModel):
    model_config = ConfigDict(extra="ignore")


def schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema()


def problems(old: type[BaseModel], new: type[BaseModel]) -> list[str]:
    return [str(issue) for issue in check_backward_compatible(schema(old), schema(new))]


class Base(_Open):
    record_code: str
    channel: Literal["online", "counter"]
    email: str | None = None


def test_identical_schemas_are_compatible() -> None:
    assert check_backward_compatible(schema(Base), schema(Base)) == []


def test_adding_an_optional_field_is_compatible() -> None:
    class Added(Base):
        legal_basis: str | None = None

    assert problems(Base, Added) == []


def test_widening_an_enum_is_compatible() -> None:
    class Wider(_Open):
        record_code: str
        channel: Literal["online", "counter", "post"]
        email: str | None = None

    assert problems(Base, Wider) == []


def test_widening_integer_to_number_and_relaxing_bounds_is_compatible() -> None:
    old = {"type": "object", "properties": {"n": {"type": "integer", "maximum": 10}}}
    new = {"type": "object", "properties": {"n": {"type": "number", "maximum": 20}}}
    assert check_backward_compatible(old, new) == []


def test_removed_field_is_reported_with_its_path() -> None:
    class Removed(_Open):
        record_code: str
        channel: Literal["online", "counter"]

    assert check_backward_compatible(schema(Base), schema(Removed)) == [
        Incompatibility("$.email", "field removed")
    ]


def test_renamed_field_is_reported_as_removed_with_a_hint() -> None:
    class Renamed(_Open):
        record_code: str
        channel: Literal["online", "counter"]
        mail: str | None = None

    assert problems(Base, Renamed) == ["$.email: field removed (renamed to one of: mail?)"]


def test_string_to_integer_is_a_narrowed_type() -> None:
    class Narrowed(_Open):
        record_code: int
        channel: Literal["online", "counter"]
        email: str | None = None

    assert problems(Base, Narrowed) == ["$.record_code: type narrowed from string to integer"]


def test_number_to_integer_is_a_narrowed_type() -> None:
    old = {"type": "object", "properties": {"hours": {"type": "number"}}}
    new = {"type": "object", "properties": {"hours": {"type": "integer"}}}
    assert [i.path for i in check_backward_compatible(old, new)] == ["$.hours"]


def test_removed_enum_value_is_reported() -> None:
    class Fewer(_Open):
        record_code: str
        channel: Literal["online"]
        email: str | None = None

    assert problems(Base, Fewer) == ["$.channel: enum values removed: 'counter'"]


def test_optional_field_made_required_is_reported() -> None:
    class Required(_Open):
        record_code: str
        channel: Literal["online", "counter"]
        email: str | None

    assert problems(Base, Required) == ["$.email: optional field made required"]


def test_new_required_field_is_reported() -> None:
    class NewRequired(Base):
        procedure_code: str

    assert problems(Base, NewRequired) == ["$.procedure_code: new required field"]


def test_nullable_made_non_null_is_reported() -> None:
    class NotNull(_Open):
        record_code: str
        channel: Literal["online", "counter"]
        email: str = ""

    assert "$.email: null is no longer allowed" in problems(Base, NotNull)


def test_removed_anyof_branch_is_reported() -> None:
    old = {"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]}
    new = {"anyOf": [{"type": "string"}, {"type": "null"}]}
    assert [str(i) for i in check_backward_compatible(old, new)] == [
        "$: anyOf branch of type integer removed"
    ]


def test_tightened_string_bounds_and_changed_pattern_are_reported() -> None:
    old = {"type": "string", "maxLength": 200, "pattern": "^[0-9]{12}$"}
    new = {"type": "string", "maxLength": 100, "minLength": 1, "pattern": "^[0-9]{9}$"}
    found = {issue.problem.split(" ")[0] for issue in check_backward_compatible(old, new)}
    assert found == {"maxLength", "minLength", "pattern"}


def test_higher_minimum_is_reported() -> None:
    old = {"type": "integer", "minimum": 0}
    new = {"type": "integer", "minimum": 1}
    assert [str(i) for i in check_backward_compatible(old, new)] == ["$: minimum tightened to 1"]


class Address(_Open):
    commune_code: str
    detail: str


class Applicant(_Open):
    full_name: str
    address: Address


class WithApplicant(_Open):
    applicant: Applicant


def test_change_inside_a_referenced_definition_is_found_through_ref() -> None:
    class Address(_Open):  # same name: the $defs key stays the same
        commune_code: int
        detail: str

    class Applicant(_Open):
        full_name: str
        address: Address

    class Changed(_Open):
        applicant: Applicant

    assert "$ref" in str(schema(Changed))
    assert problems(WithApplicant, Changed) == [
        "$.applicant.address.commune_code: type narrowed from string to integer"
    ]


class Document(_Open):
    name: str
    size_bytes: int


class WithDocuments(_Open):
    documents: list[Document]
    tags: list[str]


def test_narrowed_array_items_are_reported() -> None:
    class Document(_Open):
        name: str
        size_bytes: int
        sha256: str

    class Changed(_Open):
        documents: list[Document]
        tags: list[int]

    assert problems(WithDocuments, Changed) == [
        "$.documents[].sha256: new required field",
        "$.tags[]: type narrowed from string to integer",
    ]


def test_closing_an_open_object_is_reported() -> None:
    old = {"type": "object", "properties": {"a": {"type": "string"}}}
    new = {**old, "additionalProperties": False}
    assert [str(i) for i in check_backward_compatible(old, new)] == [
        "$: object closed (additionalProperties: false)"
    ]


def test_unresolvable_ref_is_an_incompatibility_not_a_crash() -> None:
    old = {"type": "object", "properties": {"a": {"type": "string"}}}
    new = {"type": "object", "properties": {"a": {"$ref": "#/$defs/Missing"}}}
    assert [str(i) for i in check_backward_compatible(old, new)] == [
        "$.a: cannot resolve $ref '#/$defs/Missing'"
    ]


def test_recursive_definitions_terminate() -> None:
    tree = {
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}},
            }
        },
        "$ref": "#/$defs/Node",
    }
    assert check_backward_compatible(tree, tree) == []
