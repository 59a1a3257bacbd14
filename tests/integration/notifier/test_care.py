"""Care on the real stack: no SMS in the quiet hours, no more than the rate limit per applicant."""

from __future__ import annotations

from datetime import datetime, timedelta

from reference.localtime import VIETNAM
from tests.unit.notifier.factories import apology, rejected, supplement

from .conftest import Gateway, MailServer, NotifierFactory, applicant, clock_at, for_record

NIGHT = datetime(2026, 11, 25, 23, 0, tzinfo=VIETNAM)


async def test_an_sms_waits_for_the_end_of_the_quiet_hours_and_an_email_does_not(
        notifier_service: NotifierFactory, gateway: Gateway, smtp_server: MailServer) -> None:
    texted, mailed = applicant(preferred="sms"), applicant()
    async with notifier_service(clock_at(NIGHT)) as notifier:
        await notifier.send(texted.submitted())
        await notifier.send(mailed.submitted())
        [held] = await notifier.wait_for(texted.code, lambda ds: len(ds) == 1
                                         and ds[0]["not_before"] is not None)
        await notifier.settled(mailed.code, 1)
        assert held["status"] == "queued"
        assert datetime.fromisoformat(held["not_before"]) == datetime(2026, 11, 26, 7, 0, tzinfo=VIETNAM)
        assert gateway.requests == []
        notifier.move_to(datetime(2026, 11, 26, 7, 0, 30, tzinfo=VIETNAM))
        [done] = await notifier.settled(texted.code, 1)
    assert done["status"] == "sent"
    assert [r.json()["to"] for r in gateway.requests] == [texted.phone]
    assert [m["To"] for m in smtp_server.messages] == [mailed.email]


async def test_notices_beyond_the_rate_limit_wait_for_a_slot(
        notifier_service: NotifierFactory, smtp_server: MailServer) -> None:
    person = applicant()
    async with notifier_service(rate_limit_messages=2, rate_limit_per_s=3600) as notifier:
        await notifier.send(person.submitted())
        await notifier.settled(person.code, 1)
        for event in (supplement(), rejected(), apology()):
            await notifier.send(for_record(event, person.code))
        now = notifier.clock.now()
        found = await notifier.wait_for(person.code, lambda ds: len(ds) == 4 and sorted(
            d["status"] for d in ds) == ["queued", "queued", "sent", "sent"] and all(
            d["not_before"] for d in ds if d["status"] == "queued"))
        held = [datetime.fromisoformat(d["not_before"]) for d in found if d["status"] == "queued"]
        assert all(now + timedelta(minutes=55) < at <= now + timedelta(hours=1, minutes=1) for at in held)
        assert len(smtp_server.messages) == 2
        notifier.move_to(now + timedelta(hours=1, minutes=2))
        await notifier.settled(person.code, 4)
    assert len(smtp_server.messages) == 4
    assert {m["To"] for m in smtp_server.messages} == {person.email}
