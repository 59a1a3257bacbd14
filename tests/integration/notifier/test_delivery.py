"""The notifier on the real stack: each event kind to the right person, channel and language, once;
retries when the gateway is down, none for a permanent refusal; an outcome for each notification."""

from __future__ import annotations

import asyncio
from collections import Counter
from email.message import EmailMessage
from typing import Any

from contracts.notifications.v1 import NotificationFailed, NotificationSent
from tests.unit.notifier.factories import apology, escalation, rejected, resolved, routed, supplement

from .conftest import (
    DEPARTMENT_NAME,
    HEAD_MAILBOX,
    PROVINCIAL_MAILBOX,
    Gateway,
    MailServer,
    NotifierFactory,
    applicant,
    for_record,
    serve_gateway,
)

KINDS = {
    "routed": (routed(), [DEPARTMENT_NAME]),
    "supplement_requested": (supplement(), ["Giấy chứng nhận kết hôn", "26/11/2025"]),
    "result_ready": (resolved(), ["Đã cấp Giấy khai sinh"]),
    "rejected": (rejected(), ["không đủ điều kiện nhận con"]),
    "apology": (apology(), ["27/11/2025", "02/12/2025", "Chờ kết quả xác minh"]),
}
"""Template → the event that asks for it, and facts its email must carry."""


def by_message_id(mail: MailServer) -> dict[str, list[EmailMessage]]:
    found: dict[str, list[EmailMessage]] = {}
    for message in mail.messages:
        found.setdefault(str(message["Message-ID"]).strip("<>").split("@")[0], []).append(message)
    return found


def body(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def sent(deliveries: list[dict[str, Any]], template: str) -> dict[str, Any]:
    [found] = [d for d in deliveries if d["template"] == template]
    assert found["status"] == "sent", found
    return found


async def test_every_event_kind_reaches_the_right_recipient_by_the_right_channel_in_their_language(
        notifier_service: NotifierFactory, smtp_server: MailServer, gateway: Gateway) -> None:
    people = {kind: applicant() for kind in KINDS}
    english = applicant(preferred="sms", language="en")
    async with notifier_service() as notifier:
        for person in [*people.values(), english]:
            await notifier.send(person.submitted())
        for person in [*people.values(), english]:  # receipts first: nothing left to fold with
            await notifier.wait_for(person.code, lambda ds: any(d["status"] == "sent" for d in ds))
        for kind, (event, _) in KINDS.items():
            await notifier.send(for_record(event, people[kind].code))
        await notifier.send(for_record(rejected(), english.code))
        late = people["apology"].code
        await notifier.send(for_record(escalation(), late))
        await notifier.send(for_record(escalation(role="provincial_supervisor"), late))
        settled = {p.code: await notifier.settled(p.code, 2) for p in people.values()
                   if p.code != late}
        settled[late] = await notifier.settled(late, 5)
        settled[english.code] = await notifier.settled(english.code, 2)
        outcomes = await notifier.outcomes(count=2 * 5 + 3 + 2)

    mails = by_message_id(smtp_server)
    assert all(len(copies) == 1 for copies in mails.values())
    for kind, person in people.items():
        deliveries = settled[person.code]
        receipt = mails[sent(deliveries, "receipt")["notification_id"]][0]
        assert receipt["To"] == person.email
        assert receipt["Subject"] == f"Tiếp nhận hồ sơ {person.code} \u2013 hẹn trả kết quả ngày 27/11/2025"
        notice = sent(deliveries, kind)
        assert (notice["channel"], notice["language"], notice["recipient_role"]) == (
            "email", "vi", "applicant")
        message = mails[notice["notification_id"]][0]
        assert message["To"] == person.email and person.code in message["Subject"]
        text = body(message)
        for fact in KINDS[kind][1]:
            assert fact in text, (kind, fact, text)

    heads = [d for d in settled[late] if d["template"] == "escalation"]
    assert sorted((d["recipient_role"], d["channel"], d["status"]) for d in heads) == [
        ("department_head", "email", "sent"), ("department_head", "webhook", "sent"),
        ("provincial_supervisor", "email", "sent")]
    recipients = {mails[d["notification_id"]][0]["To"] for d in heads if d["channel"] == "email"}
    assert recipients == {HEAD_MAILBOX, PROVINCIAL_MAILBOX}
    [hook] = [r for r in gateway.requests if r.path == "/hook"]
    assert hook.json()["data"]["record_code"] == late
    assert hook.json()["title"].startswith("[Cảnh báo cấp 1]")
    [hook_delivery] = [d for d in heads if d["channel"] == "webhook"]
    assert hook.headers["idempotency-key"] == hook_delivery["notification_id"]

    sms = [r.json() for r in gateway.requests if r.path == "/sms"]
    assert [m["to"] for m in sms] == [english.phone, english.phone]
    assert sms[0]["text"] == f"Application {english.code} received; result due on 27/11/2025."
    assert sms[1]["text"].startswith(f"Application {english.code} was refused. Reason:")
    assert {d["language"] for d in settled[english.code]} == {"en"}

    assert {type(o.data) for o in outcomes} == {NotificationSent}
    ids = Counter(o.data.notification_id for o in outcomes)
    expected = {d["notification_id"] for ds in settled.values() for d in ds}
    assert set(ids) == expected and set(ids.values()) == {1}
    assert all("@" not in o.data.masked_address or "***@" in o.data.masked_address for o in outcomes)


async def test_gateway_down_then_up_is_retried_and_delivered_once(
        notifier_service: NotifierFactory, closed_port: int) -> None:
    person = applicant(preferred="sms")
    async with notifier_service(sms_gateway_url=f"http://127.0.0.1:{closed_port}/sms",
                                retry_base_s=0.3, retry_cap_s=0.6, retry_max_attempts=20) as notifier:
        await notifier.send(person.submitted())
        [waiting] = await notifier.wait_for(
            person.code, lambda ds: len(ds) == 1 and ds[0]["status"] == "retrying")
        assert waiting["detail"].startswith("connection failed")
        async with serve_gateway(Gateway(), closed_port) as up:
            [done] = await notifier.wait_for(person.code, lambda ds: ds[0]["status"] == "sent")
            [outcome] = await notifier.outcomes(count=1)
    assert done["attempts"] >= 2
    [request] = up.requests
    assert request.json()["to"] == person.phone
    assert request.headers["idempotency-key"] == done["notification_id"]
    assert isinstance(outcome.data, NotificationSent)
    assert outcome.data.attempts == done["attempts"]
    assert outcome.data.masked_address == person.phone[:2] + "*****" + person.phone[-3:]


async def test_a_refusal_is_not_retried_and_a_gateway_that_stays_down_is_given_up(
        notifier_service: NotifierFactory, gateway: Gateway) -> None:
    refused, unlucky = applicant(preferred="sms"), applicant(preferred="sms")
    async with notifier_service(retry_max_attempts=3) as notifier:
        gateway.status = 400
        await notifier.send(refused.submitted())
        [permanent] = await notifier.settled(refused.code, 1)
        gateway.status = 503
        await notifier.send(unlucky.submitted())
        [exhausted] = await notifier.settled(unlucky.code, 1)
        outcomes = await notifier.outcomes(count=2)
    assert (permanent["status"], permanent["reason"], permanent["attempts"]) == ("failed", "permanent", 1)
    assert (exhausted["status"], exhausted["reason"], exhausted["attempts"]) == (
        "failed", "transient-exhausted", 3)
    keys = Counter((r.json()["to"], r.headers["idempotency-key"]) for r in gateway.requests)
    assert keys == {(refused.phone, permanent["notification_id"]): 1,
                    (unlucky.phone, exhausted["notification_id"]): 3}
    failures = {o.data.notification_id: o.data for o in outcomes}
    assert all(isinstance(f, NotificationFailed) for f in failures.values())
    first, second = failures[permanent["notification_id"]], failures[exhausted["notification_id"]]
    assert isinstance(first, NotificationFailed) and isinstance(second, NotificationFailed)
    assert (first.reason, first.detail, first.attempts) == ("permanent", "http 400", 1)
    assert (second.reason, second.detail, second.attempts) == ("transient-exhausted", "http 503", 3)


async def test_a_duplicate_event_sends_one_message(notifier_service: NotifierFactory,
                                                   smtp_server: MailServer) -> None:
    person = applicant()
    async with notifier_service() as notifier:
        event = await notifier.send(person.submitted())
        await notifier.resend(event)
        [delivery] = await notifier.settled(person.code, 1)
        await notifier.resend(event)
        async with asyncio.timeout(20):
            while await notifier.metric("motcua_notifier_events_total", event_type=event.type,
                                        result="duplicate") < 2:
                await asyncio.sleep(0.1)
        assert await notifier.deliveries(person.code) == [delivery]
        outcomes = await notifier.outcomes(count=1)
    assert [m["Message-ID"] for m in smtp_server.messages] == [
        f"<{delivery['notification_id']}@motcua.local>"]
    assert [o.data.notification_id for o in outcomes] == [delivery["notification_id"]]
