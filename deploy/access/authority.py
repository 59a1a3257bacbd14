"""The broker's superuser with the principals' password file: what gives a run its access."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.routing.domain.table import RoutingTable
from services.runtime.kafka_access import KafkaAccess

from . import broker
from .command import provision
from .grants import department_principal, service_principal
from .secrets import CredentialFile


@dataclass(frozen=True)
class BrokerAuthority:
    """Provisions principals and ACLs, and hands each client its own credentials."""

    admin: KafkaAccess
    credentials: CredentialFile

    def provision(self, namespace: str = "",
                  tables: Sequence[RoutingTable] | None = None) -> broker.Applied:
        return provision(self.admin, self.credentials, tables, namespace)

    def revoke(self, namespace: str) -> broker.Applied:
        """Remove every grant under a (test run's) namespace; principals stay."""
        if not namespace:
            raise ValueError("revoking the empty namespace would remove production's grants")
        return broker.apply(self.admin, set(), {}, namespace=namespace)

    def access_of(self, principal: str) -> KafkaAccess:
        return self.admin.as_user(principal, self.credentials.password(principal))

    def service(self, name: str) -> KafkaAccess:
        return self.access_of(service_principal(name))

    def department(self, code: str) -> KafkaAccess:
        return self.access_of(department_principal(code))

    def service_env(self, name: str) -> dict[str, str]:
        """The settings that make a service process authenticate as itself."""
        access = self.service(name)
        return {"KAFKA_SASL_USERNAME": access.username, "KAFKA_SASL_PASSWORD": access.password,
                "KAFKA_SECURITY_PROTOCOL": access.protocol}
