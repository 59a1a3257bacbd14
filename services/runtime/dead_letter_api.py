"""Every service's dead letters over HTTP, for operators: what was refused and why, per topic;
replay after a fix, or discard with a reason. Each command is kept in the dead letter's history
with the operator's name (the audit)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from .auth import Principal, requires
from .dead_letters import DeadLetter, DeadLetterBox, Decision, Replayer, State

Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]
_OPERATORS = requires("operator", "admin")
LetterId = Annotated[str, StringConstraints(min_length=1, max_length=600)]


class TopicCount(BaseModel):
    topic: str
    waiting: int = 0
    replaying: int = 0
    replayed: int = 0
    discarded: int = 0


class Listing(BaseModel):
    service: str
    topics: list[TopicCount]
    """Every topic with dead letters here, whatever the filter."""
    dead_letters: list[DeadLetter]
    """Without their content: where each was, why, its headers, what was done."""


class Replay(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[LetterId] = Field(min_length=1, max_length=500)
    note: Note | None = Field(None, description="what was fixed: kept in the audit")


class Discard(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[LetterId] = Field(min_length=1, max_length=500)
    note: Note = Field(description="why it is given up: kept in the audit")


class Decisions(BaseModel):
    decisions: list[Decision]
    """Each dead letter's own outcome: a command on many decides each one apart (one already
    decided, or unknown, leaves the others decided)."""


def dead_letters_router(box: DeadLetterBox, replayer: Replayer, service: str) -> APIRouter:
    routes = APIRouter(prefix="/dead-letters", tags=["dead letters"])

    @routes.get("", dependencies=[Depends(_OPERATORS)])
    async def listing(topic: Annotated[str | None, Query(max_length=249)] = None,
                      state: State | None = "waiting",
                      limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> Listing:
        """The dead letters of this service, newest first (waiting ones unless asked)."""
        counts = await box.counts()
        return Listing(
            service=service,
            topics=[TopicCount(topic=name, **found) for name, found in sorted(counts.items())],
            dead_letters=await box.listing(topic, state, limit))

    @routes.post("/replay")
    async def replay(body: Replay, who: Annotated[Principal, Depends(_OPERATORS)]) -> Decisions:
        """Run waiting dead letters again through the consumer that refused them (in the
        background: each becomes `replayed`, or `waiting` again with the new reason)."""
        decisions = await box.request_replay(body.ids, who.subject, body.note)
        replayer.wake()
        return Decisions(decisions=decisions)

    @routes.post("/discard")
    async def discard(body: Discard, who: Annotated[Principal, Depends(_OPERATORS)]) -> Decisions:
        """Give waiting dead letters up, with the reason."""
        return Decisions(decisions=await box.discard(body.ids, who.subject, body.note))

    return routes
