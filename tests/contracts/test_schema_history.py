"""The committed schemas match the models, keep their history, and only ever evolve compatibly."""

from __future__ import annotations

import re
from itertools import combinations
from typing import Literal

import pytest

from contracts import topics
from contracts.compat import check_backward_compatible
from contracts.payload import EventPayload
from contracts.registry import REGISTRY
from contracts.schemagen import (
    JSON_SCHEMA_DIALECT,
    SCHEMA_ROOT,
    History,
    json_schema,
    load_history,
    plan,
    render,
)

HISTORY = load_history()
MODELS = sorted(REGISTRY, key=lambda model: model.event_type)
REGENERATE = "run `uv run python -m contracts.schemas` and commit the new file"


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.event_type)
def test_current_schema_equals_latest_committed_revision(model: type[EventPayload]) -> None:
    revisions = HISTORY.get(model.event_type, {}).get(model.schema_version)
    assert revisions, (
        f"No committed schema for {model.event_type} v{model.schema_version}: {REGENERATE}"
    )
    latest = max(revisions)
    assert revisions[latest] == json_schema(model), (
        f"{model.__name__} differs from {model.event_type}/v{model.schema_version}.{latest}.json: "
        f"{REGENERATE}"
    )


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.event_type)
def test_committed_file_is_exactly_what_the_generator_writes(model: type[EventPayload]) -> None:
    folder = SCHEMA_ROOT / model.event_type
    latest = max(HISTORY[model.event_type][model.schema_version])
    text = (folder / f"v{model.schema_version}.{latest}.json").read_text(encoding="utf-8")
    assert text == render(json_schema(model)), f"Formatting drifted: {REGENERATE}"


def test_every_committed_schema_has_a_registered_model() -> None:
    registered = {(model.event_type, model.schema_version) for model in REGISTRY}
    committed = {(event_type, major) for event_type, majors in HISTORY.items() for major in majors}
    assert committed, "no committed schemas found"
    assert committed <= registered, f"schemas without a model: {sorted(committed - registered)}"


def test_schema_folder_holds_only_revision_files() -> None:
    stray = [
        path.relative_to(SCHEMA_ROOT).as_posix()
        for path in SCHEMA_ROOT.rglob("*.json")
        if path.parent.parent != SCHEMA_ROOT
        or not re.fullmatch(r"v[0-9]+\.[0-9]+\.json", path.name)
    ]
    assert stray == [], "these files are not <event type>/v<major>.<revision>.json"


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.event_type)
def test_schema_names_its_dialect_id_and_title(model: type[EventPayload]) -> None:
    schema = json_schema(model)
    assert schema["$schema"] == JSON_SCHEMA_DIALECT
    assert schema["$id"] == f"urn:motcua:schema:{model.event_type}:{model.schema_version}"
    assert schema["title"] == model.__name__
    assert "additionalProperties" not in str(schema), "schemas stay open (tolerant readers)"


def _revision_pairs() -> list[tuple[str, int, int, int]]:
    return [
        (event_type, major, older, newer)
        for event_type, majors in sorted(HISTORY.items())
        for major, revisions in sorted(majors.items())
        for older, newer in combinations(sorted(revisions), 2)
    ]


def test_every_major_starts_at_revision_zero_without_gaps() -> None:
    for event_type, majors in HISTORY.items():
        for major, revisions in majors.items():
            assert sorted(revisions) == list(range(len(revisions))), (event_type, major)


def test_each_revision_reads_every_earlier_one_of_its_major() -> None:
    """Guards hand-edited history: the generator itself never writes an incompatible revision."""
    broken = [
        f"{event_type} v{major}.{newer} vs v{major}.{older}: {issue}"
        for event_type, major, older, newer in _revision_pairs()
        for issue in check_backward_compatible(
            HISTORY[event_type][major][older], HISTORY[event_type][major][newer]
        )
    ]
    assert broken == []


# The generator's decisions, on an in-memory history.


class Probe(EventPayload):
    event_type = "vn.motcua.test.probe"
    topic = topics.SLA_ALERTS

    record_code: str
    level: Literal["low", "high"]


class ProbeWithNote(Probe):
    note: str | None = None


class ProbeNarrowed(EventPayload):
    event_type = "vn.motcua.test.probe"
    topic = topics.SLA_ALERTS

    record_code: str
    level: Literal["low"]


def _history(*schemas: type[EventPayload]) -> History:
    return {"vn.motcua.test.probe": {1: {i: json_schema(m) for i, m in enumerate(schemas)}}}


def test_generator_writes_revision_zero_for_a_new_event() -> None:
    result = plan([Probe], {})
    assert [path for path, _ in result.writes] == ["vn.motcua.test.probe/v1.0.json"]
    assert result.errors == []


def test_generator_does_nothing_when_the_model_matches() -> None:
    result = plan([Probe], _history(Probe))
    assert (result.writes, result.errors) == ([], [])


def test_generator_writes_the_next_revision_for_a_compatible_change() -> None:
    result = plan([ProbeWithNote], _history(Probe))
    assert [path for path, _ in result.writes] == ["vn.motcua.test.probe/v1.1.json"]
    assert result.writes[0][1]["title"] == "ProbeWithNote"


def test_generator_refuses_an_incompatible_change_naming_type_and_field() -> None:
    result = plan([ProbeNarrowed], _history(Probe))
    assert result.writes == []
    assert len(result.errors) == 1
    assert "vn.motcua.test.probe v1" in result.errors[0]
    assert "$.level: enum values removed: 'high'" in result.errors[0]


def test_generator_checks_against_every_earlier_revision_not_only_the_latest() -> None:
    class ProbeWithoutNote(EventPayload):  # compatible with v1.0, but drops v1.1's field
        event_type = "vn.motcua.test.probe"
        topic = topics.SLA_ALERTS

        record_code: str
        level: Literal["low", "high", "urgent"]

    result = plan([ProbeWithoutNote], _history(Probe, ProbeWithNote))
    assert result.writes == []
    assert any("v1.1.json: $.note: field removed" in error for error in result.errors)


def test_generator_reports_committed_schemas_without_a_model() -> None:
    result = plan([], _history(Probe))
    assert result.errors == ["vn.motcua.test.probe v1: committed schemas have no registered model"]
