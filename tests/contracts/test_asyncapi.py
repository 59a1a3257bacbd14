"""The committed AsyncAPI documents are what the code generates, valid AsyncAPI 3.0.0, and true to
each service's topic use, the registry, the committed schemas and the CloudEvents binding.

`asyncapi-3.0.0.schema.json` beside this file is `schemas/3.0.0.json` of the npm package
`@asyncapi/specs` 6.11.1, unchanged (sha256 d4571a420e6ffb7fcc7066c95a6db1202f299a3c51daa103d0706bf30f95e626).
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator, Draft202012Validator  # type: ignore[import-untyped]
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from contracts import topics
from contracts.asyncapi import DOCUMENT_ROOT, document_path
from contracts.asyncapi.messages import DEAD_LETTER, message_id
from contracts.envelope import encode
from contracts.payload import EventPayload
from contracts.registry import REGISTRY, models_for_topic
from contracts.samples import sample_envelope, sample_payloads
from contracts.schemagen import load_history, render
from deploy.access.grants import department_grants
from deploy.access.uses import SERVICE_NAMES, service_uses
from deploy.asyncapi import documents

SPEC = json.loads((Path(__file__).parent / "asyncapi-3.0.0.schema.json").read_text(encoding="utf-8"))
VALIDATOR = Draft7Validator(SPEC)
DOCUMENTS = documents()
NAMES = sorted(DOCUMENTS)
REGENERATE = "run `make asyncapi` (`python -m deploy.asyncapi`) and commit contracts/asyncapi/"
A_DEPARTMENT = "UBND-X-16681"


def operations_of(document: dict[str, Any]) -> set[tuple[str, str]]:
    """(action, channel address) of every operation."""
    found = set()
    for operation in document["operations"].values():
        channel_id = operation["channel"]["$ref"].removeprefix("#/channels/")
        found.add((operation["action"], document["channels"][channel_id]["address"]))
    return found


def family_dead_letter(name: str) -> str:
    return name + topics.DEAD_LETTER_SUFFIX if "{" in name else topics.dead_letter_topic(name)


def validator(document: dict[str, Any], pointer: str) -> Draft202012Validator:
    """Validates against the schema at `pointer` inside `document`, its references resolved there."""
    registry: Registry[Any] = Registry().with_resource(
        "urn:test:document", Resource.from_contents(document, default_specification=DRAFT202012))
    return Draft202012Validator({"$ref": f"urn:test:document#{pointer}"}, registry=registry)


@pytest.mark.parametrize("name", NAMES)
def test_committed_document_is_what_the_code_generates(name: str) -> None:
    path = document_path(name)
    assert path.is_file(), f"{path.name} is missing: {REGENERATE}"
    assert path.read_text(encoding="utf-8") == render(DOCUMENTS[name]), (
        f"contracts/asyncapi/{path.name} differs from what the code generates: {REGENERATE}")


def test_no_committed_document_is_left_without_a_generator() -> None:
    committed = {path.stem for path in DOCUMENT_ROOT.glob("*.json")}
    assert committed == set(NAMES), f"left over: {sorted(committed - set(NAMES))}"
    assert set(NAMES) == {*SERVICE_NAMES, "departments"}


@pytest.mark.parametrize("name", NAMES)
def test_document_is_valid_asyncapi_3_0_0(name: str) -> None:
    document = json.loads(document_path(name).read_text(encoding="utf-8"))
    errors = [f"{'/'.join(map(str, error.absolute_path))}: {error.message[:200]}"
              for error in VALIDATOR.iter_errors(document)]
    assert document["asyncapi"] == "3.0.0"
    assert errors == []


def test_the_official_schema_refuses_what_asyncapi_3_refuses() -> None:
    """Guards the validation above: a 2.x verb, a 2.x parameter schema, a Kafka binding out of range."""
    verb, parameter, binding = (copy.deepcopy(DOCUMENTS["routing"]) for _ in range(3))
    verb["operations"]["send.records.routed.v1"]["action"] = "publish"
    parameter["components"]["parameters"]["department_code"]["schema"] = {"type": "string"}
    binding["channels"]["records.routed.v1"]["bindings"]["kafka"]["partitions"] = 0
    for broken in (verb, parameter, binding):
        assert list(VALIDATOR.iter_errors(broken)), "the official schema accepted a broken document"


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_every_topic_the_service_uses_is_a_channel_with_its_operation(service: str) -> None:
    use, document = service_uses()[service], DOCUMENTS[service]
    receives = use.reads | use.read_families
    sends = use.writes | use.write_families | {family_dead_letter(name) for name in receives}
    assert operations_of(document) == ({("receive", name) for name in receives}
                                       | {("send", name) for name in sends})
    assert {channel["address"] for channel in document["channels"].values()} == receives | sends


@pytest.mark.parametrize("name", NAMES)
def test_each_channel_carries_every_registered_event_of_its_topic(name: str) -> None:
    for channel in DOCUMENTS[name]["channels"].values():
        address = channel["address"]
        if address.endswith(topics.DEAD_LETTER_SUFFIX):
            assert set(channel["messages"]) == {DEAD_LETTER}, address
            continue
        topic = address.format(department_code=A_DEPARTMENT)
        expected = {message_id(model) for model in models_for_topic(topic)}
        assert expected, f"nothing registered travels on {address}"
        assert set(channel["messages"]) == expected, address


def test_every_registered_event_but_the_retired_assignment_is_in_some_document() -> None:
    documented = {key for document in DOCUMENTS.values() for key in document["components"]["messages"]}
    retired = {message_id(model) for model in REGISTRY
               if model.topic == topics.DEPARTMENT_TOPIC_V1_MARKER}
    assert documented - {DEAD_LETTER} == {message_id(model) for model in REGISTRY} - retired


@pytest.mark.parametrize("name", NAMES)
def test_payloads_are_the_latest_committed_schemas(name: str) -> None:
    history = load_history()
    for key, schema in DOCUMENTS[name]["components"]["schemas"].items():
        model = next(model for model in REGISTRY if message_id(model) == key)
        revisions = history[model.event_type][model.schema_version]
        committed = {k: v for k, v in revisions[max(revisions)].items() if k not in ("$schema", "$id")}
        back = json.dumps(schema, sort_keys=True).replace(f"#/components/schemas/{key}/$defs/", "#/$defs/")
        assert back == json.dumps(committed, sort_keys=True), key


@pytest.mark.parametrize("name", NAMES)
def test_family_channels_take_a_department_code_of_the_contracts_pattern(name: str) -> None:
    document = DOCUMENTS[name]
    families = [c for c in document["channels"].values() if "{" in c["address"]]
    assert families or name in ("intake", "sla_monitor", "notifier")
    for channel in families:
        assert re.findall(r"\{(\w+)\}", channel["address"]) == ["department_code"]
        assert channel["parameters"] == {
            "department_code": {"$ref": "#/components/parameters/department_code"}}
        base = channel["address"].removesuffix(topics.DEAD_LETTER_SUFFIX)
        assert re.fullmatch(topics.family_pattern(base), base.format(department_code=A_DEPARTMENT))
    if families:
        parameter = document["components"]["parameters"]["department_code"]
        assert parameter["x-pattern"] == topics.DEPARTMENT_CODE_PATTERN
        assert all(re.fullmatch(topics.DEPARTMENT_CODE_PATTERN, code) for code in parameter["examples"])


def test_the_departments_document_is_what_their_broker_grants_allow() -> None:
    grants = department_grants(A_DEPARTMENT)
    allowed = {("receive" if g.operation == "read" else "send", g.name)
               for g in grants if g.resource == "topic" and g.operation in ("read", "write")}
    documented = {(action, address.format(department_code=A_DEPARTMENT))
                  for action, address in operations_of(DOCUMENTS["departments"])}
    assert documented == allowed


def _documented(model: type[EventPayload]) -> dict[str, Any]:
    return next(document for document in DOCUMENTS.values()
                if message_id(model) in document["components"]["messages"])


@pytest.mark.parametrize("payload", [p for p in sample_payloads()
                                     if p.topic != topics.DEPARTMENT_TOPIC_V1_MARKER],
                         ids=lambda payload: payload.event_type)
def test_every_sample_event_as_encoded_fits_its_message(payload: EventPayload) -> None:
    document, key = _documented(type(payload)), message_id(type(payload))
    message = encode(sample_envelope(payload))
    headers = message.header_map()
    header_errors = list(validator(document, f"/components/messages/{key}/headers").iter_errors(headers))
    assert header_errors == []
    assert set(headers) <= set(document["components"]["messages"][key]["headers"]["properties"])
    payload_errors = list(validator(document, f"/components/schemas/{key}").iter_errors(
        json.loads(message.value)))
    assert payload_errors == []
    key_schema = document["components"]["messages"][key]["bindings"]["kafka"]["key"]
    assert re.fullmatch(key_schema["pattern"], message.key.decode())


def test_a_message_off_its_headers_or_schema_does_not_fit() -> None:
    payload = sample_payloads()[0]
    document, key = _documented(type(payload)), message_id(type(payload))
    headers = encode(sample_envelope(payload)).header_map()
    headers.pop("ce_id")
    headers["ce_schemaversion"] = "9"
    assert len(list(validator(document, f"/components/messages/{key}/headers").iter_errors(headers))) == 2
    assert list(validator(document, f"/components/schemas/{key}").iter_errors({"record_code": 7}))
