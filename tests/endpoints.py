"""Where the tests find Kafka and MongoDB: given endpoints, else testcontainers, else deploy/local."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from deploy.local.stack import REPO_ROOT, LocalStack


@dataclass(frozen=True)
class Endpoints:
    kafka_bootstrap_servers: str
    mongodb_uri: str
    origin: str
    stack: LocalStack | None = None


def _docker_answers() -> bool:
    if os.environ.get("MOTCUA_TESTS_NO_DOCKER"):
        return False
    try:
        import docker  # installed with testcontainers

        docker.from_env(timeout=2).ping()
        return True
    except Exception:
        return False


@contextlib.contextmanager
def _containers() -> Iterator[Endpoints]:
    from testcontainers.kafka import KafkaContainer
    from testcontainers.mongodb import MongoDbContainer

    with KafkaContainer("apache/kafka:4.0.2").with_kraft() as kafka, \
            MongoDbContainer("mongo:8") as mongo:
        yield Endpoints(kafka.get_bootstrap_server(), mongo.get_connection_url(), "testcontainers")


@contextlib.contextmanager
def test_endpoints() -> Iterator[Endpoints]:
    """One set of endpoints for the whole pytest session."""
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    mongo = os.environ.get("MONGODB_URI")
    if kafka and mongo:
        yield Endpoints(kafka, mongo, "environment")
    elif _docker_answers():
        with _containers() as endpoints:
            yield endpoints
    else:
        stack = LocalStack(Path(os.environ.get("MOTCUA_TEST_STACK_HOME",
                                               REPO_ROOT / ".local" / "test-stack")))
        stack.start()
        try:
            yield Endpoints(stack.kafka.bootstrap_servers, stack.mongo.uri, "deploy/local", stack)
        finally:
            stack.stop()
