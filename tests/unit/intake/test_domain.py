"""Intake's pure rules: record codes, fingerprints, assessment, the event, tracking folds."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest

from reference.calendar import load_calendar
from reference.catalog import load_catalog
from reference.localtime import VIETNAM
from reference.units import load_units
from services.intake.domain import (
    PROVISIONAL_APPOINTMENT_NOTICE,
    Application,
    HistoryEntry,
    SequenceExhausted,
    TrackingChange,
    assess,
    due,
    fingerprint,
    fold,
    format_record_code,
    receipt,
    submitted_event,
)
from services.intake.examples import application

CATALOG = load_catalog()
UNITS = load_units()
CALENDAR = load_calendar()


def _application(code: str = "9.000003.000.00.00.H40", **changes: object) -> Application:
    body = application(CATALOG.get(code), UNITS, random.Random(5))
    body.update(changes)
    return Application.model_validate(body)


def test_record_code_follows_circular_01_2018() -> None:
    assert format_record_code("000.00.21.H40", date(2026, 11, 24), 7) == "000.00.21.H40-261124-0007"
    assert format_record_code("000.00.21.H40", date(2026, 1, 2), 9999).endswith("-260102-9999")
    with pytest.raises(SequenceExhausted):
        format_record_code("000.00.21.H40", date(2026, 11, 24), 10000)


def test_fingerprint_ignores_key_order_but_not_content() -> None:
    one = _application()
    reordered = Application.model_validate(dict(reversed(list(one.model_dump().items()))))
    assert fingerprint(one) == fingerprint(reordered)
    assert fingerprint(one) != fingerprint(one.model_copy(update={"reused_data": not one.reused_data}))


def test_a_complete_application_has_no_problem_and_defaults_to_the_applicants_commune() -> None:
    app = _application()
    result = assess(app, CATALOG, UNITS)
    assert result.problems == []
    assert result.administrative_unit_code == app.applicant.address.commune_code


def test_a_former_district_is_an_acceptable_administrative_unit() -> None:
    result = assess(_application(administrative_unit_code="412"), CATALOG, UNITS)
    assert result.problems == []
    assert result.administrative_unit_code == "412"


def test_several_problems_are_reported_together() -> None:
    app = _application(channel="counter", fee_vnd=5, documents=[])
    codes = {problem.code for problem in assess(app, CATALOG, UNITS).problems}
    assert {"channel_not_allowed", "fee_mismatch", "missing_required_document"} <= codes


def test_event_after_hours_counts_from_the_next_working_day_morning() -> None:
    app = _application()
    assessment = assess(app, CATALOG, UNITS)
    assert assessment.procedure is not None
    friday_evening = datetime(2026, 11, 20, 18, 30, tzinfo=VIETNAM)
    when = due(assessment.procedure, friday_evening, CALENDAR)
    event = submitted_event(app, assessment, "000.01.41.H40-261120-0001", when, CALENDAR)
    # accepted Monday 23 Nov 08:00; 7 working days after: Tue 2 Dec... 24,25,26,27,30 Nov, 1, 2 Dec
    assert event.accepted_at == datetime(2026, 11, 23, 8, 0, tzinfo=VIETNAM)
    assert event.appointment_original == datetime(2026, 12, 2, 17, 0, tzinfo=VIETNAM)
    assert event.appointment_current == event.appointment_original
    assert event.processing_level == CATALOG.get("9.000003.000.00.00.H40").handling_level
    assert event.applicant.citizen_id == app.applicant.citizen_id


def test_an_appointment_counted_on_the_provisional_year_says_it_may_move() -> None:
    app = _application("9.000010.000.00.00.H40")  # 10 working days
    assessment = assess(app, CATALOG, UNITS)
    assert assessment.procedure is not None and assessment.receiving_unit is not None
    december = datetime(2026, 12, 21, 9, 0, tzinfo=VIETNAM)
    when = due(assessment.procedure, december, CALENDAR)
    # 22-24, 25 (4), 28-31 (8), 1 Jan off, 4 Jan (9), 5 Jan (10): due in the provisional 2027.
    assert when.due_date == date(2027, 1, 5) and when.provisional
    event = submitted_event(app, assessment, "000.01.41.H40-261221-0001", when, CALENDAR)
    assert event.appointment_provisional
    form = receipt(event, when, assessment.receiving_unit)
    assert form.appointment_provisional
    assert form.appointment_notice == PROVISIONAL_APPOINTMENT_NOTICE
    assert "lịch nghỉ lễ chính thức" in form.appointment_notice[0]
    assert "official holiday calendar is published" in form.appointment_notice[1]
    november = due(assessment.procedure, datetime(2026, 11, 2, 9, 0, tzinfo=VIETNAM), CALENDAR)
    assert not november.provisional
    official = receipt(submitted_event(app, assessment, "000.01.41.H40-261102-0001", november,
                                       CALENDAR), november, assessment.receiving_unit)
    assert not official.appointment_provisional and official.appointment_notice == []


def test_tracking_fold_takes_the_latest_status_in_event_time() -> None:
    t0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
    new_date = t0 + timedelta(days=9)

    def entry(minutes: int, change: TrackingChange) -> HistoryEntry:
        return HistoryEntry(f"e{minutes}", "t", t0 + timedelta(minutes=minutes), change)

    history = [
        entry(2, TrackingChange("processing", "accepted")),
        entry(0, TrackingChange("received", "received")),
        entry(1, TrackingChange("transferred", "to CA-TINH", moves_department=True,
                                department_code="CA-TINH")),
        entry(3, TrackingChange(None, "late", appointment_current=new_date)),
    ]
    tracking = fold(t0 + timedelta(days=7), history)
    assert tracking.status == "processing"
    assert tracking.department_code == "CA-TINH"
    assert tracking.appointment_current == new_date
    assert [e.event_id for e in tracking.history] == ["e0", "e1", "e2", "e3"]
    returned = fold(t0, [*history, entry(4, TrackingChange(
        "awaiting_manual_routing", "manual", moves_department=True))])
    assert returned.department_code is None  # a manual decision: nobody holds it now
