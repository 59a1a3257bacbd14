"""Quiet hours on Vietnam's clock, the per-recipient rate limit, and folding floods into digests."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import pytest

from contracts.envelope import EventPayload
from contracts.samples import DUE_AT, ICT
from services.notifier.domain import (
    CarePolicy,
    DeliveryIntent,
    Digest,
    QuietHours,
    RateLimit,
    fold,
    plan,
    release_at,
    send_at,
)

from .factories import (
    TEMPLATES,
    apology,
    directory,
    envelope,
    escalation,
    known,
    rejected,
    resolved,
    routed,
    submitted,
    supplement,
)

QUIET = QuietHours(start=time(22, 0), end=time(7, 0))


def vn(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 11, day, hour, minute, tzinfo=ICT)


@pytest.mark.parametrize(("at", "expected"), [
    (vn(24, 21, 59), vn(24, 21, 59)),  # before the window: at once
    (vn(24, 22, 0), vn(25, 7, 0)),  # the window starts: next morning
    (vn(24, 23, 30), vn(25, 7, 0)),  # before midnight: next morning
    (vn(25, 0, 0), vn(25, 7, 0)),  # midnight: the same morning
    (vn(25, 6, 59), vn(25, 7, 0)),  # just before the end
    (vn(25, 7, 0), vn(25, 7, 0)),  # the end itself is allowed
    (vn(25, 12, 0), vn(25, 12, 0)),
])
def test_quiet_hours_across_midnight(at: datetime, expected: datetime) -> None:
    assert QUIET.next_allowed(at) == expected


def test_quiet_hours_are_judged_on_vietnam_time_whatever_the_offset_given() -> None:
    utc_afternoon = datetime(2025, 11, 24, 16, 0, tzinfo=UTC)  # 23:00 in Vietnam
    assert QUIET.contains(utc_afternoon)
    assert QUIET.next_allowed(utc_afternoon) == vn(25, 7, 0)
    assert not QUIET.contains(datetime(2025, 11, 24, 14, 0, tzinfo=UTC))  # 21:00 in Vietnam


def test_quiet_hours_within_one_day_and_disabled() -> None:
    lunch = QuietHours(start=time(12, 0), end=time(13, 30))
    assert lunch.next_allowed(vn(24, 12, 15)) == vn(24, 13, 30)
    assert lunch.next_allowed(vn(24, 23, 0)) == vn(24, 23, 0)
    never = QuietHours(start=time(0, 0), end=time(0, 0))
    assert never.next_allowed(vn(24, 3, 0)) == vn(24, 3, 0)


def test_quiet_hours_never_hold_a_message_past_its_deadline() -> None:
    assert QUIET.next_allowed(vn(24, 23, 0), not_after=vn(24, 23, 59)) == vn(24, 23, 0)
    assert QUIET.next_allowed(vn(24, 23, 0), not_after=vn(25, 17, 0)) == vn(25, 7, 0)
    assert QUIET.next_allowed(vn(24, 23, 0), not_after=vn(24, 22, 30)) == vn(25, 7, 0)


def test_rate_limit_is_a_sliding_window() -> None:
    limit = RateLimit(max_messages=3, per=timedelta(hours=1))
    now = vn(24, 10, 0)
    assert limit.next_slot([], now) == now
    two = [vn(24, 9, 30), vn(24, 9, 50)]
    assert limit.next_slot(two, now) == now
    three = [vn(24, 9, 10), *two]
    assert limit.next_slot(three, now) == vn(24, 10, 10)
    old = [vn(24, 8, 0), vn(24, 8, 30), vn(24, 9, 0)]  # out of the window by now
    assert limit.next_slot(old, now) == now
    with pytest.raises(ValueError, match="both must be positive"):
        RateLimit(max_messages=0)


_EVENT_IDS = itertools.count(1)


def intent(event: EventPayload, **contact: str) -> DeliveryIntent:
    """The applicant's intent for `event`, each call a distinct event."""
    return plan(envelope(event, f"evt-{next(_EVENT_IDS)}"), known(**contact), directory(),
                TEMPLATES).intents[0]


def test_receipt_and_routing_arriving_together_fold_into_one_digest() -> None:
    receipt = plan(envelope(submitted()), None, directory(), TEMPLATES).intents[0]
    routing = intent(routed())
    [message] = fold([receipt, routing])
    assert isinstance(message, Digest)
    assert message.members == (receipt, routing) and message.shown == (receipt, routing)
    assert fold([routing, receipt])[0].notification_id == message.notification_id


def test_a_single_notice_is_not_a_digest() -> None:
    routing = intent(routed())
    assert fold([routing]) == (routing,)


def test_formal_notices_are_never_folded() -> None:
    batch = [intent(routed()), intent(supplement()), intent(resolved()), intent(rejected()),
             intent(apology())]
    messages = fold(batch)
    digests = [m for m in messages if isinstance(m, Digest)]
    singles = [m for m in messages if isinstance(m, DeliveryIntent)]
    assert [d.members for d in digests] == [(batch[0], batch[2])]
    assert [s.template for s in singles] == ["supplement_requested", "rejected", "apology"]
    assert [getattr(m, "template", "digest") for m in messages] == [
        "digest", "supplement_requested", "rejected", "apology"]


def test_an_earlier_routing_superseded_by_a_reroute_is_answered_for_but_not_shown() -> None:
    first = plan(envelope(routed(), "evt-a", vn(24, 9, 0)), known(), directory(), TEMPLATES).intents[0]
    second = plan(envelope(routed("rerouted", "SO-TU-PHAP"), "evt-b", vn(24, 9, 5)), known(), directory(),
                  TEMPLATES).intents[0]
    [message] = fold([first, second])
    assert isinstance(message, Digest)
    assert message.members == (first, second) and message.shown == (second,)
    rendered = TEMPLATES.render_outgoing(message)
    assert getattr(rendered, "template", None) == "routed"
    assert "Sở Tư pháp" in getattr(rendered, "text", "")


def test_different_recipients_channels_and_languages_are_not_mixed() -> None:
    by_email = intent(routed())
    by_sms = intent(resolved(), preferred="sms")
    in_english = intent(resolved(), language="en")
    someone_else = intent(resolved(), email="other.person@example.vn")
    messages = fold([by_email, by_sms, in_english, someone_else])
    assert messages == (by_email, by_sms, in_english, someone_else)


def test_the_same_intent_queued_twice_is_sent_once() -> None:
    routing = intent(routed())
    assert fold([routing, routing]) == (routing,)


def test_supervisor_escalations_fold_too() -> None:
    one = plan(envelope(escalation(), "evt-1"), None, directory(), TEMPLATES).intents[0]
    other = plan(envelope(escalation().model_copy(update={"record_code": "000.00.21.H40-251124-0008"}),
                          "evt-2"), None, directory(), TEMPLATES).intents[0]
    [digest] = fold([one, other])
    assert isinstance(digest, Digest) and digest.recipient_role == "department_head"
    rendered = TEMPLATES.render_outgoing(digest)
    assert "000.00.21.H40-251124-0008" in getattr(rendered, "text", "")
    assert "2 cảnh báo" in (getattr(rendered, "subject", "") or "")


def test_send_at_waits_for_the_rate_limit_then_quiet_hours_for_sms() -> None:
    policy = CarePolicy(applicant_limit=RateLimit(2, timedelta(hours=1)), quiet_hours=QUIET)
    sms = intent(resolved(), preferred="sms")
    email = intent(resolved())
    now = vn(24, 21, 30)
    history = [vn(24, 21, 0), vn(24, 21, 20)]
    assert send_at(email, now, history, policy) == vn(24, 22, 0)
    assert send_at(sms, now, history, policy) == vn(25, 7, 0)
    assert send_at(sms, vn(24, 15, 0), [], policy) == vn(24, 15, 0)


def test_supervisors_are_not_rate_limited_by_default() -> None:
    policy = CarePolicy(applicant_limit=RateLimit(1, timedelta(hours=1)))
    head = plan(envelope(escalation()), None, directory(), TEMPLATES).intents[0]
    now = vn(24, 10, 0)
    assert send_at(head, now, [vn(24, 9, 59)] * 5, policy) == now


def test_the_apology_is_sent_at_once_rather_than_after_its_deadline() -> None:
    policy = CarePolicy(applicant_limit=RateLimit(1, timedelta(hours=1)), quiet_hours=QUIET)
    sorry = intent(apology(), preferred="sms")
    assert sorry.not_after == DUE_AT  # 17:00 on 27/11
    now = vn(27, 16, 30)
    sent = [vn(27, 16, 10)]  # the rate limit alone would hold it until 17:10
    assert send_at(sorry, now, sent, policy) == now
    unhurried = replace(sorry, not_after=None)
    assert send_at(unhurried, now, sent, policy) == vn(27, 17, 10)
    at_night = vn(27, 22, 30)  # already past the deadline: waiting no longer makes it late
    assert send_at(sorry, at_night, [], policy) == vn(28, 7, 0)


def test_a_queue_is_released_one_fold_window_after_its_first_intent() -> None:
    policy = CarePolicy(fold_window=timedelta(seconds=90))
    assert release_at(vn(24, 10, 0), policy) == vn(24, 10, 1) + timedelta(seconds=30)
