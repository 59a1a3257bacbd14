"""Decision 766 figures per department on a hand-made set of records, counted by hand."""

from __future__ import annotations

import json

from services.sla_monitor.domain import UNASSIGNED, Deadline, index_to_json, service_index

from .factories import (
    CAL,
    OTHER,
    accepted,
    apply,
    at,
    delay_reported,
    rejected,
    resolved,
    routed,
    run,
    submitted,
    supplement_requested,
)

NOW = at("2025-11-19", 10)  # Wed 19 Nov 2025 10:00


def held(n: int, accepted_on: str, days: int, dept: str = "SO-TU-PHAP") -> Deadline:
    code = f"000.00.21.H40-251110-{n:04d}"
    return run((submitted(at(accepted_on), days, code), at(accepted_on)),
               (routed(dept, code=code), at(accepted_on, 11)), (accepted(dept, code), at(accepted_on, 12)))


def records() -> list[Deadline]:
    # Three-day records accepted Mon 10 Nov are due Thu 13 Nov 17:00.
    a = apply(held(1, "2025-11-10", 3), resolved("000.00.21.H40-251110-0001"), at("2025-11-12"))  # early
    # On time: done on the due day.
    b = apply(held(2, "2025-11-10", 3), resolved("000.00.21.H40-251110-0002"), at("2025-11-13", 15))
    # Done Mon 17: Fri 14, Mon 17 -> 2 days late.
    c = apply(held(3, "2025-11-10", 3), resolved("000.00.21.H40-251110-0003"), at("2025-11-17"))
    # Open on Wed 19: Fri 14, Mon 17, Tue 18, Wed 19 -> 4 days late so far.
    d = held(4, "2025-11-10", 3)
    # 10 days from Mon 17: due Mon 1 Dec; nearly late from Fri 28 Nov 08:00 (20 % = 18 h).
    e = held(5, "2025-11-17", 10)
    # 2 days from Mon 17: due Wed 19 17:00; nearly late from Wed 19 08:00 (1 day > 20 % of 18 h).
    f = held(6, "2025-11-17", 2)
    # New date Fri 21 reported Thu 13; done Tue 18: early against Fri 21, but 3 days (Fri 14,
    # Mon 17, Tue 18) late against Thu 13.
    g = apply(held(7, "2025-11-10", 3), delay_reported(at("2025-11-21"), "000.00.21.H40-251110-0007"),
              at("2025-11-13", 9))
    g = apply(g, resolved("000.00.21.H40-251110-0007"), at("2025-11-18"))
    # OTHER. 5 days from Mon 10 (due Mon 17), waiting since Wed 12: if supplied today the wait
    # is Thu 13 ... Wed 19 = 5 days -> due Mon 24, nearly late from Fri 21 08:00: not yet.
    h = apply(held(8, "2025-11-10", 5, OTHER), supplement_requested("000.00.21.H40-251110-0008"),
              at("2025-11-12"))
    # Refused Fri 14 for a Thu 13 due day: 1 day late.
    i = apply(held(9, "2025-11-10", 3, OTHER), rejected("000.00.21.H40-251110-0009"), at("2025-11-14"))
    # Never routed, 3 days from Mon 17: due Thu 20, nearly late only from Thu 20 08:00.
    j = run((submitted(at("2025-11-17"), 3, "000.00.21.H40-251110-0010"), at("2025-11-17")))
    return [a, b, c, d, e, f, g, h, i, j]


def test_figures_against_the_original_appointment() -> None:
    index = service_index(records(), NOW, CAL)
    assert sorted(index) == sorted(["SO-TU-PHAP", OTHER, UNASSIGNED])
    dept = index["SO-TU-PHAP"]
    assert (dept.done_early, dept.done_on_time, dept.done_late) == (1, 1, 2)
    assert (dept.in_progress_not_due, dept.in_progress_nearly_late, dept.in_progress_late) == (1, 1, 1)
    assert dept.to_handle == 7
    # Late: done c, g + in progress d = 3 of 7 = 42.857 %; lateness (2 + 3 + 4) / 3 = 3.
    assert (dept.late_rate_percent, dept.on_time_rate_percent) == (42.86, 57.14)
    assert dept.average_lateness_working_days == 3.0
    other = index[OTHER]
    assert (other.in_progress_not_due, other.done_late, other.late_rate_percent) == (1, 1, 50.0)
    assert other.average_lateness_working_days == 1.0
    nobody = index[UNASSIGNED]
    assert (nobody.in_progress_not_due, nobody.late_rate_percent) == (1, 0.0)
    assert nobody.on_time_rate_percent == 100.0
    assert nobody.average_lateness_working_days is None


def test_figures_against_the_current_appointment_excuse_the_reported_delay() -> None:
    dept = service_index(records(), NOW, CAL, basis="current")["SO-TU-PHAP"]
    # g becomes early: late are c and d, 2 of 7 = 28.571 %; lateness (2 + 4) / 2 = 3.
    assert (dept.done_early, dept.done_late, dept.late_rate_percent) == (2, 1, 28.57)
    assert dept.on_time_rate_percent == 71.43


def test_a_record_open_at_closing_time_of_its_due_day_is_late_by_one_day() -> None:
    index = service_index(records(), at("2025-11-19", 17, 30), CAL)
    # f (due Wed 19 17:00) joins d: d is late by 4 days, f by at least 1.
    dept = index["SO-TU-PHAP"]
    assert dept.in_progress_late == 2 and dept.in_progress_nearly_late == 0
    assert dept.average_lateness_working_days == round((2 + 3 + 4 + 1) / 4, 2)


def test_index_is_json_ready() -> None:
    data = index_to_json(service_index(records(), NOW, CAL))
    text = json.dumps(data)
    assert json.loads(text)["SO-TU-PHAP"]["to_handle"] == 7
    assert data[OTHER]["done"] == 1 and data[OTHER]["in_progress"] == 1
