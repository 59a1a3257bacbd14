"""What the notifier cannot do ends in a failed outcome with its reason, never a crash or silence;
what it cannot read goes to the dead-letter topic, and the next good event is still delivered."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from contracts import topics
from contracts.notifications.v1 import NotificationFailed
from contracts.topics import dead_letter_topic
from services.notifier.domain.render import TEMPLATES_DIR
from tests.kafka_io import read_topic, write_raw
from tests.unit.notifier.factories import escalation, rejected, routed

from .conftest import MailServer, NotifierFactory, applicant, for_record


def vietnamese_only_without_rejection_mail(root: Path) -> Path:
    """Templates as a deployment might ship them by mistake: no English, no refusal letter."""
    shutil.copytree(TEMPLATES_DIR / "vi", root / "vi")
    (root / "vi" / "rejected.email.j2").unlink()
    return root


async def test_unreachable_unknown_language_and_missing_template_fail_with_their_reason(
        notifier_service: NotifierFactory, smtp_server: MailServer, tmp_path: Path) -> None:
    english = applicant(language="en")
    no_email = applicant(preferred="sms", email=False)
    refused = applicant()
    templates = vietnamese_only_without_rejection_mail(tmp_path / "templates")
    async with notifier_service(sms_gateway_url=None, templates_dir=str(templates)) as notifier:
        for person in (english, no_email, refused):
            await notifier.send(person.submitted())
        await notifier.wait_for(refused.code, lambda ds: [d["status"] for d in ds] == ["sent"])
        await notifier.send(for_record(rejected(), refused.code))
        await notifier.send(for_record(escalation(role="one_stop_office_supervisor"), refused.code))
        [language] = await notifier.settled(english.code, 1)
        [contact] = await notifier.settled(no_email.code, 1)
        found = await notifier.settled(refused.code, 3)
        outcomes = await notifier.outcomes(count=5)
        assert await notifier.metric("motcua_notifications_failed_total", channel="email",
                                     reason="no_template") == 1

    assert (language["status"], language["reason"], language["channel"]) == (
        "failed", "unknown_language", "email")
    assert "language 'en' has no templates (known: vi)" in language["detail"]
    assert (contact["status"], contact["reason"], contact["channel"]) == ("failed", "no_contact", "sms")
    assert "no address on an enabled channel" in contact["detail"]
    by_template = {d["template"]: d for d in found}
    assert by_template["receipt"]["status"] == "sent"
    assert (by_template["rejected"]["reason"], by_template["rejected"]["detail"]) == (
        "no_template", "no template rejected for email in vi")
    assert by_template["escalation"]["reason"] == "no_contact"
    assert by_template["escalation"]["recipient_role"] == "one_stop_office_supervisor"
    assert [m["To"] for m in smtp_server.messages] == [refused.email]

    failed = {o.data.notification_id: o.data for o in outcomes if isinstance(o.data, NotificationFailed)}
    assert set(failed) == {language["notification_id"], contact["notification_id"],
                           by_template["rejected"]["notification_id"],
                           by_template["escalation"]["notification_id"]}
    details = sorted(str(f.detail).split(":")[0] for f in failed.values())
    assert details == ["no_contact", "no_contact", "no_template", "unknown_language"]
    assert all(f.reason == "permanent" for f in failed.values())


async def test_an_event_before_its_submission_waits_and_is_folded_with_the_receipt(
        notifier_service: NotifierFactory, smtp_server: MailServer) -> None:
    person = applicant()
    async with notifier_service() as notifier:
        await notifier.send(for_record(routed(), person.code))
        async with asyncio.timeout(20):
            while not (parked := await notifier.parked(person.code)):
                await asyncio.sleep(0.1)
        assert [p["event_type"] for p in parked] == ["vn.motcua.record.routed"]
        assert await notifier.deliveries(person.code) == []
        await notifier.send(person.submitted())
        found = await notifier.wait_for(person.code, lambda ds: len(ds) == 2 and all(
            d["status"] == "sent" for d in ds))
    assert sorted(d["template"] for d in found) == ["receipt", "routed"]
    # Replayed right after the receipt, the routing folds with it into one message.
    [message_id] = {d["message_id"] for d in found}
    [mail] = smtp_server.messages
    assert (mail["To"], mail["Message-ID"]) == (person.email, f"<{message_id}@motcua.local>")
    assert mail["Subject"] == f"Cập nhật tình trạng hồ sơ {person.code}"


async def test_a_poison_message_is_dead_lettered_and_the_next_event_is_delivered(
        notifier_service: NotifierFactory, smtp_server: MailServer) -> None:
    person = applicant()
    async with notifier_service() as notifier:
        topic = notifier.settings.topic(topics.RECORDS_SUBMITTED)
        admin = notifier.endpoints.kafka
        await write_raw(admin, topic, b"\xff\xfe not an event", key=person.code.encode())
        await notifier.send(person.submitted())
        [dead] = await read_topic(admin, dead_letter_topic(topic), count=1)
        [delivery] = await notifier.settled(person.code, 1)
    assert dead.value == b"\xff\xfe not an event"
    assert delivery["status"] == "sent"
    assert [m["To"] for m in smtp_server.messages] == [person.email]
