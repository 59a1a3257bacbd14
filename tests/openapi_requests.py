"""Hypothesis strategies for HTTP requests made from a service's own OpenAPI document.

Each request is drawn for one operation: its path and query parameters from their schemas (or
any text), its body from the body schema, from a known-good body with one part replaced by
anything, or from raw bytes under any content type. Most are wrong in some way, which is the
point: whatever a client sends must get a 2xx or a 4xx problem, never a 5xx.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

from services.runtime.problems import CHASSIS_PATHS

AWKWARD = st.one_of(
    st.sampled_from([2**63, -(2**63) - 1, 2**64, 10**30, -(10**30), 1e308, -0.0]),
    st.sampled_from(["x" * 5000, "\ud800", "\x00", "a\u0000b", "", " ", "\u200b"]),
    st.sampled_from(["<script>alert(1)</script>", "Bcc: a@b.c\r\nX: y", "{{ 7*7 }}", "$where", "a.b"]))
"""Values that have broken services before: past BSON's 64-bit integers, over-long text, a lone
surrogate (no UTF-8 for it), NUL, markup and header injection, empty and invisible text."""
JSON_SCALARS = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40)
                | AWKWARD)
ANY_JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12)
HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60)
CONTENT_TYPES = st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded",
                                 "application/problem+json", "application/json; charset=utf-8", ""])


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    """The template, e.g. `/records/{code}`: what statuses are counted under."""
    parameters: tuple[dict[str, Any], ...]
    body_schema: dict[str, Any] | None
    documented: frozenset[int]

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"


@dataclass
class Request:
    operation: Operation
    url: str
    params: dict[str, str]
    headers: dict[str, str]
    content: bytes | None
    repeat: bool = False
    """Send it twice: a retry must give the same answer (or a documented replay)."""


@dataclass
class Seeds:
    """Values worth trying for named parameters and bodies (known records, a valid body)."""

    parameters: dict[str, list[str]] = field(default_factory=dict)
    bodies: dict[str, Callable[[random.Random], Any]] = field(default_factory=dict)
    """By `METHOD path`: a function giving a valid body (its variety drawn from the Random)."""
    headers: dict[str, st.SearchStrategy[dict[str, str]]] = field(default_factory=dict)


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values of the JSON Schema subset pydantic writes (types, bounds, patterns, enums, anyOf,
    objects with required properties): mostly valid, so requests get past the first check."""
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "anyOf" in schema or "oneOf" in schema:
        options: list[dict[str, Any]] = schema.get("anyOf") or schema.get("oneOf") or []
        return st.one_of(*(from_schema(option) for option in options))
    kind = schema.get("type")
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(schema.get("minimum"), schema.get("maximum"))
    if kind == "number":
        return st.floats(schema.get("minimum"), schema.get("maximum"), allow_nan=False, allow_infinity=False)
    if kind == "string":
        low, high = schema.get("minLength", 0), schema.get("maxLength")
        if "pattern" in schema:
            text = st.from_regex(schema["pattern"], fullmatch=True)
            return text.filter(lambda t: low <= len(t) <= (high if high is not None else len(t)))
        if schema.get("format") == "date":
            return st.dates().map(str)
        return st.text(min_size=low, max_size=min(high if high is not None else 60, 60))
    if kind == "array":
        items = from_schema(schema.get("items", {}))
        return st.lists(items, min_size=schema.get("minItems", 0), max_size=min(schema.get("maxItems", 4), 4))
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        required = set(schema.get("required", ()))
        extra = schema.get("additionalProperties")
        return st.fixed_dictionaries(
            {name: from_schema(sub) for name, sub in properties.items() if name in required},
            optional={name: from_schema(sub) for name, sub in properties.items() if name not in required}
        ).flatmap(lambda fixed: st.dictionaries(
            st.text(max_size=12), from_schema(extra), max_size=3).map(lambda more: {**more, **fixed})
            if isinstance(extra, dict) else st.just(fixed))
    return ANY_JSON


def inline_refs(schema: Any, components: dict[str, Any], depth: int = 0) -> Any:
    """The schema with every `#/components/schemas/...` reference replaced by its target."""
    if depth > 20:
        return {}
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            target = components[ref.rsplit("/", 1)[1]]
            merged = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
            return inline_refs(merged, components, depth + 1)
        return {key: inline_refs(value, components, depth + 1) for key, value in schema.items()
                if key not in ("discriminator", "examples", "example")}
    if isinstance(schema, list):
        return [inline_refs(item, components, depth + 1) for item in schema]
    return schema


def operations(document: dict[str, Any], skip: Sequence[str] = CHASSIS_PATHS) -> list[Operation]:
    components = document.get("components", {}).get("schemas", {})
    found = []
    for path, entries in document["paths"].items():
        if path.startswith(tuple(skip)):
            continue
        for method, entry in entries.items():
            body = (entry.get("requestBody") or {}).get("content", {}).get("application/json")
            found.append(Operation(
                method=method.upper(), path=path,
                parameters=tuple(inline_refs(p, components) for p in entry.get("parameters", [])),
                body_schema=inline_refs(body["schema"], components) if body else None,
                documented=frozenset(int(s) for s in entry["responses"] if s.isdigit())))
    return found


def _parameter(spec: dict[str, Any], seeds: Seeds) -> st.SearchStrategy[str | None]:
    schema = spec.get("schema", {})
    choices: list[st.SearchStrategy[str | None]] = [HEADER_TEXT] if spec["in"] == "header" else [
        from_schema(schema).map(_as_text), HEADER_TEXT, st.text(max_size=80)]
    if spec["name"] in seeds.parameters:
        choices.insert(0, st.sampled_from(seeds.parameters[spec["name"]]))
    if not spec.get("required", False):
        choices.append(st.none())
    return st.one_of(*choices)


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value: the value itself, each member and item, recursively."""
    found = [prefix]
    if isinstance(value, dict):
        for key, member in value.items():
            found += _paths(member, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _changed(value: Any, path: tuple[Any, ...], change: Callable[[Any], Any]) -> Any:
    if not path:
        return change(value)
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _changed(value[head], rest, change)}
    return [*value[:head], _changed(value[head], rest, change), *value[head + 1:]]


def _without(parent: Any, key: Any) -> Any:
    if isinstance(parent, dict):
        return {k: v for k, v in parent.items() if k != key}
    return [v for i, v in enumerate(parent) if i != key]


def _with(target: Any, name: str, new: Any) -> Any:
    if isinstance(target, dict):
        return {**target, name: new}
    return [*target, new] if isinstance(target, list) else new


def _replaced(_: Any, new: Any) -> Any:
    return new


def mutated(body: Any, data: st.DataObject, times: int = 1) -> Any:
    """`body` with `times` places changed: replaced by an awkward or any JSON value, removed, or
    given an extra member. Once is what finds most: the rest of the body stays valid, so the
    change reaches the code past validation."""
    for _ in range(times):
        path = data.draw(st.sampled_from(_paths(body)))
        how = data.draw(st.sampled_from(["replace", "replace", "remove", "add"]))
        new = data.draw(st.one_of(AWKWARD, AWKWARD, ANY_JSON))
        if how == "remove" and path:
            body = _changed(body, path[:-1], partial(_without, key=path[-1]))
        elif how == "add":
            body = _changed(body, path, partial(_with, name=data.draw(st.text(max_size=12)), new=new))
        else:
            body = _changed(body, path, partial(_replaced, new=new))
    return body


def body_kinds(operation: Operation, seeds: Seeds) -> list[str]:
    """How a body may be made for `operation`: from its schema, any JSON, raw bytes under any
    content type, JSON under a content type that is not JSON, too large, and (with a seed)
    valid or a valid one changed."""
    if operation.method not in ("POST", "PUT", "PATCH"):
        return []
    seeded = seeds.bodies.get(operation.name) is not None
    kinds = ["schema", "any-json", "raw", "wrong-type", "too-large"]
    return kinds + (["valid", "mutated", "mutated-once"] if seeded else [])


def _body(operation: Operation, seeds: Seeds, data: st.DataObject, max_bytes: int, kind: str | None
          ) -> tuple[bytes | None, str | None]:
    valid = seeds.bodies.get(operation.name)
    if kind is None:
        kinds = body_kinds(operation, seeds)
        kind = data.draw(st.sampled_from(kinds + ["mutated-once"] * 4 if valid else kinds))
    content_type: str | None = "application/json"
    if kind == "raw":
        return data.draw(st.binary(max_size=200)), data.draw(st.just("application/json") | CONTENT_TYPES)
    if kind == "wrong-type":  # each forced example meets the media-type check (415)
        text = json.dumps(data.draw(ANY_JSON), ensure_ascii=False)
        return text.encode("utf-8", "surrogatepass"), data.draw(st.sampled_from(
            ["text/plain", "application/x-www-form-urlencoded", "application/xml"]))
    if kind == "too-large":
        return b"[" + b"0," * (max_bytes // 2) + b"0]", content_type
    if kind == "schema" and operation.body_schema is not None:
        value = data.draw(from_schema(operation.body_schema))
    elif kind == "valid" and valid:
        value = valid(data.draw(st.randoms(use_true_random=False)))
    elif kind.startswith("mutated") and valid:
        value = mutated(valid(data.draw(st.randoms(use_true_random=False))), data,
                        times=1 if kind == "mutated-once" else data.draw(st.integers(2, 4)))
    else:
        value = data.draw(ANY_JSON)
    # A lone surrogate is sent escaped (valid JSON) or as raw bytes (not UTF-8): both must be answered.
    text = json.dumps(value, ensure_ascii=data.draw(st.booleans()))
    return text.encode("utf-8", "surrogatepass"), content_type


def request(operation: Operation, seeds: Seeds, data: st.DataObject, max_bytes: int,
            kind: str | None = None) -> Request:
    """A request for `operation`; its body of the given kind (see `body_kinds`), else any."""
    url = operation.path
    params: dict[str, str] = {}
    headers: dict[str, str] = {}
    for spec in operation.parameters:
        value = data.draw(_parameter(spec, seeds))
        if spec["in"] == "path":
            url = url.replace("{" + spec["name"] + "}", quote(value or "x", safe=""))
        elif value is None:
            continue
        elif spec["in"] == "query":
            params[spec["name"]] = value
        elif spec["in"] == "header":
            headers[spec["name"]] = value
    extra = seeds.headers.get(f"{operation.method} {operation.path}")
    if extra is not None:
        headers.update(data.draw(extra))
    content = None
    if operation.method in ("POST", "PUT", "PATCH"):
        content, content_type = _body(operation, seeds, data, max_bytes, kind)
        if content_type:
            headers["Content-Type"] = content_type
    return Request(operation, url, params, headers, content, repeat=data.draw(st.booleans()))
