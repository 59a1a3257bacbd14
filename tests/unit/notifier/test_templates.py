"""Every template renders for every event kind, in both languages, with the facts that matter."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Literal

import pytest

from contracts.samples import RECORD_CODE
from services.notifier.domain import (
    TEMPLATE_NAMES,
    DeliveryIntent,
    Rendered,
    RenderFailure,
    Templates,
    fold,
    plan,
    vn_date,
    vn_datetime,
)
from services.notifier.domain.render import FORMS, TEMPLATES_DIR

from .factories import (
    APPLICANT_EVENTS,
    DEPARTMENT_NAME,
    TEMPLATES,
    directory,
    envelope,
    escalation,
    known,
    resolved,
    routed,
    submitted,
    supplement,
)

LANGUAGES = ("vi", "en")
CHANNELS = ("email", "sms", "webhook")
# Facts each message must carry (dates on Vietnam's clock, dd/mm/yyyy), per template name.
FACTS = {
    "receipt": ["27/11/2025"],
    "routed": [DEPARTMENT_NAME],
    "supplement_requested": ["26/11/2025", "Giấy chứng nhận kết hôn"],
    "result_ready": [],
    "rejected": ["không đủ điều kiện"],
    "apology": ["27/11/2025", "02/12/2025"],
}
SMS_LIMIT = 200


def intent_for(name: str, language: str, channel: str) -> DeliveryIntent:
    preferred: Literal["email", "sms"] = "sms" if channel == "sms" else "email"
    event = (submitted(preferred=preferred, language=language) if name == "receipt"
             else APPLICANT_EVENTS[name])
    intent = plan(envelope(event), known(preferred=preferred, language=language),
                  directory(), TEMPLATES).intents[0]
    assert (intent.language, intent.template) == (language, name)
    return intent


def rendered(result: Rendered | RenderFailure) -> Rendered:
    assert isinstance(result, Rendered), result
    return result


def test_every_template_name_has_every_form_in_every_language() -> None:
    assert TEMPLATES.languages == frozenset(LANGUAGES)
    for language in LANGUAGES:
        assert TEMPLATES.names(language) == frozenset(TEMPLATE_NAMES)
        for name in TEMPLATE_NAMES:
            for channel in CHANNELS:
                assert TEMPLATES.has(language, name, channel), (language, name, channel)
    files = {p.relative_to(TEMPLATES_DIR).as_posix() for p in TEMPLATES_DIR.glob("*/*")}
    assert len(files) == len(LANGUAGES) * len(TEMPLATE_NAMES) * 3


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("name", sorted(APPLICANT_EVENTS))
def test_applicant_templates_render_with_their_facts(name: str, language: str, channel: str) -> None:
    intent = intent_for(name, language, channel)
    message = rendered(TEMPLATES.render(intent.language, intent.template, channel,  # type: ignore[arg-type]
                                        intent.context))
    text = f"{message.subject or ''}\n{message.text}"
    assert RECORD_CODE in text
    for fact in FACTS[name]:
        if fact.isascii() or language == "vi" or fact == DEPARTMENT_NAME:
            assert fact in text, (name, language, channel, fact)
    assert "{{" not in text and "None" not in text
    assert ("application" if language == "en" else "hồ sơ") in text.lower()
    if channel == "sms":
        assert message.subject is None and "\n" not in message.text
        assert len(message.text) <= SMS_LIMIT, (len(message.text), message.text)
    else:
        assert message.subject and "\n" not in message.subject
        assert message.text.endswith("\n")


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("kind", ["late", "misrouted"])
def test_escalation_renders_for_supervisors(kind: str, language: str, channel: str) -> None:
    intent = plan(envelope(escalation(kind=kind)), None, directory(), TEMPLATES).intents[0]
    message = rendered(TEMPLATES.render(language, "escalation", channel,  # type: ignore[arg-type]
                                        intent.context))
    text = f"{message.subject or ''}\n{message.text}"
    assert RECORD_CODE in text and "27/11/2025" in text
    if channel != "sms":
        assert DEPARTMENT_NAME in text and "Quá hạn 2 ngày làm việc" in text
    if kind == "late":
        assert "2" in message.text


def test_escalation_without_department_says_none_holds_it() -> None:
    intent = plan(envelope(escalation(kind="misrouted", department=None, role="one_stop_office_supervisor")),
                  None, directory(), TEMPLATES).intents[0]
    message = rendered(TEMPLATES.render("vi", "escalation", "email", intent.context))
    assert "Cơ quan đang giữ hồ sơ: chưa có" in message.text


def test_vietnamese_texts_are_written_with_diacritics() -> None:
    receipt = rendered(TEMPLATES.render_intent(intent_for("receipt", "vi", "email")))
    assert "Hồ sơ của ông/bà đã được tiếp nhận" in receipt.text
    apology = rendered(TEMPLATES.render_intent(intent_for("apology", "vi", "email")))
    assert apology.subject is not None and apology.subject.startswith("Thư xin lỗi")
    assert "Lý do: Chờ kết quả xác minh từ Công an xã" in apology.text
    assert "Ngày hẹn trả kết quả ban đầu: 17:00 27/11/2025" in apology.text
    assert "Ngày hẹn trả kết quả mới: 17:00 02/12/2025" in apology.text
    sms = rendered(TEMPLATES.render_intent(intent_for("apology", "vi", "sms")))
    assert "Ngày hẹn trả kết quả mới: 02/12/2025" in sms.text


def test_english_apology_has_reason_original_and_new_appointment() -> None:
    message = rendered(TEMPLATES.render_intent(intent_for("apology", "en", "email")))
    assert "Original appointment: 17:00 27/11/2025" in message.text
    assert "New appointment: 17:00 02/12/2025" in message.text
    assert "Reason: Chờ kết quả xác minh từ Công an xã" in message.text


def test_result_ready_says_how_to_get_the_result() -> None:
    online = plan(envelope(resolved(electronic=True)), known(), directory(), TEMPLATES).intents[0]
    paper = plan(envelope(resolved(electronic=False)), known(), directory(), TEMPLATES).intents[0]
    assert "Cổng Dịch vụ công" in rendered(TEMPLATES.render_intent(online)).text
    assert "đến nhận kết quả" in rendered(TEMPLATES.render_intent(paper)).text


def test_supplement_without_deadline_renders_without_one() -> None:
    intent = plan(envelope(supplement(respond_by=None)), known(), directory(), TEMPLATES).intents[0]
    message = rendered(TEMPLATES.render_intent(intent))
    assert "Thời hạn bổ sung" not in message.text and "Giấy chứng nhận kết hôn" in message.text


def test_dates_are_shown_on_vietnam_clock() -> None:
    late_evening_utc = datetime(2025, 11, 27, 18, 30, tzinfo=UTC)  # 01:30 on the 28th in Vietnam
    assert vn_date(late_evening_utc) == "28/11/2025"
    assert vn_datetime(late_evening_utc.isoformat()) == "01:30 28/11/2025"


def test_a_digest_lists_each_notice_in_both_languages() -> None:
    for language in LANGUAGES:
        batch = [plan(envelope(submitted(language=language)), None, directory(), TEMPLATES).intents[0],
                 plan(envelope(routed()), known(language=language), directory(), TEMPLATES).intents[0]]
        [digest] = fold(batch)
        for channel in CHANNELS:
            message = rendered(TEMPLATES.render(language, "digest", channel,  # type: ignore[arg-type]
                                                {"items": ["A 27/11/2025", "B"], "audience": "applicant",
                                                 "record_codes": [RECORD_CODE]}))
            assert "A 27/11/2025" in message.text and "B" in message.text
        email = rendered(TEMPLATES.render_outgoing(digest))
        assert email.template == "digest" and RECORD_CODE in (email.subject or "")
        assert "27/11/2025" in email.text and DEPARTMENT_NAME in email.text
        assert re.search(r"^1\. .*\n2\. ", email.text, re.MULTILINE)


def test_an_undefined_variable_is_a_render_failure_not_a_crash() -> None:
    intent = intent_for("receipt", "vi", "email")
    broken = {k: v for k, v in intent.context.items() if k != "appointment"}
    failure = TEMPLATES.render("vi", "receipt", "email", broken)
    assert isinstance(failure, RenderFailure)
    assert failure.reason == "render_error" and "appointment" in failure.detail


def test_a_bad_date_value_is_a_render_failure() -> None:
    context = {**intent_for("receipt", "vi", "sms").context, "appointment": "not a date"}
    failure = TEMPLATES.render("vi", "receipt", "sms", context)
    assert isinstance(failure, RenderFailure) and failure.reason == "render_error"


def test_a_missing_template_file_is_a_render_failure() -> None:
    failure = TEMPLATES.render("vi", "no_such_template", "sms", {})
    assert isinstance(failure, RenderFailure)
    assert failure.reason == "no_template" and "vi/no_such_template.sms.j2" in failure.detail
    partial = Templates({"vi/x.subject.j2": "S"})
    assert not partial.has("vi", "x", "email")
    missing_body = partial.render("vi", "x", "email", {})
    assert isinstance(missing_body, RenderFailure) and missing_body.reason == "no_template"


def test_forms_cover_every_channel() -> None:
    assert set(FORMS) == set(CHANNELS)


@pytest.mark.parametrize(("language", "sentence", "sms_note"), [
    ("vi", "ngày hẹn có thể thay đổi khi lịch nghỉ lễ chính thức được công bố", "ngày hẹn tạm tính"),
    ("en", "it may move when the official holiday calendar is published", "provisional date"),
])
def test_a_receipt_on_a_provisional_calendar_says_the_appointment_may_move(
        language: str, sentence: str, sms_note: str) -> None:
    for provisional in (True, False):
        for channel in ("email", "sms"):
            preferred: Literal["email", "sms"] = "sms" if channel == "sms" else "email"
            event = submitted(preferred=preferred, language=language).model_copy(
                update={"appointment_provisional": provisional})
            intent = plan(envelope(event), known(preferred=preferred, language=language),
                          directory(), TEMPLATES).intents[0]
            message = rendered(TEMPLATES.render_intent(intent))
            said = (sentence if channel == "email" else sms_note) in message.text
            assert said == provisional, (channel, provisional, message.text)
            if channel == "sms":
                assert len(message.text) <= SMS_LIMIT


@pytest.mark.parametrize("channel", CHANNELS)
def test_department_text_cannot_add_a_line_or_a_header_to_a_message(channel: str) -> None:
    hostile = "Thiếu giấy tờ\r\nBcc: evil@evil.test\n\nTo: x@evil.test\x00\u2028<img src=x onerror=alert(1)>"
    event = supplement().model_copy(update={"reason": hostile, "missing": (hostile,)})
    intent = plan(envelope(event), known(preferred="sms" if channel == "sms" else "email"),
                  directory(), TEMPLATES).intents[0]
    message = rendered(TEMPLATES.render(intent.language, intent.template, channel,  # type: ignore[arg-type]
                                        intent.context))
    lines = message.text.splitlines() + ([message.subject] if message.subject else [])
    assert not any(line.lstrip().startswith(("Bcc:", "To:")) for line in lines)
    assert "Thiếu giấy tờ Bcc: evil@evil.test To: x@evil.test" in message.text
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f\u2028]", message.text + (message.subject or ""))
    # Plain text everywhere: markup is shown as the characters it is, never as HTML.
    assert "<img src=x onerror=alert(1)>" in message.text
