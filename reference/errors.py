"""Errors of the reference data, each naming the culprit so a caller can say what is missing."""

from __future__ import annotations


class ReferenceDataError(ValueError):
    """A shipped data file is malformed or contradicts itself."""


class YearNotCovered(LookupError):
    """A date falls in a year for which no official calendar was loaded."""

    def __init__(self, year: int, covered: frozenset[int]) -> None:
        self.year = year
        self.covered = covered
        listed = ", ".join(str(y) for y in sorted(covered)) or "none"
        super().__init__(
            f"no working calendar for year {year} (covered: {listed}); add "
            f"reference/data/calendar/{year}.json from the official announcement"
        )


class UnknownProcedure(LookupError):
    """A procedure code is not in the catalogue."""

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(f"unknown procedure code {code!r}")


class UnknownUnit(LookupError):
    """An administrative or receiving unit code is not in the unit list."""

    def __init__(self, kind: str, code: str) -> None:
        self.kind = kind
        self.code = code
        super().__init__(f"unknown {kind} code {code!r}")
