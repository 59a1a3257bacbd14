"""From 1 October, next year's calendar is looked at: missing or provisional needs an operator."""

from __future__ import annotations

from datetime import date

from reference.calendar import load_calendar
from reference.calendar_outlook import next_year_outlook

CAL = load_calendar()


def test_before_october_nothing_needs_attention_yet() -> None:
    outlook = next_year_outlook(CAL, date(2026, 9, 30))
    assert (outlook.year, outlook.status, outlook.attention) == (2027, "provisional", False)


def test_from_october_a_provisional_next_year_needs_attention() -> None:
    outlook = next_year_outlook(CAL, date(2026, 10, 1))
    assert (outlook.year, outlook.status, outlook.attention) == (2027, "provisional", True)
    assert "2027.json" in outlook.message() and "provisional" in outlook.message()


def test_from_october_a_missing_next_year_needs_attention() -> None:
    outlook = next_year_outlook(CAL, date(2027, 12, 31))
    assert (outlook.year, outlook.status, outlook.attention) == (2028, "missing", True)
    assert "no working calendar for 2028" in outlook.message()


def test_an_official_next_year_never_needs_attention() -> None:
    outlook = next_year_outlook(CAL, date(2025, 11, 3))
    assert (outlook.year, outlook.status, outlook.attention) == (2026, "official", False)
