"""Whether a new JSON Schema still reads everything an older one described (our compatibility rule).

Within a major version the new schema must accept every document the old one accepted, and it
must keep every field: no field removed or renamed, no type or constraint narrowed, no field newly
required. Adding an optional field, widening a type or an enum, and relaxing a bound are allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Schema = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Incompatibility:
    """One breaking difference: where (``$.applicant.email``) and what."""

    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


def check_backward_compatible(old: Schema, new: Schema) -> list[Incompatibility]:
    """The ways ``new`` breaks readers or data of ``old``; empty when ``new`` is compatible."""
    return _Comparison(old, new).node(old, new, "$", frozenset())


_ANY_KEYWORDS = ("type", "enum", "const", "properties", "items", "anyOf", "oneOf", "allOf", "$ref")
# Bounds where a larger new value is narrower, and where a smaller one is.
_LOWER_BOUNDS = ("minLength", "minimum", "exclusiveMinimum", "minItems", "minProperties")
_UPPER_BOUNDS = ("maxLength", "maximum", "exclusiveMaximum", "maxItems", "maxProperties")
_EXACT = ("pattern", "format", "multipleOf", "contentEncoding", "contentMediaType")


class _Comparison:
    def __init__(self, old_root: Schema, new_root: Schema) -> None:
        self._roots = (old_root, new_root)

    def node(
        self, old: Schema, new: Schema, path: str, seen: frozenset[tuple[str, str]]
    ) -> list[Incompatibility]:
        old_ref, new_ref = old.get("$ref"), new.get("$ref")
        if isinstance(old_ref, str) or isinstance(new_ref, str):
            pair = (str(old_ref), str(new_ref))
            if pair in seen:  # a recursive definition already being compared on this path
                return []
            seen = seen | {pair}
        try:
            old_resolved = self._resolve(old, 0)
            new_resolved = self._resolve(new, 1)
        except LookupError as error:
            return [Incompatibility(path, str(error))]
        issues = self._default(old_resolved, new_resolved, path)
        old_branches = self._branches(old_resolved, 0)
        new_branches = self._branches(new_resolved, 1)
        for old_branch in old_branches:
            issues += self._branch(old_branch, new_branches, len(old_branches) > 1, path, seen)
        return issues

    def _resolve(self, node: Schema, side: int) -> Schema:
        """Follow ``$ref`` (local pointers only) until a schema without one."""
        hops = 0
        while isinstance(node.get("$ref"), str):
            ref: str = node["$ref"]
            if not ref.startswith("#/") or hops > 32:
                raise LookupError(f"cannot resolve $ref {ref!r}")
            target: Any = self._roots[side]
            for part in ref[2:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                if not isinstance(target, Mapping) or part not in target:
                    raise LookupError(f"cannot resolve $ref {ref!r}")
                target = target[part]
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            node = {**target, **siblings}
            hops += 1
        return node

    def _branches(self, node: Schema, side: int) -> list[Schema]:
        """The alternatives a node accepts: anyOf/oneOf branches, one per listed type."""
        for keyword in ("anyOf", "oneOf"):
            if isinstance(node.get(keyword), list):
                result: list[Schema] = []
                for branch in node[keyword]:
                    result += self._branches(self._resolve(branch, side), side)
                return result
        if isinstance(node.get("allOf"), list) and len(node["allOf"]) == 1:
            merged = {k: v for k, v in node.items() if k != "allOf"}
            return self._branches({**self._resolve(node["allOf"][0], side), **merged}, side)
        types = node.get("type")
        if isinstance(types, list):
            return [{**node, "type": single} for single in types]
        return [node]

    def _branch(
        self,
        old: Schema,
        new_branches: list[Schema],
        in_union: bool,
        path: str,
        seen: frozenset[tuple[str, str]],
    ) -> list[Incompatibility]:
        old_type = _type_of(old)
        candidates = [new for new in new_branches if _accepts_type(new, old_type)]
        if not candidates:
            if old_type == "null":
                return [Incompatibility(path, "null is no longer allowed")]
            new_types = sorted({_type_of(new) or "any" for new in new_branches})
            if in_union:
                return [Incompatibility(path, f"anyOf branch of type {old_type} removed")]
            return [
                Incompatibility(
                    path, f"type narrowed from {old_type or 'any'} to {' | '.join(new_types)}"
                )
            ]
        best: list[Incompatibility] | None = None
        for new in candidates:
            issues = self._same_kind(old, new, path, seen)
            if not issues:
                return []
            best = issues if best is None else best
        return best or []

    def _same_kind(
        self, old: Schema, new: Schema, path: str, seen: frozenset[tuple[str, str]]
    ) -> list[Incompatibility]:
        if _is_any(new):
            return []
        if _is_any(old):
            return [Incompatibility(path, "accepted any value, now constrained")]
        issues = _enum(old, new, path) + _bounds(old, new, path)
        if _type_of(old) == "object" or "properties" in old:
            issues += self._object(old, new, path, seen)
        if _type_of(old) == "array" or "items" in old:
            issues += self._array(old, new, path, seen)
        return issues

    def _object(
        self, old: Schema, new: Schema, path: str, seen: frozenset[tuple[str, str]]
    ) -> list[Incompatibility]:
        issues: list[Incompatibility] = []
        old_props: Mapping[str, Schema] = old.get("properties", {})
        new_props: Mapping[str, Schema] = new.get("properties", {})
        old_required = set(old.get("required", []))
        added = sorted(set(new_props) - set(old_props))
        for name, old_prop in old_props.items():
            field_path = f"{path}.{name}"
            if name not in new_props:
                hint = f" (renamed to one of: {', '.join(added)}?)" if added else ""
                issues.append(Incompatibility(field_path, f"field removed{hint}"))
                continue
            issues += self.node(old_prop, new_props[name], field_path, seen)
        for name in new.get("required", []):
            if name in old_required:
                continue
            problem = "optional field made required" if name in old_props else "new required field"
            issues.append(Incompatibility(f"{path}.{name}", problem))
        return issues + self._additional(old, new, path, seen)

    def _additional(
        self, old: Schema, new: Schema, path: str, seen: frozenset[tuple[str, str]]
    ) -> list[Incompatibility]:
        """Extra keys: closing an open object, or narrowing a map's values, breaks old data."""
        old_extra, new_extra = old.get("additionalProperties"), new.get("additionalProperties")
        if new_extra is None or new_extra is True or new_extra == old_extra:
            return []
        if new_extra is False:
            return [Incompatibility(path, "object closed (additionalProperties: false)")]
        if isinstance(old_extra, Mapping) and isinstance(new_extra, Mapping):
            return self.node(old_extra, new_extra, f"{path}.*", seen)
        if old_extra is False:
            return []
        return [Incompatibility(f"{path}.*", "values of extra keys now constrained")]

    def _array(
        self, old: Schema, new: Schema, path: str, seen: frozenset[tuple[str, str]]
    ) -> list[Incompatibility]:
        old_items, new_items = old.get("items"), new.get("items")
        issues: list[Incompatibility] = []
        if isinstance(old_items, Mapping) and isinstance(new_items, Mapping):
            issues += self.node(old_items, new_items, f"{path}[]", seen)
        elif isinstance(new_items, Mapping) and not _is_any(new_items):
            issues.append(Incompatibility(f"{path}[]", "array items constrained"))
        if new.get("uniqueItems") is True and old.get("uniqueItems") is not True:
            issues.append(Incompatibility(path, "items must now be unique"))
        return issues

    @staticmethod
    def _default(old: Schema, new: Schema, path: str) -> list[Incompatibility]:
        if "default" in old and "default" in new and old["default"] != new["default"]:
            return [
                Incompatibility(
                    path, f"default changed from {old['default']!r} to {new['default']!r}"
                )
            ]
        return []


def _type_of(node: Schema) -> str | None:
    """The single JSON type a branch stands for, inferred from enum/const or shape if unstated."""
    declared = node.get("type")
    if isinstance(declared, str):
        return declared
    values = _enum_values(node)
    if values:
        kinds = {_json_type(value) for value in values}
        return kinds.pop() if len(kinds) == 1 else None
    if "properties" in node:
        return "object"
    if "items" in node:
        return "array"
    return None


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _is_any(node: Schema) -> bool:
    return not any(keyword in node for keyword in _ANY_KEYWORDS)


def _accepts_type(new: Schema, old_type: str | None) -> bool:
    new_type = _type_of(new)
    if new_type is None:
        return _is_any(new) or old_type is None
    return new_type == old_type or (new_type == "number" and old_type == "integer")


def _enum_values(node: Schema) -> list[Any] | None:
    if "const" in node:
        return [node["const"]]
    values = node.get("enum")
    return list(values) if isinstance(values, list) else None


def _enum(old: Schema, new: Schema, path: str) -> list[Incompatibility]:
    new_values = _enum_values(new)
    if new_values is None:
        return []
    old_values = _enum_values(old)
    if old_values is None:
        return [Incompatibility(path, "values now restricted to an enum")]
    removed = [value for value in old_values if value not in new_values]
    if removed:
        listed = ", ".join(repr(value) for value in removed)
        return [Incompatibility(path, f"enum values removed: {listed}")]
    return []


def _bounds(old: Schema, new: Schema, path: str) -> list[Incompatibility]:
    issues: list[Incompatibility] = []
    for keyword in _LOWER_BOUNDS:
        if keyword in new and (keyword not in old or new[keyword] > old[keyword]):
            issues.append(Incompatibility(path, f"{keyword} tightened to {new[keyword]!r}"))
    for keyword in _UPPER_BOUNDS:
        if keyword in new and (keyword not in old or new[keyword] < old[keyword]):
            issues.append(Incompatibility(path, f"{keyword} tightened to {new[keyword]!r}"))
    for keyword in _EXACT:
        if keyword in new and new.get(keyword) != old.get(keyword):
            issues.append(Incompatibility(path, f"{keyword} changed to {new[keyword]!r}"))
    return issues
