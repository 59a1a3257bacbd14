"""Dead letters as the console names them (`service|letter`) and the commands on them: one
place for the page and the command line."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .backends import Backend

ACTIONS = {"replay": "/dead-letters/replay", "discard": "/dead-letters/discard"}
DECIDED = ("replay-requested", "discarded")
"""The outcomes of a letter the command acted on (the others: already decided, or unknown)."""


def shown_id(service: str, letter_id: str) -> str:
    return f"{service}|{letter_id}"


def by_service(ids: Iterable[str]) -> dict[str, list[str]]:
    """`service|letter` ids grouped by the service that holds the letters."""
    chosen: dict[str, list[str]] = {}
    for value in ids:
        service, _, letter_id = value.partition("|")
        chosen.setdefault(service, []).append(letter_id)
    return chosen


async def command(backend: Backend, token: str, action: str, ids: list[str],
                  note: str | None) -> list[dict[str, Any]]:
    """Replay or discard letters of one service; each letter's decision."""
    note = (note or "").strip()
    answer = await backend.call("POST", ACTIONS[action], token,
                                json={"ids": ids, **({"note": note} if note else {})})
    decisions: list[dict[str, Any]] = answer["decisions"]
    return decisions
