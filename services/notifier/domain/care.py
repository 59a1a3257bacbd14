"""Care for the people told: no floods (rate limit and folding) and no SMS at night.

How the service is meant to use it: intents are queued per recipient (`recipient_key`); a queue is
released `fold_window` after its first intent, or later if the recipient's rate limit says so;
on release it is folded (`fold`) and each resulting message is sent at `send_at`. Intents that
arrive while a recipient waits for a rate-limit slot join the queue and are folded with it.

Folding rule, for one recipient, channel and language:

* formal notices — supplement request (form 02), refusal (form 03), apology (form 04) — always go
  as messages of their own: each carries a reason, a date or a legal meaning of its own;
* the other notices (receipt, routed, result ready, escalations) are gathered into one digest
  listing each one's short line, when there are two or more of them;
* a routing superseded by a later routing of the same record in the same batch is not shown (the
  file is no longer there), but the digest still answers for it, so it is not silently dropped.

A legal deadline beats care: a message with `not_after` (the apology, due by the appointment) is
sent at once rather than held past that instant by the rate limit or quiet hours.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from reference.localtime import local_instant, to_local

from .intents import DeliveryIntent, Digest, Outgoing, digest_id

SUPERSEDED_BY_LATER = frozenset({"routed"})
"""Templates of which only the latest per record is worth showing in one batch."""


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily window on Vietnam's clock in which no SMS goes out; `start == end` disables it.

    Default 22:00-07:00, the window Decree 91/2020/NĐ-CP sets for advertising messages (to check;
    applied here to every SMS out of courtesy).
    """

    start: time = time(22, 0)
    end: time = time(7, 0)

    def contains(self, instant: datetime) -> bool:
        if self.start == self.end:
            return False
        now = to_local(instant).time()
        if self.start < self.end:
            return self.start <= now < self.end
        return now >= self.start or now < self.end

    def next_allowed(self, instant: datetime, not_after: datetime | None = None) -> datetime:
        """`instant` if an SMS may go then, else the end of the quiet window (Vietnam time).

        When waiting would make the message miss `not_after`, `instant` is returned: the deadline
        wins. Once the deadline has passed anyway, the quiet hours apply again.
        """
        if not self.contains(instant):
            return instant
        local = to_local(instant)
        crosses_midnight = self.start > self.end
        day = local.date() + timedelta(days=1) if crosses_midnight and local.time() >= self.start \
            else local.date()
        allowed = local_instant(day, self.end)
        if not_after is not None and instant <= not_after < allowed:
            return instant
        return allowed


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most `max_messages` messages to one recipient in any sliding window of `per`."""

    max_messages: int = 3
    per: timedelta = timedelta(hours=1)

    def __post_init__(self) -> None:
        if self.max_messages < 1 or self.per <= timedelta(0):
            raise ValueError(f"rate limit {self.max_messages} per {self.per}: both must be positive")

    def next_slot(self, sent_at: Iterable[datetime], now: datetime) -> datetime:
        """`now` if under the limit, else when the oldest send in the window leaves it."""
        recent = sorted(t for t in sent_at if now - self.per < t <= now)
        if len(recent) < self.max_messages:
            return now
        return recent[-self.max_messages] + self.per


@dataclass(frozen=True, slots=True)
class CarePolicy:
    """Configuration of care: limits per audience, SMS quiet hours, how long to gather a batch."""

    applicant_limit: RateLimit = field(default_factory=RateLimit)
    supervisor_limit: RateLimit | None = None
    quiet_hours: QuietHours = field(default_factory=QuietHours)
    fold_window: timedelta = timedelta(seconds=60)


def fold(intents: Sequence[DeliveryIntent]) -> tuple[Outgoing, ...]:
    """The messages to send for intents queued together, in order of each message's first intent."""
    groups: dict[tuple[str, str, str], list[DeliveryIntent]] = {}
    seen: set[str] = set()
    for intent in intents:
        if intent.notification_id in seen:
            continue  # the same intent queued twice is one message
        seen.add(intent.notification_id)
        groups.setdefault((intent.channel, intent.recipient_key, intent.language), []).append(intent)
    placed: list[tuple[int, Outgoing]] = []
    order: dict[str, int] = {}
    for index, intent in enumerate(intents):
        order.setdefault(intent.notification_id, index)
    for group in groups.values():
        gathered = [i for i in group if i.foldable]
        placed.extend((order[i.notification_id], i) for i in group if not i.foldable)
        if len(gathered) == 1:
            placed.append((order[gathered[0].notification_id], gathered[0]))
        elif gathered:
            shown = _latest_only(gathered)
            placed.append((order[gathered[0].notification_id],
                           Digest(notification_id=digest_id(gathered), members=tuple(gathered),
                                  shown=shown)))
    return tuple(message for _, message in sorted(placed, key=lambda pair: pair[0]))


def _latest_only(intents: list[DeliveryIntent]) -> tuple[DeliveryIntent, ...]:
    latest: dict[tuple[str, str], DeliveryIntent] = {}
    for intent in intents:
        if intent.template in SUPERSEDED_BY_LATER:
            key = (intent.template, intent.source.record_code)
            kept = latest.get(key)
            if kept is None or intent.source.occurred_at >= kept.source.occurred_at:
                latest[key] = intent
    return tuple(i for i in intents
                 if i.template not in SUPERSEDED_BY_LATER
                 or latest[(i.template, i.source.record_code)] is i)


def send_at(message: Outgoing, now: datetime, sent_at: Iterable[datetime],
            policy: CarePolicy) -> datetime:
    """When `message` may go: after the recipient's rate-limit slot and, for SMS, outside quiet
    hours; at once if waiting would take it past its `not_after`."""
    limit = policy.applicant_limit if message.recipient_role == "applicant" else policy.supervisor_limit
    at = limit.next_slot(sent_at, now) if limit is not None else now
    if message.channel == "sms":
        at = policy.quiet_hours.next_allowed(at)
    deadline = message.not_after
    if deadline is not None and now <= deadline < at:
        return now  # waiting would make it late; once it is late anyway, care applies again
    return at


def release_at(first_queued_at: datetime, policy: CarePolicy) -> datetime:
    """When a recipient's queue is folded: one fold window after its first intent arrived."""
    return first_queued_at + policy.fold_window
