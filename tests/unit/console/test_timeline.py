"""The timeline puts what intake and the SLA monitor know of a record in one time order."""

from __future__ import annotations

from services.console.timeline import moments


def test_history_pauses_alerts_and_closure_in_time_order() -> None:
    record = {"history": [
        {"at": "2026-11-25T09:00:00+07:00", "event_type": "vn.motcua.record.submitted",
         "summary": "received"},
        {"at": "2026-11-26T10:00:00+07:00", "event_type": "vn.motcua.record.supplement-requested",
         "summary": "supplement asked"},
    ]}
    deadline = {
        "pauses": [{"requested_at": "2026-11-26T10:00:01+07:00", "paused_on": "2026-11-26",
                    "resumed_on": None}],
        "extensions": [], "breached_at": "2026-12-01T17:00:00+07:00",
        "alerts": [{"due_at": "2026-11-30T08:00:00+07:00", "rule": "warning",
                    "event_type": "vn.motcua.sla.deadline-warning", "sent": True},
                   {"due_at": "2026-12-02T08:00:00+07:00", "rule": "escalation-1",
                    "event_type": "vn.motcua.sla.escalation-raised", "sent": False}],
        "closure": None,
    }
    found = moments(record, deadline)
    assert [(m.service, m.kind) for m in found] == [
        ("intake", "submitted"), ("intake", "supplement-requested"), ("sla_monitor", "paused"),
        ("sla_monitor", "deadline-warning"), ("sla_monitor", "breached"),
        ("sla_monitor", "escalation-raised")]
    assert found[2].text == "2026-11-26 → …"
    assert found[-1].text == "escalation-1 (pending)"


def test_a_record_only_one_service_knows_still_has_a_timeline() -> None:
    assert [m.kind for m in moments(None, {"pauses": [], "alerts": [], "closure": {
        "closed_at": "2026-12-03T10:00:00+07:00", "closed_by": "resolved", "outcome": "late"}})] == [
        "closed"]
    assert moments(None, None) == []
