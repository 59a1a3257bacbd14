"""Every service's dead letters over HTTP, for operators: what was refused and why, per topic;
replay after a fix, or discard with a reason. Each command is kept in the dead letter's history
with the operator's name (the audit)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from .auth import Principal, requires
from .dead_letters import DeadLetter, DeadLetterBox, Decision, Outcome, Replayer, State, Step

Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]
_OPERATORS = requires("operator", "admin")
LetterId = Annotated[str, StringConstraints(min_length=1, max_length=600)]


class HistoryStep(BaseModel):
    action: str
    at: datetime
    by: str | None
    note: str | None


class DeadLetterView(BaseModel):
    """A refused message without its content: where it was, why, its headers, what was done."""

    id: str
    topic: str
    partition: int
    offset: int
    group: str
    reason: str
    detail: str
    failed_at: datetime
    state: State
    record: str | None
    event_type: str | None
    event_id: str | None
    headers: list[tuple[str, str]]
    size_bytes: int
    history: list[HistoryStep]


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
    dead_letters: list[DeadLetterView]


class Replay(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[LetterId] = Field(min_length=1, max_length=500)
    note: Note | None = Field(None, description="what was fixed: kept in the audit")


class Discard(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[LetterId] = Field(min_length=1, max_length=500)
    note: Note = Field(description="why it is given up: kept in the audit")


class DecisionView(BaseModel):
    id: str
    outcome: Outcome
    state: State | None


class Decisions(BaseModel):
    decisions: list[DecisionView]


def _view(letter: DeadLetter) -> DeadLetterView:
    return DeadLetterView(
        id=letter.id, topic=letter.topic, partition=letter.partition, offset=letter.offset,
        group=letter.group, reason=letter.reason, detail=letter.detail, failed_at=letter.failed_at,
        state=letter.state, record=letter.record, event_type=letter.event_type,
        event_id=letter.event_id, headers=list(letter.headers), size_bytes=letter.size_bytes,
        history=[_step(step) for step in letter.history])


def _step(step: Step) -> HistoryStep:
    return HistoryStep(action=step.action, at=step.at, by=step.by, note=step.note)


def _answer(decisions: list[Decision]) -> Decisions:
    """Each dead letter's own outcome: a command on many decides each one apart (one already
    decided, or unknown, leaves the others decided)."""
    return Decisions(decisions=[DecisionView(id=d.id, outcome=d.outcome, state=d.state)
                                for d in decisions])


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
            dead_letters=[_view(letter) for letter in await box.listing(topic, state, limit)])

    @routes.post("/replay")
    async def replay(body: Replay, who: Annotated[Principal, Depends(_OPERATORS)]) -> Decisions:
        """Run waiting dead letters again through the consumer that refused them (in the
        background: each becomes `replayed`, or `waiting` again with the new reason)."""
        decisions = await box.request_replay(body.ids, who.subject, body.note)
        replayer.wake()
        return _answer(decisions)

    @routes.post("/discard")
    async def discard(body: Discard, who: Annotated[Principal, Depends(_OPERATORS)]) -> Decisions:
        """Give waiting dead letters up, with the reason."""
        return _answer(await box.discard(body.ids, who.subject, body.note))

    return routes
