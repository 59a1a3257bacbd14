"""Session-wide real endpoints, per-test isolation by unique topic namespace and database."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator, Generator, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from deploy.local.kafka import KafkaNode
from services.runtime.settings import ServiceSettings
from tests.endpoints import Endpoints, test_endpoints
from tests.timeline import TEST_CLOCK_ENV

S = TypeVar("S", bound=ServiceSettings)
_LOG_LINES = 80
"""Lines of each service's log a failed test shows (the fleet logs warnings and up)."""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test that ran services as processes shows the end of their logs: on CI it is
    the only trace of what they did."""
    report = yield
    tmp = getattr(item, "funcargs", {}).get("tmp_path")
    if report.failed and isinstance(tmp, Path):
        for log in sorted(tmp.rglob("*.log")):
            lines = log.read_text(errors="replace").splitlines()[-_LOG_LINES:]
            if lines:
                report.sections.append((f"log {log.relative_to(tmp)}", "\n".join(lines)))
    return report


@pytest.fixture(scope="session")
def endpoints() -> Iterator[Endpoints]:
    with test_endpoints() as found:
        yield found


@pytest.fixture
def kafka(tmp_path: Path) -> Iterator[KafkaNode]:
    """A broker of this test's own, so that it can be stopped and started again."""
    node = KafkaNode(tmp_path / "kafka")
    node.prepare()
    node.start()
    yield node
    node.stop()


@pytest.fixture
def unique() -> str:
    """A short id for names this test owns (topic namespace, database, group)."""
    return uuid.uuid4().hex[:10]


@pytest.fixture
def namespace(endpoints: Endpoints, unique: str) -> Iterator[str]:
    """This test's topic namespace with the ACLs `deploy.access` grants, revoked after (for
    tests of what each principal may do on the broker)."""
    name = f"t{unique}."
    endpoints.authority.provision(name)
    yield name
    endpoints.authority.revoke(name)


@pytest.fixture
async def scratch_db(endpoints: Endpoints, unique: str) -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    """A database of its own on the test replica set (the services' tz-aware client), dropped
    afterwards: for a store adapter's behaviour suite."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(endpoints.mongodb_uri, tz_aware=True)
    db = client[f"t{unique}_store"]
    try:
        yield db
    finally:
        await client.drop_database(db.name)
        await client.close()


@pytest.fixture
def make_settings(endpoints: Endpoints, unique: str) -> object:
    """Settings for a service on the real endpoints, isolated to this test, its clock a test
    clock from `tests.timeline.MORNING` (never the machine's date)."""

    def build(cls: type[S], **overrides: object) -> S:
        values: dict[str, object] = {
            "KAFKA_BOOTSTRAP_SERVERS": endpoints.kafka_bootstrap_servers,
            "MONGODB_URI": endpoints.mongodb_uri,
            "MOTCUA_TOPIC_NAMESPACE": f"t{unique}.",
            "MOTCUA_ENVIRONMENT": "test",
            "mongodb_database": f"t{unique}_{cls.model_fields['service_name'].default}",
            "consumer_group": f"t{unique}-{cls.model_fields['service_name'].default}",
            "graceful_timeout_s": 5.0,
            "KAFKA_METADATA_MAX_AGE_S": 1.0,  # a department's new inbound topic joins at once
            **endpoints.sasl_env(),
            **endpoints.issuer.service_env(),
            "lookup_key": endpoints.issuer.lookup_key(),
            **TEST_CLOCK_ENV,
        }
        values.update(overrides)
        return cls.model_validate(values)

    return build


def _dump_tasks() -> None:
    print("--- asyncio tasks of a test about to time out ---", file=sys.stderr)
    for task in asyncio.all_tasks():
        print(f"{task!r}", file=sys.stderr)
        task.print_stack(limit=12, file=sys.stderr)


@pytest.fixture(autouse=True)
async def _tasks_shown_before_timeout(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """A hung test shows where each of its tasks waits, shortly before pytest-timeout stops it
    (its own dump shows threads only, and every await of a test runs in the loop's thread)."""
    marker = request.node.get_closest_marker("timeout")
    limit = float(marker.args[0]) if marker and marker.args else float(request.config.getini("timeout"))
    handle = asyncio.get_running_loop().call_later(max(limit - 15, 1), _dump_tasks)
    try:
        yield
    finally:
        handle.cancel()
