"""What the notifier's store promises, whatever keeps it: run against the in-memory fake
(`tests/unit/notifier/test_store_behaviour.py`) and MongoDB
(`tests/integration/notifier/test_store_behaviour.py`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from contracts.samples import RECORD_CODE
from services.notifier import documents
from services.notifier.domain import DeliveryIntent, plan
from services.notifier.ports import AttemptClaim, ClaimKind, Delivery, FinalResult, Hold, NotifierStore
from services.runtime.outbox import StoredMessage
from tests.unit.notifier.factories import TEMPLATES, directory, envelope, known, submitted

NOW = datetime(2026, 11, 24, 2, 30, 15, 123000, tzinfo=UTC)  # milliseconds, as stored
TRACE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def code(n: int) -> str:
    return f"{RECORD_CODE[:-4]}{n:04d}"


def intent(n: int) -> DeliveryIntent:
    """The applicant's acknowledgement of record `n`'s submission."""
    found = plan(envelope(submitted(record_code=code(n)), event_id=f"evt-{n}"), None, directory(),
                 TEMPLATES).intents
    return found[0]


def delivery(n: int, *, seconds: int = 0) -> Delivery:
    return documents.delivery(intent(n), created_at=NOW + timedelta(seconds=seconds),
                              traceparent=TRACE)


def claim(n: int, attempt: int, kind: ClaimKind = "send", *, message_id: str | None = None,
          detail: str | None = None) -> AttemptClaim:
    nid = intent(n).notification_id
    return AttemptClaim(notification_id=nid, message_id=message_id or nid, attempt=attempt,
                        kind=kind, at=NOW + timedelta(minutes=attempt),
                        lease_until=NOW + timedelta(minutes=attempt, seconds=30),
                        previous_detail=detail)


def result(n: int, *, minutes: int = 0, status: str = "sent") -> FinalResult:
    nid = intent(n).notification_id
    outcome = StoredMessage("notifications.outcomes", nid, f'{{"n": {n}}}', {"ce_id": f"out-{n}"},
                            TRACE)
    return documents.result(nid, "sent" if status == "sent" else "failed", attempts=1,
                            message_id=nid, detail="x" * 600 if status != "sent" else None,
                            reason=None if status == "sent" else "permanent",
                            finished_at=NOW + timedelta(minutes=minutes), outcome=outcome)


class NotifierStoreBehaviour:
    """Each test gets an empty `store` from the subclass's fixture."""

    async def test_a_record_is_remembered_once_with_its_first_contact(
            self, store: NotifierStore) -> None:
        first, second = known(record_code=code(1)), known(record_code=code(1), email=None)
        await store.remember([first])
        await store.remember([second, known(record_code=code(2))])
        found = await store.records({code(1), code(2), code(3)})
        assert found == {code(1): first, code(2): known(record_code=code(2))}
        assert await store.records(set()) == {}

    async def test_a_delivery_is_planned_once_and_reads_back_whole(self, store: NotifierStore) -> None:
        one, two = delivery(1), delivery(2, seconds=1)
        assert await store.insert_deliveries([one, one, two]) == {one.notification_id,
                                                                  two.notification_id}
        assert await store.insert_deliveries([replace(one, traceparent=None), delivery(3, seconds=2)]
                                             ) == {delivery(3).notification_id}
        assert await store.insert_deliveries([]) == set()
        found = await store.open_deliveries(NOW + timedelta(seconds=1), 10)
        assert found == [one, two]
        assert found[0].intent is not None and found[0].intent.address == intent(1).address

    async def test_open_deliveries_page_oldest_first_and_closed_ones_leave(
            self, store: NotifierStore) -> None:
        await store.insert_deliveries([delivery(n, seconds=10 - n) for n in range(1, 6)])
        before = NOW + timedelta(seconds=8)  # delivery 1 (at +9 s) is too recent
        page = await store.open_deliveries(before, 2)
        assert [d.record_code for d in page] == [code(5), code(4)]
        last = page[-1]
        rest = await store.open_deliveries(before, 10, (last.created_at, last.notification_id))
        assert [d.record_code for d in rest] == [code(3), code(2)]
        await store.close([delivery(4).notification_id, delivery(2).notification_id])
        assert [d.record_code for d in await store.open_deliveries(before, 10)] == [code(5), code(3)]

    async def test_each_attempt_is_claimed_once_and_read_in_order(self, store: NotifierStore) -> None:
        assert await store.claim([claim(1, 1), claim(2, 1)]) == {claim(1, 1).id, claim(2, 1).id}
        assert await store.claim([claim(1, 1, "retry"), claim(1, 2, "retry", detail="busy")]
                                 ) == {claim(1, 2).id}
        assert await store.claim([]) == set()
        await store.claim([claim(1, 4, "hold")])  # attempt 3 never claimed: a gap ends the list
        nid = intent(1).notification_id
        assert await store.claims_of(nid) == [claim(1, 1), claim(1, 2, "retry", detail="busy")]
        among = await store.claims_among([nid, intent(2).notification_id,
                                          intent(3).notification_id], 4)
        assert among == {nid: [claim(1, 1), claim(1, 2, "retry", detail="busy"), claim(1, 4, "hold")],
                         intent(2).notification_id: [claim(2, 1)]}
        assert await store.claims_among([nid], 1) == {nid: [claim(1, 1)]}
        assert await store.claims_among([], 3) == {}

    async def test_a_notification_finishes_once(self, store: NotifierStore) -> None:
        failed = result(1, status="failed")
        assert failed.detail is not None and len(failed.detail) == 500
        assert await store.finish([failed, result(2)]) == {failed.notification_id,
                                                           result(2).notification_id}
        assert await store.finish([result(1), result(3)]) == {result(3).notification_id}
        assert await store.result(failed.notification_id) == failed
        assert await store.result(intent(4).notification_id) is None
        assert await store.finished_among([intent(n).notification_id for n in (1, 3, 4)]) == {
            intent(1).notification_id, intent(3).notification_id}
        assert await store.finished_among([]) == set()

    async def test_unpublished_results_until_their_marker_is_settled(
            self, store: NotifierStore) -> None:
        await store.finish([result(1), result(2, minutes=1), result(3, minutes=5)])
        before = NOW + timedelta(minutes=2)
        assert {r.notification_id for r in await store.unpublished(before, 10)} == {
            result(1).notification_id, result(2).notification_id}
        nid = result(1).notification_id
        assert not await store.is_published(nid)
        await store.mark_published([nid])
        await store.mark_published([nid])  # a second marker changes nothing
        assert await store.is_published(nid)
        await store.settle_published([nid])
        assert [r.notification_id for r in await store.unpublished(before, 10)] == [
            result(2).notification_id]
        settled = await store.result(nid)
        assert settled is not None and settled.published

    async def test_holds_are_found_by_notification(self, store: NotifierStore) -> None:
        one, two = intent(1).notification_id, intent(2).notification_id
        first = Hold(notification_id=one, not_before=NOW, lease_until=NOW + timedelta(hours=1))
        later = replace(first, not_before=NOW + timedelta(hours=2))
        other = Hold(notification_id=two, not_before=NOW, lease_until=NOW)
        await store.hold([first, later, other, first])
        found = await store.holds_of([one])
        assert sorted(found, key=lambda h: h.not_before) == [first, later]
        assert await store.holds_of([]) == []

    async def test_a_records_deliveries_come_oldest_first_without_addresses(
            self, store: NotifierStore) -> None:
        await store.insert_deliveries([delivery(1, seconds=5), delivery(2, seconds=1)])
        alert = documents.delivery(replace(intent(2), notification_id="nid-alert"),
                                   created_at=NOW, traceparent=None)
        await store.insert_deliveries([alert])
        found = await store.of_record(code(2), 10)
        assert [d.notification_id for d in found] == ["nid-alert", delivery(2).notification_id]
        assert all(d.intent is None for d in found)
        assert found[1] == replace(delivery(2, seconds=1), intent=None)
        assert len(await store.of_record(code(2), 1)) == 1
        assert await store.of_record(code(9), 10) == []
