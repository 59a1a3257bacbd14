"""Working-hours arithmetic at day edges, and policies read from the catalogue."""

from __future__ import annotations

from datetime import timedelta

import pytest

from reference.catalog import load_catalog
from services.sla_monitor.domain import (
    ProcedurePolicy,
    SlaPolicy,
    add_working_time,
    subtract_working_time,
    working_hours_between,
)

from .factories import CAL, at

H = timedelta(hours=1)


def test_hours_between_skip_nights_weekends_and_tet() -> None:
    # Fri 16:00 -> Mon 09:00: 1 h Friday + 1 h Monday.
    assert working_hours_between(at("2025-11-14", 16), at("2025-11-17", 9), CAL) == 2.0
    assert working_hours_between(at("2025-11-17", 9), at("2025-11-14", 16), CAL) == -2.0
    # Fri 13 Feb 2026 16:00 -> Mon 23 Feb 09:00 spans Tết (14-22 Feb off): still 2 h.
    assert working_hours_between(at("2026-02-13", 16), at("2026-02-23", 9), CAL) == 2.0
    # The make-up Saturday 10 Jan 2026 is a full working day.
    assert working_hours_between(at("2026-01-09", 17), at("2026-01-12", 8), CAL) == 9.0


def test_adding_and_subtracting_working_time_land_in_office_hours() -> None:
    assert add_working_time(at("2025-11-14", 16), 2 * H, CAL) == at("2025-11-17", 9)
    assert add_working_time(at("2025-11-14", 8), 9 * H, CAL) == at("2025-11-14", 17)  # closing, not Monday
    assert add_working_time(at("2025-11-15", 12), H, CAL) == at("2025-11-17", 9)  # from a Saturday
    assert subtract_working_time(at("2025-11-17", 9), 2 * H, CAL) == at("2025-11-14", 16)
    assert subtract_working_time(at("2025-11-17", 17), 9 * H, CAL) == at("2025-11-17", 8)  # opening
    assert subtract_working_time(at("2026-02-23", 17), 18 * H, CAL) == at("2026-02-13", 8)


def test_policy_takes_waiting_time_from_the_catalogue_and_overrides_win() -> None:
    catalog = load_catalog()
    counting = [p.code for p in catalog if p.waiting_time_counts]
    not_counting = next(p.code for p in catalog if not p.waiting_time_counts)
    policy = SlaPolicy.from_catalog(catalog, overrides={not_counting: ProcedurePolicy(warning_fraction=0.5)})
    assert all(policy.for_procedure(code).waiting_time_counts for code in counting)
    assert policy.for_procedure(not_counting).warning_fraction == 0.5
    assert policy.for_procedure("9.999999.H40") == ProcedurePolicy()


def test_policy_names_the_bad_value() -> None:
    with pytest.raises(ValueError, match=r"warning_fraction has value 1\.5"):
        ProcedurePolicy(warning_fraction=1.5)
    with pytest.raises(ValueError, match="future_tolerance"):
        SlaPolicy(future_tolerance=-timedelta(seconds=1))
