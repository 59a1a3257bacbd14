"""The instant every test's service clocks start from, so no test depends on the day it runs.

A Wednesday morning in Vietnam, outside the SMS quiet hours, inside the shipped official
calendar: a 20-working-day procedure received then is due before the year ends, and tests that
move the clocks on by weeks stay inside the calendar files.
"""

from __future__ import annotations

from datetime import datetime

from reference.localtime import VIETNAM

MORNING = datetime(2026, 11, 25, 9, 0, tzinfo=VIETNAM)

TEST_CLOCK_ENV = {"MOTCUA_TEST_CLOCK": "true", "MOTCUA_TEST_CLOCK_START": MORNING.isoformat()}
"""What a service started as a process reads to run on the test clock from MORNING."""
