"""The demo's report: a trace drawn as a tree, routing counted by what happened."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from contracts.envelope import Envelope, EventPayload
from contracts.records.v1 import RecordRouted
from contracts.samples import sample_payloads
from deploy.local.demo.summary import Span, latest_routing, routing_lines, span_tree, trace_id_of

T0 = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
TRACE = "ab" * 16


def span(process: str, name: str, span_id: str, parent: str | None, at: float, kind: str = "INTERNAL",
         trace: str = TRACE, event_type: str | None = None) -> Span:
    start = T0 + timedelta(seconds=at)
    return Span(process, name, span_id, parent, trace, start, start + timedelta(milliseconds=5), kind,
                event_type)


def test_trace_id_is_read_from_a_traceparent() -> None:
    assert trace_id_of(f"00-{TRACE}-{'cd' * 8}-01") == TRACE
    assert trace_id_of(None) is None
    assert trace_id_of("garbage") is None


def test_a_trace_is_a_tree_with_one_line_per_publish_and_other_traces_left_out() -> None:
    spans = [
        span("intake", "POST /applications", "1", None, 0.0, "SERVER"),
        span("intake", "records.submitted.v1 create", "2", "1", 0.1, "PRODUCER"),
        span("intake", "records.submitted.v1 publish", "3", "2", 0.1, "PRODUCER"),
        span("routing", "records.submitted.v1 process", "4", "2", 0.5, "CONSUMER",
             event_type="vn.motcua.record.submitted"),
        span("routing", "other work", "5", None, 0.2, trace="ef" * 16),
        span("notifier", "records.submitted.v1 process", "6", "3", 0.7, "CONSUMER"),
    ]
    lines = span_tree(spans, TRACE)
    assert "5 spans in 3 processes (intake, notifier, routing)" in lines[0]
    body = [line.strip() for line in lines[1:]]
    assert body[0].startswith("intake      server   POST /applications  +0.000s")
    assert body[1].startswith("intake      producer records.submitted.v1 publish  +0.100s")
    assert body[2].startswith("routing     consumer records.submitted.v1 process [submitted]  +0.500s")
    assert body[3].startswith("notifier    consumer records.submitted.v1 process  +0.700s")
    assert len(body) == 4  # the "publish" half of the pair is folded into its "create"
    indents = [len(line) - len(line.lstrip()) for line in lines[1:]]
    assert indents == [4, 6, 8, 8]


def test_a_long_trace_is_cut_with_the_count_left() -> None:
    spans = [span("intake", f"step {i}", str(i), None, i) for i in range(10)]
    lines = span_tree(spans, TRACE, limit=4)
    assert lines[-1].strip() == "… 6 more spans"
    assert len(lines) == 6


def test_no_span_of_the_trace_says_so() -> None:
    assert "no span" in span_tree([], TRACE)[0]


A, B, C = (f"000.00.21.H40-261126-000{i}" for i in (1, 2, 3))


def routed(code: str, department: str, decision: str, attempt: int, reason: str) -> Envelope[EventPayload]:
    sample = next(p for p in sample_payloads() if isinstance(p, RecordRouted))
    payload = sample.model_copy(update={
        "record_code": code, "department_code": department, "decision": decision, "attempt": attempt,
        "reason": reason, "department_topic": f"routed.{department}.v1"})
    return Envelope[EventPayload].wrap(payload, source="/test", time=T0)


def test_routing_is_counted_by_what_happened_and_where_each_record_is_now() -> None:
    events = [routed(A, "UBND-H-412", "routed", 1, "rule r1"),
              routed(A, "UBND-X-16681", "rerouted", 2, "successor of UBND-H-412 in table v2"),
              routed(B, "SO-TU-PHAP", "routed", 1, "rule r2"),
              routed(B, "MOT-CUA-TINH", "rerouted", 2, "returned by SO-TU-PHAP as misrouted"),
              routed(C, "CA-TINH", "routed", 1, "rule r3")]
    assert {c: d.department_code for c, d in latest_routing(events).items()} == {
        A: "UBND-X-16681", B: "MOT-CUA-TINH", C: "CA-TINH"}
    text = "\n".join(routing_lines(events))
    assert "3 routed, 2 re-routed (1 returned as misrouted, 1 moved by the 2025 reorganisation)" in text
    assert "commune People's Committees (UBND-X-…, 1 communes)  1" in text
