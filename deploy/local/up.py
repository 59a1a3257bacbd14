"""`make up`: the local stack and the four services, started, checked, and kept up until Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import time

from .processes import StartError
from .services import ServiceFleet
from .stack import DEFAULT_HOME, REPO_ROOT, LocalStack
from .tools import MissingTool


def show_one_application(intake: str, sla: str, wait_s: float = 60.0) -> bool:
    """Submit one application and follow it until routing has placed it: the system at work."""
    import random
    import uuid

    import httpx

    from reference.catalog import load_catalog
    from reference.units import load_units
    from services.intake.examples import application

    catalog, units = load_catalog(), load_units()
    body = application(catalog.get("1.001193.000.00.00.H40"), units, random.Random())
    answer = httpx.post(f"{intake}/applications", json=body, timeout=30,
                        headers={"Idempotency-Key": str(uuid.uuid4())}).json()
    code = answer["record_code"]
    print(f"submitted a birth registration: record {code}, appointment {answer['appointment']}",
          flush=True)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        tracking = httpx.get(f"{intake}/records/{code}", timeout=10).json()
        if tracking["department_code"]:
            print(f"  routed to {tracking['department_code']}; tracking: "
                  f"{[entry['summary'] for entry in tracking['history']]}", flush=True)
            return show_deadline(sla, code, deadline)
        time.sleep(0.5)
    print(f"  not routed within {wait_s:.0f}s; see the service logs", file=sys.stderr, flush=True)
    return False


def show_deadline(sla: str, code: str, deadline: float) -> bool:
    """The record's deadline as the SLA monitor keeps it: due time and the next alert."""
    import httpx

    while time.monotonic() < deadline:
        answer = httpx.get(f"{sla}/deadlines/{code}", timeout=10)
        if answer.status_code == 200 and answer.json()["department_code"]:
            state = answer.json()
            print(f"  deadline: due {state['due_current_at']}, next alert at {state['next_fire_at']}",
                  flush=True)
            return True
        time.sleep(0.5)
    print("  the SLA monitor has no deadline for it; see the service logs", file=sys.stderr, flush=True)
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make up", description=__doc__)
    parser.add_argument("--check", action="store_true",
                        help="exit once everything answers its health check (for CI and scripts)")
    args = parser.parse_args(argv)

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    stack = LocalStack(DEFAULT_HOME)
    fleet = ServiceFleet(stack.env, REPO_ROOT / ".local" / "services")
    try:
        print("starting Kafka and the MongoDB-protocol server "
              "(the first run resolves jars and builds FerretDB: a few minutes)", flush=True)
        stack.start()
        print(stack.describe(), flush=True)
        fleet.env = stack.env
        for name in fleet.names:
            started = time.monotonic()
            service = fleet.start(name)
            checks = service.readiness().get("checks")
            print(f"  {name:<12} {service.base_url}  ready in {time.monotonic() - started:4.1f}s  "
                  f"{checks}", flush=True)
        print(f"service logs: {fleet.log_dir}", flush=True)
        intake = fleet.running["intake"].base_url
        working = show_one_application(intake, fleet.running["sla_monitor"].base_url)
        print(f"intake API: {intake}/docs", flush=True)
        if args.check:
            return 0 if working else 1
        print("all up; Ctrl-C stops everything", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while all(s.process.running() for s in fleet.running.values()):
                time.sleep(1)
            dead = [n for n, s in fleet.running.items() if not s.process.running()]
            if dead:
                print(f"stopped: {', '.join(dead)} exited; see {fleet.log_dir}", file=sys.stderr)
                return 1
        return 0
    except (MissingTool, StartError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the cleanup short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("stopping", flush=True)
        fleet.stop_all()
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
