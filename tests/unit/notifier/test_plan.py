"""Who is told what for each event, and the failures planned instead of exceptions."""

from __future__ import annotations

import json

from contracts.department.v1 import RecordAccepted, ResultReturned
from contracts.samples import DEPARTMENT, DUE_AT, RECORD_CODE, sample_payloads
from contracts.sla.v1 import DeadlineBreached, RecordStuckInRouting
from services.notifier.domain import NOTIFIED_EVENT_TYPES, DeliveryIntent, Plan, Templates, plan

from .factories import (
    APPLICANT_EVENTS,
    DEPARTMENT_NAME,
    EMAIL,
    HEAD_HOOK,
    HEAD_MAILBOX,
    ONE_STOP_MAILBOX,
    PHONE,
    PROVINCIAL_MAILBOX,
    TEMPLATES,
    apology,
    directory,
    envelope,
    escalation,
    known,
    routed,
    submitted,
    supplement,
)


def only_intent(result: Plan) -> tuple[str, str, str]:
    assert not result.failures, result.failures
    assert len(result.intents) == 1
    intent = result.intents[0]
    return intent.template, intent.channel, intent.address


def test_each_applicant_event_gives_its_template_on_the_preferred_channel() -> None:
    for template, event in APPLICANT_EVENTS.items():
        result = plan(envelope(event), known(), directory(), TEMPLATES)
        assert only_intent(result) == (template, "email", EMAIL), template
        assert result.intents[0].recipient_role == "applicant"


def test_receipt_uses_the_submitted_events_own_applicant_without_a_stored_record() -> None:
    result = plan(envelope(submitted(preferred="sms", language="en")), None, directory(), TEMPLATES)
    template, channel, address = only_intent(result)
    assert (template, channel, address) == ("receipt", "sms", PHONE)
    intent = result.intents[0]
    assert intent.language == "en"
    assert intent.context["appointment"] == DUE_AT.isoformat()
    assert intent.context["procedure_name"] == "Đăng ký khai sinh kết hợp nhận cha, mẹ, con"


def test_sms_preference_is_respected_even_when_an_email_is_known() -> None:
    result = plan(envelope(routed()), known(preferred="sms"), directory(), TEMPLATES)
    assert only_intent(result) == ("routed", "sms", PHONE)


def test_routed_context_names_the_department_and_marks_a_reroute() -> None:
    first = plan(envelope(routed()), known(), directory(), TEMPLATES).intents[0]
    again = plan(envelope(routed("rerouted"), "evt-2"), known(), directory(), TEMPLATES).intents[0]
    assert first.context["department"] == DEPARTMENT_NAME
    assert (first.context["rerouted"], again.context["rerouted"]) == (False, True)


def test_unknown_department_code_is_shown_as_the_code() -> None:
    result = plan(envelope(routed(department="SO-XAY-DUNG")), known(), directory(), TEMPLATES)
    assert result.intents[0].context["department"] == "SO-XAY-DUNG"


def test_formal_notices_stand_alone_and_the_apology_must_arrive_by_the_due_time() -> None:
    intents = {name: plan(envelope(event), known(), directory(), TEMPLATES).intents[0]
               for name, event in APPLICANT_EVENTS.items()}
    assert {n for n, i in intents.items() if not i.foldable} == {
        "supplement_requested", "rejected", "apology"}
    assert intents["apology"].not_after == DUE_AT
    assert intents["receipt"].not_after is None


def test_supplement_without_deadline_plans_with_none() -> None:
    result = plan(envelope(supplement(respond_by=None)), known(), directory(), TEMPLATES)
    assert result.intents[0].context["respond_by"] is None
    assert result.intents[0].context["missing"] == ["Bản sao Giấy chứng nhận kết hôn của cha, mẹ"]


def test_escalation_goes_to_the_departments_own_head_on_every_configured_channel() -> None:
    result = plan(envelope(escalation()), None, directory(), TEMPLATES)
    assert not result.failures
    assert {(i.channel, i.address) for i in result.intents} == {
        ("email", HEAD_MAILBOX), ("webhook", HEAD_HOOK)}
    assert {i.recipient_role for i in result.intents} == {"department_head"}
    assert all(i.template == "escalation" for i in result.intents)
    assert result.intents[0].context["lateness_working_days"] == 2


def test_escalation_falls_back_to_the_roles_default_addresses() -> None:
    provincial = plan(envelope(escalation("provincial_supervisor")), None, directory(), TEMPLATES)
    assert [i.address for i in provincial.intents] == [PROVINCIAL_MAILBOX]
    other = plan(envelope(escalation(department="SO-TU-PHAP")), None, directory(), TEMPLATES)
    assert [i.address for i in other.intents] == ["lanhdao.chung@nghean.gov.vn"]


def test_escalation_uses_the_configured_language_of_the_address() -> None:
    result = plan(envelope(escalation("one_stop_office_supervisor", kind="misrouted")), None,
                  directory(), TEMPLATES)
    assert [(i.address, i.language) for i in result.intents] == [(ONE_STOP_MAILBOX, "en")]


def test_events_the_notifier_does_not_tell_give_an_empty_plan() -> None:
    silent = [p for p in sample_payloads() if p.event_type not in NOTIFIED_EVENT_TYPES]
    assert {type(p) for p in silent} >= {ResultReturned, RecordAccepted, DeadlineBreached,
                                          RecordStuckInRouting}
    for payload in silent:
        assert plan(envelope(payload), known(), directory(), TEMPLATES).is_empty, payload.event_type


def test_every_notified_sample_event_plans_something() -> None:
    told = [p for p in sample_payloads() if p.event_type in NOTIFIED_EVENT_TYPES]
    assert len(told) == len(NOTIFIED_EVENT_TYPES)
    for payload in told:
        assert plan(envelope(payload), known(), directory(), TEMPLATES).intents, payload.event_type


def test_notification_ids_are_stable_and_differ_per_event_channel_and_recipient() -> None:
    first = plan(envelope(apology(), "evt-1"), known(), directory(), TEMPLATES).intents[0]
    again = plan(envelope(apology(), "evt-1"), known(), directory(), TEMPLATES).intents[0]
    other_event = plan(envelope(apology(), "evt-2"), known(), directory(), TEMPLATES).intents[0]
    by_sms = plan(envelope(apology(), "evt-1"), known(preferred="sms"), directory(), TEMPLATES).intents[0]
    assert first.notification_id == again.notification_id
    assert len({first.notification_id, other_event.notification_id, by_sms.notification_id}) == 3
    heads = plan(envelope(escalation()), None, directory(), TEMPLATES).intents
    assert len({i.notification_id for i in heads}) == 2


def test_no_stored_record_is_a_no_contact_failure() -> None:
    result = plan(envelope(apology()), None, directory(), TEMPLATES)
    assert not result.intents
    [failure] = result.failures
    assert (failure.reason, failure.template, failure.recipient_role) == ("no_contact", "apology",
                                                                          "applicant")
    assert RECORD_CODE in failure.detail
    assert failure.masked_address == "***"


def test_no_address_on_an_enabled_channel_is_a_no_contact_failure() -> None:
    result = plan(envelope(routed()), known(email=None, phone=None), directory(), TEMPLATES)
    assert [f.reason for f in result.failures] == ["no_contact"]
    sms_only = directory(channels=frozenset({"sms"}))
    result = plan(envelope(routed()), known(phone=None), sms_only, TEMPLATES)
    assert [f.reason for f in result.failures] == ["no_contact"]
    assert "enabled sms" in result.failures[0].detail


def test_an_unusable_preferred_channel_falls_back_to_the_other_contact() -> None:
    email_off = directory(channels=frozenset({"sms", "webhook"}))
    result = plan(envelope(routed()), known(preferred="email"), email_off, TEMPLATES)
    assert only_intent(result) == ("routed", "sms", PHONE)


def test_unknown_language_is_a_failure_naming_the_language() -> None:
    result = plan(envelope(routed()), known(language="fr"), directory(), TEMPLATES)
    [failure] = result.failures
    assert failure.reason == "unknown_language"
    assert "'fr'" in failure.detail
    assert failure.masked_address == "h***@example.vn"
    assert failure.language == "vi"


def test_a_language_the_contracts_know_but_without_templates_is_unknown() -> None:
    vietnamese_only = Templates({"vi/routed.subject.j2": "x", "vi/routed.email.j2": "y"})
    result = plan(envelope(routed()), known(language="en"), directory(), vietnamese_only)
    assert [f.reason for f in result.failures] == ["unknown_language"]


def test_missing_template_is_a_no_template_failure() -> None:
    no_sms = Templates({"vi/routed.subject.j2": "x", "vi/routed.email.j2": "y"})
    result = plan(envelope(routed()), known(preferred="sms"), directory(), no_sms)
    [failure] = result.failures
    assert (failure.reason, failure.channel, failure.masked_address) == ("no_template", "sms",
                                                                         "09*****678")
    assert "routed" in failure.detail


def test_escalation_without_configured_supervisor_is_a_no_contact_failure() -> None:
    bare = directory(supervisors=directory().supervisors.model_copy(update={"roles": {}}))
    result = plan(envelope(escalation("provincial_supervisor")), None, bare, TEMPLATES)
    [failure] = result.failures
    assert (failure.reason, failure.recipient_role) == ("no_contact", "provincial_supervisor")
    assert "provincial_supervisor" in failure.detail and DEPARTMENT in failure.detail


def test_escalation_addresses_on_disabled_channels_only_are_unreachable() -> None:
    email_off = directory(channels=frozenset({"sms"}))
    result = plan(envelope(escalation()), None, email_off, TEMPLATES)
    assert [f.reason for f in result.failures] == ["no_contact"]
    assert "not enabled" in result.failures[0].detail


def test_failures_have_stable_ids_so_a_redelivery_is_recognised() -> None:
    one = plan(envelope(apology(), "evt-9"), None, directory(), TEMPLATES).failures[0]
    two = plan(envelope(apology(), "evt-9"), None, directory(), TEMPLATES).failures[0]
    assert one.notification_id == two.notification_id


def test_contacts_do_not_show_in_reprs() -> None:
    record = known()
    intent = plan(envelope(routed()), record, directory(), TEMPLATES).intents[0]
    for text in (repr(record), repr(intent)):
        assert EMAIL not in text and PHONE not in text


def test_known_record_round_trips_through_its_stored_form() -> None:
    record = known(preferred="sms", language="en")
    assert type(record).from_dict(record.to_dict()) == record


def test_intents_round_trip_through_their_stored_form() -> None:
    intents = [*plan(envelope(apology()), known(), directory(), TEMPLATES).intents,
               *plan(envelope(supplement()), known(), directory(), TEMPLATES).intents,
               *plan(envelope(escalation()), None, directory(), TEMPLATES).intents]
    for intent in intents:
        stored = json.loads(json.dumps(intent.to_dict()))
        assert DeliveryIntent.from_dict(stored) == intent


def test_a_contact_kept_for_another_record_is_never_used() -> None:
    result = plan(envelope(routed()), known(record_code="000.00.21.H40-251124-0099"), directory(),
                  TEMPLATES)
    assert not result.intents
    assert [f.reason for f in result.failures] == ["no_contact"]
    assert "000.00.21.H40-251124-0099" in result.failures[0].detail
