"""Keeps the committed JSON Schemas in step with the models: a small schema registry in the repo.

Layout: ``contracts/schemas/<event type>/v<major>.<revision>.json``; every revision is kept and
the highest is current. A changed model gets a new revision only if it is backward compatible
with every earlier revision of its major version.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contracts.compat import check_backward_compatible
from contracts.payload import EventPayload
from contracts.registry import REGISTRY

SCHEMA_ROOT = Path(__file__).parent / "schemas"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_FILE_NAME = re.compile(r"^v(?P<major>[0-9]+)\.(?P<revision>[0-9]+)\.json$")

Schema = dict[str, Any]
History = dict[str, dict[int, dict[int, Schema]]]
"""Committed schemas: event type → major → revision → schema."""


def json_schema(model: type[EventPayload]) -> Schema:
    """The JSON Schema of one payload class, as committed."""
    schema = {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": model.dataschema(),
        **model.model_json_schema(mode="validation"),
        "title": model.__name__,
    }
    normalized: Schema = json.loads(render(schema))  # as it reads back from the file
    return normalized


def render(schema: Mapping[str, Any]) -> str:
    """Deterministic text: sorted keys, two-space indent, trailing newline."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def file_name(major: int, revision: int) -> str:
    return f"v{major}.{revision}.json"


def load_history(root: Path = SCHEMA_ROOT) -> History:
    """Every committed schema under ``root`` (files that do not fit the layout are ignored)."""
    history: History = {}
    if not root.is_dir():
        return history
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("_")):
        for path in sorted(folder.glob("*.json")):
            match = _FILE_NAME.fullmatch(path.name)
            if match is None:
                continue
            major, revision = int(match["major"]), int(match["revision"])
            schema = json.loads(path.read_text(encoding="utf-8"))
            history.setdefault(folder.name, {}).setdefault(major, {})[revision] = schema
    return history


@dataclass(frozen=True, slots=True)
class Plan:
    """What the generator would do: files to write, notes, and errors that block it."""

    writes: list[tuple[str, Schema]] = field(default_factory=list)
    """(path relative to the schema root, schema)."""
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def plan(models: Iterable[type[EventPayload]], history: History) -> Plan:
    """Compare each model with its committed history and decide; pure, no I/O."""
    result = Plan()
    expected: set[tuple[str, int]] = set()
    for model in models:
        event_type, major = model.event_type, model.schema_version
        expected.add((event_type, major))
        current = json_schema(model)
        revisions = history.get(event_type, {}).get(major, {})
        target = f"{event_type}/"
        if not revisions:
            result.writes.append((target + file_name(major, 0), current))
            result.notes.append(f"{event_type} v{major}: new, writing {file_name(major, 0)}")
            continue
        latest = max(revisions)
        if revisions[latest] == current:
            continue
        problems = [
            f"{event_type} v{major}: not backward compatible with {file_name(major, rev)}: {issue}"
            for rev in sorted(revisions)
            for issue in check_backward_compatible(revisions[rev], current)
        ]
        if problems:
            result.errors.extend(problems)
            continue
        name = file_name(major, latest + 1)
        result.writes.append((target + name, current))
        result.notes.append(f"{event_type} v{major}: compatible change, writing {name}")
    for event_type, majors in sorted(history.items()):
        for major in sorted(majors):
            if (event_type, major) not in expected:
                result.errors.append(
                    f"{event_type} v{major}: committed schemas have no registered model"
                )
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m contracts.schemas",
        description="Regenerate the committed JSON Schemas of all registered events.",
    )
    parser.add_argument("--check", action="store_true", help="report only; exit 1 if stale")
    parser.add_argument("--root", type=Path, default=SCHEMA_ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    root: Path = args.root
    result = plan(REGISTRY, load_history(root))
    for error in result.errors:
        print(f"error: {error}", file=sys.stderr)
    if args.check:
        for relative, _ in result.writes:
            print(f"stale: would write {relative}; run `python -m contracts.schemas`")
        return 1 if result.errors or result.writes else 0
    if result.errors:
        print("error: nothing written; fix the model or start a new major version", file=sys.stderr)
        return 1
    for relative, schema in result.writes:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(schema), encoding="utf-8")
    for note in result.notes:
        print(note)
    if not result.writes:
        print(f"{len(REGISTRY)} event schemas up to date")
    return 0
