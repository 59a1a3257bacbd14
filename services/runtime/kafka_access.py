"""How a client reaches the broker: where it is and who it is. One value for every Kafka client.

Every principal authenticates (SASL/SCRAM-SHA-512); the broker's ACLs then decide what it may
read and write, so a client never holds more than its own name and password.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from faststream.security import SASLScram512

SecurityProtocol = Literal["SASL_PLAINTEXT", "SASL_SSL"]
MECHANISM = "SCRAM-SHA-512"


@dataclass
class TopicUse:
    """What one service reads, writes and joins, by logical name (no namespace): the topic
    contract its broker ACLs are generated from. Every topic it uses it also creates, with its
    `.dlq`, at start or on first use."""

    reads: set[str] = field(default_factory=set)
    read_families: set[str] = field(default_factory=set)
    """Markers such as `updates.{department_code}.v1`: every department's topic of that kind."""
    writes: set[str] = field(default_factory=set)
    write_families: set[str] = field(default_factory=set)
    groups: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class KafkaAccess:
    """Bootstrap servers and one principal's credentials."""

    bootstrap_servers: str
    username: str
    password: str = field(repr=False)
    protocol: SecurityProtocol = "SASL_PLAINTEXT"

    def as_user(self, username: str, password: str) -> KafkaAccess:
        """The same broker, another principal (a department's desk, a service of the fleet)."""
        return replace(self, username=username, password=password)

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for any aiokafka client (producer, consumer, admin)."""
        options: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            "security_protocol": self.protocol,
            "sasl_mechanism": MECHANISM,
            "sasl_plain_username": self.username,
            "sasl_plain_password": self.password,
        }
        if self.protocol == "SASL_SSL":
            options["ssl_context"] = ssl.create_default_context()
        return options

    def faststream_security(self) -> SASLScram512:
        """The same credentials for a FastStream `KafkaBroker(security=...)`."""
        return SASLScram512(self.username, self.password,
                            ssl_context=ssl.create_default_context()
                            if self.protocol == "SASL_SSL" else None,
                            use_ssl=self.protocol == "SASL_SSL")
