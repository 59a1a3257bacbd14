"""Where the tests find Kafka and MongoDB: given endpoints (with the broker's superuser), else
deploy/local. Either way the broker authenticates every client and enforces ACLs."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from deploy.access.authority import BrokerAuthority
from deploy.access.secrets import CredentialFile
from deploy.local.issuer import LocalIssuer
from deploy.local.stack import REPO_ROOT, LocalStack
from services.runtime.kafka_access import KafkaAccess


@dataclass(frozen=True)
class Endpoints:
    kafka_bootstrap_servers: str
    mongodb_uri: str
    origin: str
    authority: BrokerAuthority
    issuer: LocalIssuer
    stack: LocalStack | None = None

    @property
    def kafka(self) -> KafkaAccess:
        """The broker as its superuser: what test harnesses read and seed topics with."""
        return self.authority.admin

    def all_roles(self) -> dict[str, str]:
        """Headers of a caller with every staff role and the portal's: for tests of what an
        endpoint does (what each role may do is tested route by route on its own)."""
        return self.issuer.headers("admin", "operator", "supervisor", "portal", subject="tests")

    def sasl_env(self) -> dict[str, str]:
        """Settings of an in-process service authenticating as the superuser (integration tests
        exercise behaviour; the ACLs are exercised by fleets of processes, each its own user)."""
        return {"KAFKA_SASL_USERNAME": self.kafka.username,
                "KAFKA_SASL_PASSWORD": self.kafka.password}


@contextlib.contextmanager
def test_endpoints() -> Iterator[Endpoints]:
    """One set of endpoints for the whole pytest session."""
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    mongo = os.environ.get("MONGODB_URI")
    if kafka and mongo:
        admin = KafkaAccess(kafka, os.environ.get("KAFKA_ADMIN_USERNAME", "admin"),
                            os.environ.get("KAFKA_ADMIN_PASSWORD", ""))
        with tempfile.TemporaryDirectory() as folder:
            authority = BrokerAuthority(admin, CredentialFile(Path(folder) / "credentials.json"))
            authority.provision()
            yield Endpoints(kafka, mongo, "environment", authority,
                            LocalIssuer(Path(folder) / "issuer"))
    else:
        stack = LocalStack(Path(os.environ.get("MOTCUA_TEST_STACK_HOME",
                                               REPO_ROOT / ".local" / "test-stack")))
        stack.start()
        try:
            yield Endpoints(stack.kafka.bootstrap_servers, stack.mongo.uri, "deploy/local",
                            stack.authority, stack.issuer, stack)
        finally:
            stack.stop()
