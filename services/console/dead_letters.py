"""`python -m services.console.dead_letters`: the console's dead-letter actions for scripts.

It calls the services' own `/dead-letters` APIs with a bearer token (`--token` or MOTCUA_TOKEN),
so each service checks the role and records who replayed or discarded what, as for the page.
The services' addresses are the console's settings (CONSOLE_INTAKE_URL, ...).

    python -m services.console.dead_letters list [--topic T] [--state waiting]
    python -m services.console.dead_letters replay ID... [--note "what was fixed"]
    python -m services.console.dead_letters replay --all --topic T --note "..."
    python -m services.console.dead_letters discard ID... --note "why"

An ID is `service|letter` as `list` prints it. Exit status 0 when every letter asked for was
replayed or discarded, 1 when some were not (already decided, unknown), 2 when refused.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

import httpx

from .backends import Backend, Refused, Unavailable
from .letters import ACTIONS, DECIDED, by_service, command, shown_id
from .settings import service_urls


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m services.console.dead_letters",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--token", default=os.environ.get("MOTCUA_TOKEN", ""),
                        help="an operator's bearer token (default: $MOTCUA_TOKEN)")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="dead letters of every service")
    listing.add_argument("--topic")
    listing.add_argument("--state", default="waiting",
                         choices=["waiting", "replaying", "replayed", "discarded"])
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    for name in ACTIONS:
        action = commands.add_parser(name, help=f"{name} dead letters")
        action.add_argument("ids", nargs="*", metavar="ID", help="service|letter, as listed")
        action.add_argument("--all", action="store_true", help="every waiting one (of --topic)")
        action.add_argument("--topic")
        action.add_argument("--note", required=name == "discard", help="kept in the audit")
    return parser


async def run(args: argparse.Namespace, backends: Sequence[Backend]) -> int:
    if args.command == "list":
        for letter in await _waiting(backends, args.token, args.topic, args.state):
            if args.json:
                print(json.dumps(letter, ensure_ascii=False))
            else:
                print(f"{shown_id(letter['service'], letter['id'])}\t{letter['topic']}\t{letter['reason']}"
                      f"\t{letter['record'] or '-'}\t{letter['failed_at']}")
        return 0
    ids = list(args.ids)
    if args.all:
        ids += [shown_id(d["service"], d["id"]) for d in await _waiting(backends, args.token, args.topic)]
    if not ids:
        print("nothing to do: give IDs or --all", file=sys.stderr)
        return 1
    chosen = by_service(ids)
    by_name = {b.name: b for b in backends}
    unknown = sorted(set(chosen) - set(by_name))
    if unknown:
        print(f"unknown services {unknown}: an ID is service|letter", file=sys.stderr)
        return 2
    decided = True
    for service, letters in chosen.items():
        for decision in await command(by_name[service], args.token, args.command, letters, args.note):
            print(f"{shown_id(service, decision['id'])}\t{decision['outcome']}")
            decided &= decision["outcome"] in DECIDED
    return 0 if decided else 1


async def _waiting(backends: Sequence[Backend], token: str, topic: str | None,
                   state: str = "waiting") -> list[dict[str, Any]]:
    found = []
    for backend in backends:
        params = {"state": state, "limit": 1000, **({"topic": topic} if topic else {})}
        answer = await backend.call("GET", "/dead-letters", token, params=params)
        found += [{"service": backend.name, **letter} for letter in answer["dead_letters"]]
    return found


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if not args.token:
        print("a bearer token is needed: --token or MOTCUA_TOKEN", file=sys.stderr)
        return 2

    async def session() -> int:
        async with httpx.AsyncClient(timeout=30) as client:
            backends = [Backend(name, url, client) for name, url in service_urls().items()]
            try:
                return await run(args, backends)
            except Refused as refusal:
                print(f"refused ({refusal.status}): {refusal}", file=sys.stderr)
                return 2
            except Unavailable as silent:
                print(f"unavailable: {silent}", file=sys.stderr)
                return 2

    return asyncio.run(session())


if __name__ == "__main__":
    sys.exit(main())
