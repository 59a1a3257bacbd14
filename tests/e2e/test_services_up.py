"""The four services as separate processes: each answers its health check and stops on SIGTERM."""

from __future__ import annotations

import json
import signal
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, cast

import pytest

from deploy.local.services import ServiceFleet
from tests.endpoints import Endpoints
from tests.timeline import TEST_CLOCK_ENV

pytestmark = pytest.mark.integration


LOCKED = {"intake": "/records/000.00.21.H40-261124-0001", "routing": "/admin/tables/current",
          "sla_monitor": "/index", "notifier": "/parked"}
"""A route of each service that needs a credential."""
CALENDAR_USERS = ("intake", "sla_monitor")
"""The services that count working days."""


def test_each_service_runs_as_its_own_process_and_stops_gracefully(
    endpoints: Endpoints, unique: str, tmp_path: Path
) -> None:
    fleet = ServiceFleet({
        "KAFKA_BOOTSTRAP_SERVERS": endpoints.kafka_bootstrap_servers,
        "MONGODB_URI": endpoints.mongodb_uri,
        "MOTCUA_TOPIC_NAMESPACE": f"t{unique}.",
        "MOTCUA_ENVIRONMENT": "test",
        **TEST_CLOCK_ENV,
    }, tmp_path, authority=endpoints.authority, issuer=endpoints.issuer)
    try:
        fleet.start_all()
        for name, service in fleet.running.items():
            body = service.readiness()
            assert body["status"] == "ready", (name, body)
            assert body["checks"] == {"started": True, "mongodb": "ok", "kafka": "ok"}
            assert body["service"] == name
            with urllib.request.urlopen(f"{service.base_url}/openapi.json", timeout=5) as response:
                paths = json.loads(response.read())["paths"]
                assert "/health/ready" in paths
            # The process serves its lock: no token, no answer (every route: test_http_locks).
            locked = LOCKED[name]
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(f"{service.base_url}{locked}", timeout=5)
            assert refused.value.code == 401, (name, locked)
            assert refused.value.headers["WWW-Authenticate"].startswith("Bearer")
            # On 25 Nov 2026 the calendar for 2027 is provisional: the services that count
            # working days say so, stay ready, and raise the gauge.
            counts_days = name in CALENDAR_USERS
            notice = {"kind": "calendar", "year": 2027, "status": "provisional"}
            notices = cast(list[dict[str, Any]], body["notices"])
            assert [{k: n[k] for k in notice} for n in notices] == (
                [notice] if counts_days else [])
            with urllib.request.urlopen(f"{service.base_url}/metrics", timeout=5) as response:
                metrics = response.read().decode()
            gauge = 'motcua_calendar_next_year{status="provisional",year="2027"} 1.0'
            assert (gauge in metrics) == counts_days, name
        processes = {name: s.process for name, s in fleet.running.items()}
        for name, managed in processes.items():
            warned = [json.loads(line) for line in managed.log_path.read_text().splitlines()
                      if line.startswith("{") and "calendar for 2027 is provisional" in line]
            assert [entry["level"] for entry in warned] == (
                ["WARNING"] if name in CALENDAR_USERS else []), name
            assert managed.process is not None
            managed.process.send_signal(signal.SIGTERM)
            # uvicorn finishes its shutdown, then re-raises the signal it caught: -SIGTERM
            assert managed.process.wait(timeout=60) in (0, -signal.SIGTERM), name
            log_lines = [json.loads(line) for line in managed.log_path.read_text().splitlines()
                         if line.startswith("{")]
            messages = [entry["msg"] for entry in log_lines]
            assert "service stopped" in messages, (name, messages[-5:])
            assert messages[-1].startswith("Finished server process"), (name, messages[-5:])
            assert all(entry["service"] == name for entry in log_lines)
    finally:
        fleet.stop_all()
