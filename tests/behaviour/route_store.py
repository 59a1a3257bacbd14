"""What routing's store promises, whatever keeps it: run against the in-memory fake
(`tests/unit/routing/test_store_behaviour.py`) and MongoDB
(`tests/integration/routing/test_store_behaviour.py`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from contracts import topics
from contracts.department.v1 import RecordAccepted, RecordResolved
from contracts.envelope import Envelope
from contracts.samples import record_submitted
from reference.catalog import load_catalog
from services.routing.domain.decide import Decision
from services.routing.domain.directory import MANUAL_QUEUE
from services.routing.domain.route import after_update, bounced, chosen, first_route
from services.routing.domain.tables import shipped_tables
from services.routing.ports import Outgoing, RouteStore, StoredRoute
from services.runtime.errors import StateChanged
from services.runtime.outbox import StoredMessage, stored_message

CATALOG = load_catalog()
PROCEDURE = CATALOG.get("9.000003.000.00.00.H40")
ROUTED_AT = datetime(2026, 11, 24, 2, 30, 15, 123000, tzinfo=UTC)  # milliseconds, as stored


def message(topic: str, n: int) -> StoredMessage:
    accepted = RecordAccepted(record_code=f"000.00.21.H40-261124-{n:04d}", department_code="SO-TU-PHAP")
    return stored_message(topic, Envelope.wrap(accepted, source="/motcua/routing", time=ROUTED_AT),
                          "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")


def new_route(n: int, department: str = "SO-TU-PHAP", *, manual: bool = False,
              candidates: tuple[str, ...] = ("SO-XAY-DUNG",)) -> StoredRoute:
    """A first route as the dispatcher stores it, with its two messages."""
    record = record_submitted().model_copy(update={
        "record_code": f"000.00.21.H40-261124-{n:04d}", "procedure_code": PROCEDURE.code})
    decision = Decision(department_code=MANUAL_QUEUE if manual else department,
                        candidates_left=() if manual else candidates, rule_id="r1", reason="test")
    route = first_route(record, PROCEDURE, decision, 2, ROUTED_AT)
    event_id = f"submitted-{n}"
    return StoredRoute(route=route, applied=(event_id,), outbox=(
        Outgoing(event_id, message(topics.department_topic(decision.department_code), n)),
        Outgoing(event_id, message(topics.RECORDS_ROUTED, n))))


class RouteStoreBehaviour:
    """Subclasses give the `store` fixture."""

    @pytest.fixture
    def store(self) -> RouteStore:
        raise NotImplementedError

    async def test_a_route_reads_back_as_it_was_stored(self, store: RouteStore) -> None:
        stored = new_route(1)
        assert await store.create_many([stored]) == {stored.code}
        assert await store.get(stored.code) == stored
        assert await store.get("000.00.21.H40-261124-9999") is None

    async def test_a_redelivered_submission_creates_nothing_and_changes_nothing(
            self, store: RouteStore) -> None:
        first, second = new_route(1), new_route(2)
        assert await store.create_many([first]) == {first.code}
        again = replace(first, route=replace(first.route, department="SO-XAY-DUNG"))
        assert await store.create_many([again, second]) == {second.code}
        assert await store.get(first.code) == first
        assert await store.create_many([]) == set()

    async def test_get_many_finds_the_routes_that_exist_in_one_call(
            self, store: RouteStore) -> None:
        routes = [new_route(n) for n in (1, 2, 3)]
        await store.create_many(routes)
        found = await store.get_many({routes[0].code, routes[2].code, "000.00.21.H40-261124-0404"})
        assert found == {routes[0].code: routes[0], routes[2].code: routes[2]}

    async def test_an_applied_event_stores_the_new_state_and_its_own_messages(
            self, store: RouteStore) -> None:
        stored = new_route(1)
        await store.create_many([stored])
        update = RecordAccepted(record_code=stored.code, department_code="SO-TU-PHAP")
        after = after_update(stored.route, update, ROUTED_AT + timedelta(minutes=5))
        forward = Outgoing("accepted-1", message(topics.DEPARTMENT_UPDATES, 1))
        await store.apply(stored, "accepted-1", after, [forward])
        now = await store.get(stored.code)
        assert now is not None
        assert now.route == after and now.route.stage == "accepted"
        assert now.applied == ("submitted-1", "accepted-1")
        assert now.caused_by("accepted-1") == [forward.message]
        assert now.caused_by("submitted-1") == [out.message for out in stored.outbox]

    async def test_a_decision_on_a_stale_read_or_an_applied_event_is_refused_and_changes_nothing(
            self, store: RouteStore) -> None:
        stored = new_route(1)
        await store.create_many([stored])
        moved = bounced(stored.route, "SO-TU-PHAP",
                        Decision(department_code="SO-XAY-DUNG", candidates_left=(), rule_id="r1",
                                 reason="returned"), ROUTED_AT + timedelta(hours=1))
        await store.apply(stored, "returned-1", moved, [])
        kept = await store.get(stored.code)
        stale = after_update(stored.route, RecordAccepted(record_code=stored.code,
                                                          department_code="SO-TU-PHAP"), ROUTED_AT)
        with pytest.raises(StateChanged):
            await store.apply(stored, "accepted-1", stale, [])  # read before the bounce
        assert kept is not None
        with pytest.raises(StateChanged):
            await store.apply(kept, "returned-1", moved, [])  # the same event again
        assert await store.get(stored.code) == kept
        assert kept.route.attempt == 2 and kept.route.returned_by == ("SO-TU-PHAP",)

    async def test_a_move_is_unsent_until_marked_sent(self, store: RouteStore) -> None:
        stored, other = new_route(1), new_route(2)
        await store.create_many([stored, other])
        assert [s async for s in store.unsent()] == []
        step = Outgoing("reorganisation@v3", message(topics.RECORDS_ROUTED, 1))
        await store.apply(stored, "reorganisation@v3", replace(stored.route, table_version=3),
                          [step], unsent=True)
        assert [s.code async for s in store.unsent()] == [stored.code]
        await store.mark_sent(stored.code)
        assert [s async for s in store.unsent()] == []
        now = await store.get(stored.code)
        assert now is not None and now.caused_by("reorganisation@v3") == [step.message]

    async def test_held_by_lists_only_open_routes_the_departments_hold(
            self, store: RouteStore) -> None:
        held, elsewhere, manual, closed = (new_route(1), new_route(2, "SO-XAY-DUNG"),
                                           new_route(3, manual=True), new_route(4))
        await store.create_many([held, elsewhere, manual, closed])
        resolved = RecordResolved(record_code=closed.code, department_code="SO-TU-PHAP",
                                  result_summary="Đã cấp", electronic_result=True)
        accepted = after_update(closed.route, RecordAccepted(record_code=closed.code,
                                                             department_code="SO-TU-PHAP"), ROUTED_AT)
        await store.apply(closed, "accepted-4", accepted, [])
        kept = await store.get(closed.code)
        assert kept is not None
        await store.apply(kept, "resolved-4", after_update(accepted, resolved, ROUTED_AT), [])
        assert [s.code async for s in store.held_by({"SO-TU-PHAP", MANUAL_QUEUE})] == [held.code]
        assert {s.code async for s in store.held_by(["SO-TU-PHAP", "SO-XAY-DUNG"])} == {
            held.code, elsewhere.code}

    async def test_the_manual_queue_lists_waiting_routes_longest_waiting_first_without_outboxes(
            self, store: RouteStore) -> None:
        later, routed, earlier, taken = (new_route(1, manual=True), new_route(2),
                                         new_route(3, manual=True), new_route(4, manual=True))
        later = replace(later, route=replace(later.route, assigned_at=ROUTED_AT + timedelta(hours=1)))
        await store.create_many([later, routed, earlier, taken])
        choice = Decision(department_code="SO-TU-PHAP", candidates_left=(), rule_id=None,
                          reason="chosen at the one-stop office by officer.lan: đúng thẩm quyền")
        await store.apply(taken, "manual@1", chosen(taken.route, choice, ROUTED_AT), [])
        assert await store.waiting(10) == [earlier.route, later.route]
        assert await store.waiting(1) == [earlier.route]
        kept = await store.get(taken.code)
        assert kept is not None and kept.route.reason == choice.reason
        assert kept.route.assigned_at == ROUTED_AT

    async def test_table_versions_are_insert_only_and_read_back_whole(
            self, store: RouteStore) -> None:
        first, reform = shipped_tables()
        assert await store.newest_table_version() is None
        assert await store.add_table(first) is True
        assert await store.add_table(reform) is True
        assert await store.add_table(first.model_copy(update={"departments": ()})) is False
        assert await store.newest_table_version() == reform.version
        kept = await store.table(first.version)
        assert kept is not None and kept.model_dump() == first.model_dump()
        assert await store.table(99) is None

    async def test_the_first_refusal_kept_is_the_one_every_redelivery_gets(
            self, store: RouteStore) -> None:
        first, second = message("feedback.SO-TU-PHAP.v1", 1), message("feedback.SO-TU-PHAP.v1", 2)
        assert await store.refusal("SO-TU-PHAP", "e1") is None
        assert await store.refuse("SO-TU-PHAP", "e1", first) == first
        assert await store.refuse("SO-TU-PHAP", "e1", second) == first
        assert await store.refusal("SO-TU-PHAP", "e1") == first
        assert await store.refusal("SO-XAY-DUNG", "e1") is None
