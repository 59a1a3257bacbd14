"""`python -m deploy.asyncapi [--check]`: the committed AsyncAPI documents, regenerated.

Each service's document is the one its app serves at `/asyncapi.json`, from the same offline
composition the ACLs are computed from; the departments' comes from the contracts alone. Here,
not in contracts/, because it composes the services.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from contracts.asyncapi import DOCUMENT_ROOT
from contracts.asyncapi.document import department_document
from contracts.schemagen import load_history, render
from services.runtime.asyncapi import asyncapi_document

from .access.uses import service_apps

COMMAND = "make asyncapi"


def documents() -> dict[str, dict[str, Any]]:
    """Every document by file stem: the four services' and `departments`."""
    found = {name: asyncapi_document(app) for name, app in service_apps().items()}
    found["departments"] = department_document(load_history())
    return found


def stale(root: Path = DOCUMENT_ROOT) -> list[str]:
    """What differs from the committed files: a document changed or missing, or a file left over."""
    wanted = {f"{name}.json": render(document) for name, document in documents().items()}
    problems = [f"{file} {'differs' if (root / file).is_file() else 'is missing'}; run `{COMMAND}`"
                for file, text in sorted(wanted.items())
                if not (root / file).is_file() or (root / file).read_text(encoding="utf-8") != text]
    problems += [f"{path.name} documents nothing generated; remove it"
                 for path in sorted(root.glob("*.json")) if path.name not in wanted]
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.asyncapi",
                                     description="Regenerate contracts/asyncapi/*.json.")
    parser.add_argument("--check", action="store_true", help="report only; exit 1 if stale")
    args = parser.parse_args(argv)
    if args.check:
        problems = stale()
        for problem in problems:
            print(f"stale: {problem}", file=sys.stderr)
        return 1 if problems else 0
    for name, document in documents().items():
        (DOCUMENT_ROOT / f"{name}.json").write_text(render(document), encoding="utf-8")
        print(f"wrote contracts/asyncapi/{name}.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
