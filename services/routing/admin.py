"""`python -m services.routing.admin`: check or publish a routing table version, show the current one.

    python -m services.routing.admin show
    python -m services.routing.admin check --shipped 2          # or --file table.json
    python -m services.routing.admin publish --shipped 2 --url http://127.0.0.1:8002

Publishing goes through the running service's admin API, so that the instance that stores the
version also moves the open records of dissolved departments.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import httpx

from .domain.tables import shipped_tables


def _table(args: argparse.Namespace) -> dict[str, object]:
    if args.file:
        loaded: dict[str, object] = json.loads(Path(args.file).read_text(encoding="utf-8"))
        return loaded
    return shipped_tables()[args.shipped - 1].model_dump(mode="json")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.routing.admin", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["show", "check", "publish"])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--file", help="a table version as JSON")
    source.add_argument("--shipped", type=int, choices=[1, 2], help="a shipped table version")
    parser.add_argument("--url", default="http://127.0.0.1:8002", help="the routing service")
    args = parser.parse_args(argv)
    with httpx.Client(base_url=args.url, timeout=3600) as client:
        if args.command == "show":
            response = client.get("/admin/tables/current")
        else:
            if not (args.file or args.shipped):
                parser.error(f"{args.command} needs --file or --shipped")
            path = "/admin/tables/check" if args.command == "check" else "/admin/tables"
            response = client.post(path, json=_table(args))
    print(json.dumps(response.json(), ensure_ascii=False, indent=2))
    return 0 if response.is_success else 1


if __name__ == "__main__":
    sys.exit(main())
