"""Path and query parameters every service's HTTP API shares."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

RECORD_CODE_PATTERN = r"^[0-9A-Z.]+-[0-9]{6}-[0-9]{4}$"
"""`<receiving unit>-<YYMMDD>-<NNNN>`, the record code intake gives (Circular 01/2018)."""

RecordCodePath = Annotated[str, Path(pattern=RECORD_CODE_PATTERN, max_length=64,
                                     description="The record code, e.g. 000.00.21.H40-261125-0001")]
