"""Outcome events: one per notification, valid against the contract, addresses masked."""

from __future__ import annotations

from contracts.notifications.v1 import NotificationFailed, NotificationSent
from contracts.samples import RECORD_CODE
from services.notifier.domain import Digest, fold, outcomes, plan

from .factories import EMAIL, PHONE, TEMPLATES, directory, envelope, escalation, known, routed, submitted


def test_sent_outcome_names_the_source_and_masks_the_address() -> None:
    intent = plan(envelope(routed(), "evt-7"), known(), directory(), TEMPLATES).intents[0]
    [outcome] = outcomes.sent(intent, attempts=2)
    assert isinstance(outcome, NotificationSent)
    assert (outcome.notification_id, outcome.source_event_id, outcome.record_code) == (
        intent.notification_id, "evt-7", RECORD_CODE)
    assert (outcome.template, outcome.channel, outcome.attempts) == ("routed", "email", 2)
    assert outcome.masked_address == "h***@example.vn"
    assert EMAIL not in outcome.model_dump_json()


def test_a_digest_gives_one_outcome_per_member() -> None:
    receipt = plan(envelope(submitted(preferred="sms")), None, directory(), TEMPLATES).intents[0]
    routing = plan(envelope(routed()), known(preferred="sms"), directory(), TEMPLATES).intents[0]
    [digest] = fold([receipt, routing])
    assert isinstance(digest, Digest)
    sent = outcomes.sent(digest, attempts=1)
    assert [o.notification_id for o in sent] == [receipt.notification_id, routing.notification_id]
    assert [o.source_event_type for o in sent] == ["vn.motcua.record.submitted", "vn.motcua.record.routed"]
    assert {o.masked_address for o in sent} == {"09*****678"}
    failed = outcomes.failed(digest, 5, "transient-exhausted", "http 503")
    assert [(o.reason, o.detail, o.attempts) for o in failed] == [("transient-exhausted", "http 503", 5)] * 2


def test_webhook_outcomes_mask_the_url() -> None:
    hook = next(i for i in plan(envelope(escalation()), None, directory(), TEMPLATES).intents
                if i.channel == "webhook")
    [outcome] = outcomes.failed(hook, 1, "permanent", "http 404")
    assert outcome.masked_address == "https://hooks.nghean.gov.vn/***"
    assert "token" not in outcome.model_dump_json()


def test_planned_failure_becomes_a_permanent_failed_outcome_with_its_reason() -> None:
    failure = plan(envelope(routed()), known(language="fr", preferred="sms"), directory(),
                   TEMPLATES).failures[0]
    outcome = outcomes.planned(failure)
    assert isinstance(outcome, NotificationFailed)
    assert outcome.reason == "permanent"
    assert outcome.detail is not None and outcome.detail.startswith("unknown_language: ")
    assert outcome.masked_address == "09*****678" and PHONE not in outcome.model_dump_json()
    no_contact = outcomes.planned(plan(envelope(routed()), None, directory(), TEMPLATES).failures[0])
    assert no_contact.masked_address == "***"
    assert no_contact.detail is not None and no_contact.detail.startswith("no_contact: ")


def test_empty_detail_is_left_out() -> None:
    intent = plan(envelope(routed()), known(), directory(), TEMPLATES).intents[0]
    assert outcomes.failed(intent, 1, "permanent", "  ")[0].detail is None
