"""`make up`: the whole system on this machine, shown at work, then kept up until Ctrl-C.

1. Kafka and MongoDB, a replica set of one (the first run resolves the jars and fetches mongod);
2. a loopback mail server, SMS gateway and webhook receiver standing for the outside world;
3. the four services as separate processes, each writing its spans to a file;
4. the demo (unless `--idle`): applications, departments, days passing on the services' test
   clocks, and a summary with one record's trace across the services.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from .demo.players import DemoClock
from .demo.run import SERVICES, run_demo, story_period, supervisors
from .processes import StartError
from .services import ServiceFleet
from .signin import STAFF
from .sinks import Outbox, Sinks, sinks_in_thread
from .stack import DEFAULT_HOME, REPO_ROOT, LocalStack
from .tools import MissingTool

RUN_DIR = REPO_ROOT / ".local" / "run"


def say(line: str) -> None:
    print(line, flush=True)


@contextlib.contextmanager
def ticking(what: str, every_s: float = 15.0) -> Iterator[None]:
    """A line every `every_s` while a long step runs, so a first start never looks stuck."""
    done = threading.Event()
    started = time.monotonic()

    def tick() -> None:
        while not done.wait(every_s):
            say(f"  … {what}: {time.monotonic() - started:.0f}s")

    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def fleet_env(endpoints: dict[str, str], sinks: Sinks, clock_start: datetime | None) -> dict[str, str]:
    """What every service reads: the stack, the sinks, and in the demo a test clock and the
    pre-reform routing table (so the demo can publish the 2025 reorganisation)."""
    env = {**endpoints, **sinks.notifier_env(), "MOTCUA_ENVIRONMENT": "development",
           "NOTIFIER_SUPERVISORS_JSON": json.dumps(supervisors(sinks.webhook_url)),
           "LOG_LEVEL": "INFO"}
    if clock_start is not None:
        env |= {"MOTCUA_TEST_CLOCK": "true", "MOTCUA_TEST_CLOCK_START": clock_start.isoformat(),
                "ROUTING_INITIAL_TABLES": "pre-reform",
                "NOTIFIER_RATE_LIMIT_MESSAGES": "20", "NOTIFIER_FOLD_WINDOW_S": "1"}
    return env


def start_services(fleet: ServiceFleet, spans: Path) -> None:
    """The four services at once; each is ready when its health check says so."""
    started = time.monotonic()
    fleet.start_together(fleet.names, timeout=120,
                         env_of=lambda name: {"MOTCUA_TRACE_FILE": str(spans / f"{name}.jsonl")})
    for name in fleet.names:
        service = fleet.running[name]
        ready = service.readiness()
        say(f"  {name:<12} {service.base_url}  {ready.get('checks')}")
        notices = ready.get("notices")
        for notice in notices if isinstance(notices, list) else []:
            say(f"  {'':<12} notice: {notice.get('message')}")
    say(f"  ready in {time.monotonic() - started:.1f}s")


def start_console(fleet: ServiceFleet) -> None:
    """The local sign-in page, then the console that sends people to it."""
    fleet.start("signin", timeout=60)
    fleet.start("console", timeout=60)
    say(f"  {'console':<12} {fleet.running['console'].base_url}")


def console_banner(fleet: ServiceFleet) -> str:
    people = ", ".join(f"{p.subject} ({'/'.join(p.roles)})" for p in STAFF)
    return (f"console: {fleet.running['console'].base_url}   sign in as one of the demo's staff: "
            f"{people}; the one-stop office's manual queue is at /queue")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make up", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--idle", action="store_true",
                        help="no demo: the services on the real clock, waiting for your requests")
    parser.add_argument("--check", action="store_true",
                        help="exit after the demo's summary (for CI and scripts)")
    args = parser.parse_args(argv)
    # The demo's department desks read their topics from the start as soon as routing creates
    # them; aiokafka logs each offset request made before the new partition's leader is elected
    # as an error, then retries and gets it. Those lines would bury the demo's own story.
    logging.getLogger("aiokafka.consumer.fetcher").setLevel(logging.CRITICAL)

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    stack = LocalStack(DEFAULT_HOME)
    fleet = ServiceFleet({}, RUN_DIR / "logs", names=SERVICES, preferred_ports=True)
    spans = RUN_DIR / "spans"
    outbox = Outbox(file=RUN_DIR / "outbox.jsonl")
    started = time.monotonic()
    try:
        shutil.rmtree(spans, ignore_errors=True)  # this run's spans and messages only
        spans.mkdir(parents=True)
        (RUN_DIR / "outbox.jsonl").unlink(missing_ok=True)
        say("[start] Kafka and MongoDB (the first run resolves the Kafka jars and fetches mongod: "
            "a few minutes)")
        with ticking("still preparing the local stack"):
            stack.start()
        say(stack.describe())
        with sinks_in_thread(outbox) as sinks:
            say(f"[start] loopback mail server 127.0.0.1:{sinks.smtp_port}, SMS gateway and webhooks "
                f"http://127.0.0.1:{sinks.http_port}; every message is kept in {outbox.file}")
            clock = None
            if not args.idle:
                period = story_period(datetime.now(UTC))
                say(f"[clock] {period.describe()}")
                clock = DemoClock(period.start)
            fleet.env = fleet_env(stack.env, sinks, clock.now() if clock else None)
            # The stack's principals and issuer exist once it runs (each start makes new ones).
            fleet.authority, fleet.issuer = stack.authority, stack.issuer
            say("[start] the four services" + ("" if clock is None else
                f", their test clocks at {clock.now():%Y-%m-%d %H:%M %Z}"))
            start_services(fleet, spans)
            start_console(fleet)
            say(f"  everything up in {time.monotonic() - started:.0f}s; service logs in {fleet.log_dir}")
            urls = {name: fleet.running[name].base_url for name in SERVICES}
            if clock is not None:
                asyncio.run(run_demo(urls, stack.authority, stack.issuer, "", outbox, clock, spans, say))
                say(f"demo done in {time.monotonic() - started:.0f}s from the start")
                if args.check:
                    return 0
            say(f"intake API: {urls['intake']}/docs   (POST /applications, GET /records/{{code}})")
            say(f"SLA monitor: {urls['sla_monitor']}/deadlines/{{code}}   notifier: "
                f"{urls['notifier']}/deliveries?record_code=   routing: {urls['routing']}/docs")
            say("every call needs a bearer token: TOKEN=$(uv run python -m deploy.local.issuer "
                "token --role portal --role operator), then -H \"Authorization: Bearer $TOKEN\"; "
                "Kafka principals' passwords in " + str(stack.authority.credentials.path))
            say(console_banner(fleet))
            say("all up; Ctrl-C stops everything")
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
        say("stopping")
        fleet.stop_all()
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
