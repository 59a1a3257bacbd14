"""How a service process is served: the standard asyncio loop, whatever else is installed."""

from __future__ import annotations

from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

from services.intake.settings import IntakeSettings
from services.runtime import run


def test_a_service_runs_on_the_standard_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """On uvloop, a write to a connection the broker closed raised inside aiokafka's group
    coordinator and ended it: after a Kafka restart the notifier's consumer never rejoined."""
    served: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: served.update(options))
    monkeypatch.setattr(run, "configure_logging", lambda *_: None)  # the test's logging stays
    run.serve(FastAPI(), IntakeSettings.model_construct(service_name="intake", log_level="INFO",
                                                        http_host="127.0.0.1", http_port=0,
                                                        graceful_timeout_s=5.0))
    assert served["loop"] == "asyncio"
