"""The demo's story, phase by phase, against the four services running as processes.

Every service runs on a test clock started at the same working morning; the demo moves all four
together (`POST /test-clock/set`), so days pass in seconds and deadlines warn, breach and escalate
as the rules say. The local stack starts with fresh data, so the summary is this run's alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import httpx

from contracts import topics
from contracts.records.v1 import RecordSubmitted
from deploy.access.authority import BrokerAuthority
from deploy.local.issuer import LocalIssuer
from deploy.local.sinks import Delivery, Outbox
from reference.calendar import load_calendar
from reference.catalog import load_catalog
from reference.localtime import local_instant, to_local
from reference.units import load_units
from services.routing.domain.tables import shipped_tables

from . import summary
from .mix import Invalid, Planned, invalid_mix, valid_mix
from .period import DemoPeriod, demo_period, story_working_days
from .players import DemoClock, Departments, Watcher

SERVICES = ("intake", "routing", "sla_monitor", "notifier")
OPENING = time(8, 0)


def story_period(now: datetime) -> DemoPeriod:
    """The days the demo's mix runs on when started at `now` (today's, if the calendars hold
    them all): every service's test clock starts at its first morning."""
    catalog, units = load_catalog(), load_units()
    old, _ = shipped_tables()
    longest = max(catalog.get(p.body["procedure_code"]).processing_days
                  for p in valid_mix(catalog, units, old))
    return demo_period(now, load_calendar(), story_working_days(longest))


def supervisors(outbox_hook: Callable[[str], str]) -> dict[str, Any]:
    """The supervisor directory of the demo: every role by official mailbox, department heads also
    by their system's webhook."""
    return {"roles": {
        "department_head": [{"channel": "email", "address": "truong.phong@motcua.local"},
                            {"channel": "webhook", "address": outbox_hook("department-heads")}],
        "provincial_supervisor": [{"channel": "email", "address": "giam.sat@motcua.local"}],
        "one_stop_office_supervisor": [{"channel": "email", "address": "mot.cua@motcua.local"}],
    }}


@dataclass
class Story:
    """What the demo did and saw, for the summary."""

    planned: dict[str, Planned] = field(default_factory=dict)
    refused: list[tuple[Invalid, int, dict[str, Any]]] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    shown: str | None = None
    """The record whose letter and trace were shown."""
    letter: Delivery | None = None
    trace: list[str] = field(default_factory=list)


class Demo:
    def __init__(self, urls: Mapping[str, str], authority: BrokerAuthority, issuer: LocalIssuer,
                 namespace: str, outbox: Outbox, clock: DemoClock, trace_dir: Path,
                 say: Callable[[str], None]) -> None:
        self.urls, self.namespace = urls, namespace
        self.outbox, self.clock, self.trace_dir, self.say = outbox, clock, trace_dir, say
        self.calendar = load_calendar()
        self.catalog, self.units = load_catalog(), load_units()
        self.story = Story()
        # The province's staff (moving the test clocks, publishing a table, reading deadlines),
        # the portal submitting for applicants, and applicants tracking with their receipts.
        self.http = httpx.AsyncClient(timeout=30, headers=issuer.headers(
            "admin", "operator", "supervisor", subject="demo-operator"))
        self.portal = httpx.AsyncClient(timeout=30, headers=issuer.headers(
            "portal", subject="portal", client="dich-vu-cong-nghe-an"))
        self.citizen = httpx.AsyncClient(timeout=30)
        self.secrets: dict[str, str] = {}
        """Each record's lookup secret, from its receipt."""
        self.departments = Departments(authority, namespace, {}, clock, self.calendar)
        self.watcher = Watcher(authority.admin, namespace, on_alert=self.departments.on_alert,
                               on_routed=self.departments.on_routed)

    async def run(self) -> None:
        try:
            await self.watcher.start()
            await self.set_clocks(self.clock.now() + timedelta(minutes=1))
            await self.submit()
            await self.first_answers()
            await self.reorganise()
            await self.next_day()
            await self.past_due()
            await self.late_results()
            await self.report()
        finally:
            await self.departments.stop()
            await self.watcher.stop()
            await self.http.aclose()
            await self.portal.aclose()
            await self.citizen.aclose()

    # --- moving time ---------------------------------------------------------------------------

    async def set_clocks(self, at: datetime) -> None:
        """Every service's test clock to `at` at once (they only move forward)."""
        answers = await asyncio.gather(*(self.http.post(f"{url}/test-clock/set",
                                                        json={"at": at.isoformat()})
                                         for url in self.urls.values()), return_exceptions=True)
        for (name, url), answer in zip(self.urls.items(), answers, strict=True):
            if isinstance(answer, BaseException):
                raise RuntimeError(f"{name} at {url} did not answer: {answer!r}")
            if answer.status_code != 200:
                raise RuntimeError(f"{name} refused to move its clock: {answer.text}")
        self.clock.set(at)

    def working_hours(self, at: datetime) -> datetime:
        """`at`, or the next opening when it falls outside office hours (no SMS at night)."""
        local = to_local(at)
        if self.calendar.is_working_day(local.date()) and OPENING <= local.time() <= time(17, 0):
            return at
        day = local.date() if local.time() < OPENING else local.date() + timedelta(days=1)
        while not self.calendar.is_working_day(day):
            day += timedelta(days=1)
        return local_instant(day, OPENING)

    # --- the phases ----------------------------------------------------------------------------

    async def submit(self) -> None:
        old, _ = shipped_tables()
        valid = valid_mix(self.catalog, self.units, old)
        invalid = invalid_mix(self.catalog, self.units)
        self.say(f"[1/6] {to_local(self.clock.now()):%a %d/%m %H:%M}  applicants submit "
                 f"{len(valid)} applications online, and {len(invalid)} with a mistake")
        intake = self.urls["intake"]
        for planned in valid:
            answer = await self.portal.post(f"{intake}/applications", json=planned.body,
                                            headers={"Idempotency-Key": str(uuid.uuid4())})
            answer.raise_for_status()
            code = answer.json()["record_code"]
            self.secrets[code] = answer.json()["receipt"]["lookup_secret"]
            self.story.planned[code] = planned
            self.departments.plan[code] = planned.behaviour
        for wrong in invalid:
            answer = await self.portal.post(f"{intake}/applications", json=wrong.body,
                                            headers={"Idempotency-Key": str(uuid.uuid4())})
            self.story.refused.append((wrong, answer.status_code, answer.json()))
        procedures = len({p.body["procedure_code"] for p in valid})
        communes = len({p.body["applicant"]["address"]["commune_code"] for p in valid})
        self.say(f"      {len(valid)} received ({procedures} procedures, {communes} communes); "
                 f"{sum(1 for _, status, _ in self.story.refused if status == 422)} refused with reasons:")
        for _, status, body in self.story.refused:
            problems = body.get("errors") or []
            first = problems[0] if problems else {}
            self.say(f"        {status} {first.get('code', body.get('type', '?'))}: "
                     f"{first.get('message', body.get('detail', ''))}")

    async def first_answers(self) -> None:
        self.say("[2/6] routing sends each record to its department; the departments accept, ask for "
                 "supplements, refuse, or return records that are not theirs")
        codes = set(self.story.planned)
        await self.watcher.settle(quiet_s=2.0, limit_s=120, until=lambda: codes <= self.routed_codes())
        self.say(f"      {len(self.routed_codes() & codes)}/{len(codes)} records routed; "
                 f"{sum(len(v) for v in self.departments.answered.values())} answers from departments")
        broken = next((code for code in sorted(codes) if self.departments.playing(code)), None)
        if broken is not None:
            await self.departments.answer_broken(broken)
            self.say(f"      one department's client sends a malformed answer for {broken}: routing "
                     "dead-letters it for the operators (console: /dead-letters)")

    async def reorganise(self) -> None:
        _, reform = shipped_tables()
        held = [c for c in self.story.planned if (self.departments.holder(c) or "").startswith("UBND-H-")]
        self.say(f"[3/6] the 2025 reorganisation is published (routing table v{reform.version}): "
                 f"{len(held)} records held by dissolved district People's Committees must move")
        answer = await self.http.post(f"{self.urls['routing']}/admin/tables",
                                      json=reform.model_dump(mode="json"), timeout=300)
        answer.raise_for_status()
        def all_moved() -> bool:
            return not any((self.departments.holder(c) or "").startswith("UBND-H-") for c in held)

        await self.watcher.settle(quiet_s=2.0, limit_s=60, until=all_moved)
        moved = Counter(self.departments.holder(c) for c in held)
        self.say(f"      moved: {answer.json().get('moved')}; now at "
                 + ", ".join(f"{d} ({n})" for d, n in moved.items()))

    async def next_day(self) -> None:
        day = self.calendar.next_working_day(to_local(self.clock.now()).date())
        await self.set_clocks(local_instant(day, time(9, 0)))
        done = await self.departments.finish_on_time()
        self.say(f"[4/6] {to_local(self.clock.now()):%a %d/%m %H:%M}  applicants bring what was "
                 f"missing; {len(done)} records resolved on time")
        await self.until_closed(done)
        await self.watcher.settle(quiet_s=2.0, limit_s=60)

    async def past_due(self) -> None:
        late = [c for c, p in self.story.planned.items()
                if p.behaviour in ("late", "late_explained", "ignore")]
        dues = {c: d for c in late if (d := await self.due_of(c)) is not None}
        if not dues:
            self.say("[5/6] no open record to let run late")
            return
        self.say(f"[5/6] {len(dues)} records are let run late (some departments report a reason "
                 "and a new date, some say nothing, some records nobody accepted)")
        # Stop half an hour before each due time a department will explain, so the request for
        # its reason comes, and its answer reaches the applicant, before the record is late.
        explained = sorted({due for code, due in dues.items()
                            if self.story.planned[code].behaviour == "late_explained"})
        for due in explained:
            stop = self.working_hours(due - timedelta(minutes=30))
            if stop > self.clock.now():
                await self.set_clocks(stop)
                self.say(f"      {to_local(self.clock.now()):%a %d/%m %H:%M}  half an hour before a due "
                         "time: warnings, and the department asked for the reason of the delay")
                asked = {c for c, d in dues.items() if d == due
                         and self.story.planned[c].behaviour == "late_explained"}
                await self.until_asked(asked)
        last = to_local(max(dues.values()))
        after = local_instant(self.calendar.add_working_days(last.date(), 3), time(9, 0))
        await self.set_clocks(after)
        self.say(f"      {to_local(self.clock.now()):%a %d/%m %H:%M}  three working days after the last "
                 "due time: breaches, escalations to supervisors, apologies with a new date")

        def all_escalated() -> bool:
            """Every late record has its apology; those without a department's new date (which
            may lie later still) are escalated too."""
            fired = {(e.record_id, e.type) for e in self.watcher.of(topics.SLA_ALERTS)}
            return all((code, "vn.motcua.sla.apology-due") in fired
                       and ((code, "vn.motcua.sla.escalation-raised") in fired
                            or "delay-reported" in self.departments.answered[code]) for code in dues)

        await self.watcher.settle(quiet_s=2.5, limit_s=120, until=all_escalated)

    async def late_results(self) -> None:
        reported = sum("delay-reported" in answers for answers in self.departments.answered.values())
        self.say(f"      {reported} of {len(self.departments.delay_asked)} departments asked reported a "
                 "reason and a new date before their due time")
        done = await self.departments.finish_late()
        self.say(f"[6/6] {to_local(self.clock.now()):%a %d/%m %H:%M}  {len(done)} late records are "
                 "resolved at last; applicants are told their results are ready")
        await self.until_closed(done)
        await self.watcher.settle(quiet_s=2.5, limit_s=60)

    # --- reading the system --------------------------------------------------------------------

    async def until_asked(self, codes: set[str]) -> None:
        """Wait until these records' departments were asked for the reason of their delay."""
        await self.watcher.settle(quiet_s=2.0, limit_s=60,
                                  until=lambda: codes <= set(self.departments.delay_asked))

    async def until_closed(self, codes: list[str], limit_s: float = 90.0) -> None:
        """Wait until the SLA monitor has closed these records (it reads the answers from Kafka)."""
        waiting, started = set(codes), asyncio.get_running_loop().time()
        while waiting and asyncio.get_running_loop().time() - started < limit_s:
            for code in list(waiting):
                answer = await self.http.get(f"{self.urls['sla_monitor']}/deadlines/{code}")
                if answer.status_code == 200 and answer.json().get("closure"):
                    waiting.discard(code)
            if waiting:
                await asyncio.sleep(0.5)

    def routed_codes(self) -> set[str]:
        return {e.record_id for e in self.watcher.of(topics.RECORDS_ROUTED)}

    async def due_of(self, code: str) -> datetime | None:
        answer = await self.http.get(f"{self.urls['sla_monitor']}/deadlines/{code}")
        if answer.status_code != 200:
            return None
        state = answer.json()
        if state.get("closed_at") or not state.get("due_current_at"):
            return None
        return datetime.fromisoformat(state["due_current_at"])

    async def track(self, code: str) -> httpx.Response:
        """The record as its applicant sees it: the code and the secret of the receipt."""
        return await self.citizen.get(f"{self.urls['intake']}/records/{code}",
                                      headers={"X-Lookup-Secret": self.secrets.get(code, "")})

    async def statuses(self) -> Counter[str]:
        found: Counter[str] = Counter()
        for code in self.story.planned:
            answer = await self.track(code)
            found[answer.json().get("status", "?") if answer.status_code == 200 else "unknown"] += 1
        return found

    async def report(self) -> None:
        seen, say = self.watcher, self.say
        say("")
        say("summary")
        say("  records by status (as applicants see them):")
        self.story.statuses = await self.statuses()
        for line in summary.table(self.story.statuses.most_common()):
            say(line)
        for line in summary.routing_lines(seen.of(topics.RECORDS_ROUTED)):
            say(line)
        for line in summary.alert_lines(seen.of(topics.SLA_ALERTS)):
            say(line)
        received: Counter[str] = Counter(d.channel for d in self.outbox.snapshot())
        for line in summary.notification_lines(seen.of(topics.NOTIFICATION_OUTCOMES), received):
            say(line)
        refusals = (await self.http.get(f"{self.urls['sla_monitor']}/refusals",
                                        params={"limit": 1000})).json()
        if refusals:
            say("  events the SLA monitor refused (each left the deadline as it was): " + ", ".join(
                f"{reason} {n}" for reason, n in Counter(r["reason"] for r in refusals).most_common()))
        letters = (await self.http.get(f"{self.urls['routing']}/dead-letters")).json()
        say("  dead letters waiting for an operator: " + (", ".join(
            f"{t['topic']} {t['waiting']}" for t in letters["topics"] if t["waiting"]) or "none"))
        await self.show_one_record()
        for error in self.watcher.errors:
            self.say(f"demo error: {error}")

    async def show_one_record(self) -> None:
        """The story of one late record: its history, its apology letter, and its trace."""
        outcomes = self.watcher.of(topics.NOTIFICATION_OUTCOMES)
        candidates = [c for c, p in self.story.planned.items() if p.behaviour == "late_explained"]
        candidates += [c for c, p in self.story.planned.items() if p.behaviour == "late"]
        letters = {c: letter for c in candidates if (letter := self.letter(c, outcomes)) is not None}
        told = sorted(letters, key=lambda c: letters[c].channel != "email")  # a letter reads better
        code = told[0] if told else candidates[0] if candidates else next(iter(self.story.planned))
        self.story.shown = code
        self.say("")
        self.say(f"one record: {code} ({self.story.planned[code].body['procedure_code']}, "
                 f"the department is late)")
        answer = await self.track(code)
        if answer.status_code == 200:
            tracking = answer.json()
            self.say(f"  appointment {tracking['appointment_original']} → now "
                     f"{tracking['appointment_current']}; status {tracking['status']}")
            for entry in tracking["history"]:
                self.say(f"    {entry.get('at', '')[:16]}  {entry['summary']}")
        letter = self.story.letter = letters.get(code)
        if letter is not None:
            self.say(f"  the apology letter ({letter.channel}, \"{letter.subject}\"):")
            for line in letter.text.strip().splitlines()[:14]:
                self.say(f"    | {line}")
        submitted = next((e for e in self.watcher.of(topics.RECORDS_SUBMITTED) if e.record_id == code
                          and isinstance(e.data, RecordSubmitted)), None)
        trace_id = summary.trace_id_of(submitted.traceparent if submitted else None)
        self.say(f"  its trace {trace_id}, from the span files of the four services:")
        await asyncio.sleep(0.5)  # the last consumers may still be writing their spans
        spans = summary.read_spans(self.trace_dir, SERVICES)
        self.story.trace = summary.span_tree(spans, trace_id or "")
        for line in self.story.trace:
            self.say(line)

    def letter(self, code: str, outcomes: list[Any]) -> Delivery | None:
        """The record's apology as the applicant received it, by email if it went both ways."""
        keys = {o.notification_id for o in summary.outcomes_of(code, outcomes)
                if o.template.startswith("apology") and o.recipient_role == "applicant"}
        letters = sorted((d for d in self.outbox.snapshot() if d.key in keys),
                         key=lambda d: d.channel != "email")
        return letters[0] if letters else None


async def run_demo(urls: Mapping[str, str], authority: BrokerAuthority, issuer: LocalIssuer,
                   namespace: str, outbox: Outbox, clock: DemoClock, trace_dir: Path,
                   say: Callable[[str], None]) -> Demo:
    demo = Demo(urls, authority, issuer, namespace, outbox, clock, trace_dir, say)
    with contextlib.suppress(asyncio.CancelledError):
        await demo.run()
    return demo
