"""What the demo prints at the end: counts people recognise, and one record's trace as a tree.

Pure functions over what the watcher saw, what the sinks received and the span files the
services wrote (`MOTCUA_TRACE_FILE`), so the report can be tested without a running system.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from contracts.envelope import Envelope, EventPayload
from contracts.notifications.v1 import NotificationFailed, NotificationOutcome, NotificationSent
from contracts.records.v1 import RecordRouted
from contracts.sla.v1 import EscalationRaised

_ALERT_NAMES = {
    "vn.motcua.sla.deadline-warning": "warnings (nearly late)",
    "vn.motcua.sla.deadline-breached": "breaches (late)",
    "vn.motcua.sla.escalation-raised": "escalations",
    "vn.motcua.sla.record-stuck-in-routing": "stuck in routing",
    "vn.motcua.sla.delay-explanation-requested": "delay reasons asked of departments",
    "vn.motcua.sla.apology-due": "apologies with a new date due",
}


def table(rows: Iterable[tuple[str, object]], indent: int = 4) -> list[str]:
    rows = list(rows)
    width = max((len(name) for name, _ in rows), default=0)
    return [f"{' ' * indent}{name:<{width}}  {value}" for name, value in rows]


def latest_routing(routed: Sequence[Envelope[EventPayload]]) -> dict[str, RecordRouted]:
    """Each record's latest routing decision (the highest attempt, then the latest)."""
    latest: dict[str, RecordRouted] = {}
    for envelope in routed:
        decision = envelope.data
        if not isinstance(decision, RecordRouted):
            continue
        known = latest.get(decision.record_code)
        if known is None or (decision.attempt, decision.rule_version) >= (known.attempt, known.rule_version):
            latest[decision.record_code] = decision
    return latest


def routing_lines(routed: Sequence[Envelope[EventPayload]]) -> list[str]:
    decisions = [e.data for e in routed if isinstance(e.data, RecordRouted)]
    kinds = Counter(d.decision for d in decisions)
    moved_by_reform = sum(1 for d in decisions if d.decision == "rerouted" and "successor" in d.reason)
    returned = sum(1 for d in decisions if d.decision == "rerouted" and "misrouted" in d.reason)
    lines = [f"  routing decisions: {kinds['routed']} routed, {kinds['rerouted']} re-routed "
             f"({returned} returned as misrouted, {moved_by_reform} moved by the 2025 reorganisation), "
             f"{kinds['manual']} to the one-stop office's manual queue"]
    by_department = Counter(d.department_code for d in latest_routing(routed).values())
    communes = {code: n for code, n in by_department.items() if code.startswith("UBND-X-")}
    rows = [(code, n) for code, n in by_department.most_common() if code not in communes]
    if communes:
        rows.append((f"commune People's Committees (UBND-X-…, {len(communes)} communes)",
                     sum(communes.values())))
    lines.append("  records per department (where each is now):")
    lines += table(rows)
    return lines


def alert_lines(alerts: Sequence[Envelope[EventPayload]]) -> list[str]:
    counted = Counter(e.type for e in alerts)
    lines = ["  SLA alerts:"]
    lines += table((name, counted.get(kind, 0)) for kind, name in _ALERT_NAMES.items())
    escalations = Counter((e.data.recipient_role, e.data.kind, e.data.level) for e in alerts
                          if isinstance(e.data, EscalationRaised))
    lines += [f"      {count} {kind} → {role} (level {level})"
              for (role, kind, level), count in sorted(escalations.items())]
    return lines


def notification_lines(outcomes: Sequence[Envelope[EventPayload]], received: Counter[str]) -> list[str]:
    sent = Counter((e.data.channel, e.data.recipient_role) for e in outcomes
                   if isinstance(e.data, NotificationSent))
    failed = Counter((e.data.channel, e.data.reason) for e in outcomes
                     if isinstance(e.data, NotificationFailed))
    templates = Counter(e.data.template for e in outcomes if isinstance(e.data, NotificationSent))
    lines = ["  notifications, by channel and recipient:"]
    lines += table((f"{channel} to {role}", count) for (channel, role), count in sorted(sent.items()))
    if failed:
        lines += table((f"{channel} failed ({reason})", count)
                       for (channel, reason), count in sorted(failed.items()))
    lines.append("  by letter: " + ", ".join(f"{name} {count}" for name, count in sorted(templates.items())))
    lines.append("  messages received by the local mail server, SMS gateway and webhook receiver: "
                 + ", ".join(f"{channel} {count}" for channel, count in sorted(received.items()))
                 + " (notifications to one recipient close in time fold into one digest)")
    return lines


def outcomes_of(record: str, outcomes: Sequence[Envelope[EventPayload]]) -> list[NotificationOutcome]:
    return [e.data for e in outcomes if isinstance(e.data, NotificationOutcome) and e.record_id == record]


# --- spans ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Span:
    process: str
    name: str
    span_id: str
    parent_id: str | None
    trace_id: str
    start: datetime
    end: datetime
    kind: str
    event_type: str | None = None


def read_spans(folder: Path, processes: Iterable[str]) -> list[Span]:
    """The spans each service appended to `<folder>/<service>.jsonl`."""
    found: list[Span] = []
    for process in processes:
        path = folder / f"{process}.jsonl"
        if not path.exists():
            continue
        for line in path.read_text("utf-8").splitlines():
            if line.strip():
                found.append(_span(process, json.loads(line)))
    return found


def _span(process: str, raw: dict[str, Any]) -> Span:
    return Span(process=process, name=raw["name"], span_id=raw["context"]["span_id"],
                parent_id=raw.get("parent_id"), trace_id=raw["context"]["trace_id"].removeprefix("0x"),
                start=datetime.fromisoformat(raw["start_time"]),
                end=datetime.fromisoformat(raw["end_time"]), kind=raw["kind"].removeprefix("SpanKind."),
                event_type=(raw.get("attributes") or {}).get("motcua.event_type"))


def trace_id_of(traceparent: str | None) -> str | None:
    """The trace id inside a W3C traceparent (`00-<trace id>-<span id>-<flags>`)."""
    parts = traceparent.split("-") if traceparent else []
    return parts[1] if len(parts) == 4 else None


def span_tree(spans: Sequence[Span], trace_id: str, limit: int = 60) -> list[str]:
    """The trace's spans as an indented tree: process, operation, start offset and duration."""
    journey = sorted((s for s in spans if s.trace_id == trace_id), key=lambda s: s.start)
    if not journey:
        return ["    (no span of this trace was written)"]
    by_id = {s.span_id: s for s in journey}
    # A publish is recorded twice (message created, then sent): show one line, "publish".
    hidden = {s.span_id: s.parent_id for s in journey if s.name.endswith(" publish")
              and s.parent_id in by_id and by_id[s.parent_id].name.endswith(" create")}
    children: dict[str | None, list[Span]] = {}
    for span in journey:
        if span.span_id in hidden:
            continue
        parent = hidden.get(span.parent_id or "", span.parent_id)
        children.setdefault(parent if parent in by_id else None, []).append(span)
    origin = journey[0].start
    lines: list[str] = []

    def walk(parent: str | None, depth: int) -> None:
        for span in children.get(parent, []):
            offset = (span.start - origin).total_seconds()
            took = (span.end - span.start).total_seconds() * 1000
            name = span.name.removesuffix(" create") + " publish" if span.name.endswith(" create") \
                else span.name
            what = f" [{span.event_type.rsplit('.', 1)[-1]}]" if span.event_type else ""
            lines.append(f"    {'  ' * depth}{span.process:<11} {span.kind.lower():<8} {name}{what}"
                         f"  +{offset:.3f}s ({took:.1f} ms)")
            walk(span.span_id, depth + 1)

    walk(None, 0)
    processes = sorted({s.process for s in journey})
    header = (f"    {len(journey)} spans in {len(processes)} processes ({', '.join(processes)}); "
              "offsets in real seconds from the request")
    if len(lines) > limit:
        lines = [*lines[:limit], f"    … {len(lines) - limit} more spans"]
    return [header, *lines]
