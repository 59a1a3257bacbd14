"""Applying principals and ACLs to a running broker, as its superuser.

aiokafka's admin client has neither ACLs nor SCRAM credentials, so this one command uses
kafka-python's (the same wire protocol, synchronous, which suits an operator's command).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from kafka.admin import (
    ACL,
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    KafkaAdminClient,
    ResourcePattern,
    ResourcePatternFilter,
    ResourceType,
    ScramMechanism,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)
from kafka.errors import NoError

from services.runtime.kafka_access import KafkaAccess

from .grants import Grant, is_managed

# SCRAM never sends the password; kafka-python warns of "credentials in the clear" on any
# SASL_PLAINTEXT connection all the same.
logging.getLogger("kafka.net.sasl.scram").setLevel(logging.ERROR)

_RESOURCES = {"topic": ResourceType.TOPIC, "group": ResourceType.GROUP}
_PATTERNS = {"literal": ACLResourcePatternType.LITERAL, "prefixed": ACLResourcePatternType.PREFIXED}
_OPERATIONS = {"read": ACLOperation.READ, "write": ACLOperation.WRITE,
               "create": ACLOperation.CREATE, "describe": ACLOperation.DESCRIBE}


class AccessError(RuntimeError):
    """The broker refused part of the change; the message says which."""


@dataclass(frozen=True)
class Applied:
    """What one run changed."""

    users_set: int
    users_removed: int
    grants_added: int
    grants_removed: int
    grants_kept: int


def _acl(grant: Grant) -> ACL:
    return ACL(f"User:{grant.principal}", "*", _OPERATIONS[grant.operation], ACLPermissionType.ALLOW,
               ResourcePattern(_RESOURCES[grant.resource], grant.name, _PATTERNS[grant.pattern]))


def _grant(acl: Any) -> Grant | None:
    """The grant an ACL of the broker stands for, or None for one this command does not own."""
    principal = str(acl.principal).removeprefix("User:")
    resource = {v: k for k, v in _RESOURCES.items()}.get(acl.resource_pattern.resource_type)
    pattern = {v: k for k, v in _PATTERNS.items()}.get(acl.resource_pattern.pattern_type)
    operation = {v: k for k, v in _OPERATIONS.items()}.get(acl.operation)
    if (not is_managed(principal) or resource is None or pattern is None or operation is None
            or acl.permission_type != ACLPermissionType.ALLOW or acl.host != "*"):
        return None
    return Grant(principal, resource, pattern, acl.resource_pattern.resource_name,  # type: ignore[arg-type]
                 operation)  # type: ignore[arg-type]


@contextlib.contextmanager
def admin_client(access: KafkaAccess) -> Iterator[KafkaAdminClient]:
    client = KafkaAdminClient(client_id="motcua-access", request_timeout_ms=30_000,
                              **access.client_options())
    try:
        yield client
    finally:
        client.close()


def current_grants(client: KafkaAdminClient) -> set[Grant]:
    """The managed principals' ACLs as the broker has them."""
    acls, error = client.describe_acls(ACLFilter(
        None, None, ACLOperation.ANY, ACLPermissionType.ANY,
        ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY)))
    if error is not NoError:
        raise AccessError(f"cannot read the broker's ACLs: {error}")
    return {grant for acl in acls if (grant := _grant(acl)) is not None}


def apply(access: KafkaAccess, grants: set[Grant], passwords: Mapping[str, str], *,
          namespace: str = "", prune_users: bool = False) -> Applied:
    """Make the broker hold exactly `grants` for the managed principals under `namespace` and
    each principal of `passwords` with that password (set each time: the file is the truth).

    Grants outside the namespace are left alone, so runs that share a broker do not undo each
    other (production's namespace, the empty one, owns only names that start like the system's
    own: `records.`, `routed.`, `motcua-`, ..., not another run's `t42.records.`).
    `prune_users` removes managed users no longer given a password (a department that left the
    directory), whose grants are gone already.
    """
    roots = {_root(grant.name[len(namespace):]) for grant in grants} | KNOWN_ROOTS
    with admin_client(access) as client:
        upserts = [UserScramCredentialUpsertion(user, ScramMechanism.SCRAM_SHA_512, password)
                   for user, password in sorted(passwords.items())]
        removals: list[UserScramCredentialDeletion] = []
        if prune_users:
            known = client.describe_user_scram_credentials()
            removals = [UserScramCredentialDeletion(user, ScramMechanism.SCRAM_SHA_512)
                        for user in sorted(known) if is_managed(user) and user not in passwords]
        if upserts or removals:
            _check_users(client.alter_user_scram_credentials([*upserts, *removals]))

        held = {grant for grant in current_grants(client) if _owned(grant.name, namespace, roots)}
        stale, missing = held - grants, grants - held
        if stale:
            for _, _, error in client.delete_acls([_filter(grant) for grant in sorted(stale)]):
                if error is not NoError:
                    raise AccessError(f"the broker refused to delete ACLs: {error}")
        if missing:
            result = client.create_acls([_acl(grant) for grant in sorted(missing)])
            if result["failed"]:
                raise AccessError(f"the broker refused {len(result['failed'])} ACLs: "
                                  f"{result['failed'][0]}")
        return Applied(len(upserts), len(removals), len(missing), len(stale), len(held & grants))


KNOWN_ROOTS = frozenset({"records.", "routed.", "updates.", "feedback.", "sla.", "notifications.",
                         "motcua-", "department."})
"""How the system's logical topic and group names start, kept so that `apply` with no grants
(a namespace revoked) still knows what it owns."""


def _root(name: str) -> str:
    """A name up to its first separator: `records.` of `records.submitted.v1`."""
    cut = min((i for i in (name.find("."), name.find("-")) if i >= 0), default=len(name) - 1)
    return name[:cut + 1]


def _owned(name: str, namespace: str, roots: set[str] | frozenset[str]) -> bool:
    return name.startswith(namespace) and _root(name[len(namespace):]) in roots


def set_password(access: KafkaAccess, user: str, password: str) -> None:
    """Rotate one principal's credential (the client reconnects with the new one; sessions opened
    with the old one end at their next re-authentication, `connections.max.reauth.ms`)."""
    with admin_client(access) as client:
        _check_users(client.alter_user_scram_credentials(
            [UserScramCredentialUpsertion(user, ScramMechanism.SCRAM_SHA_512, password)]))


def _filter(grant: Grant) -> ACLFilter:
    acl = _acl(grant)
    return ACLFilter(acl.principal, acl.host, acl.operation, acl.permission_type,
                     ResourcePatternFilter(acl.resource_pattern.resource_type,
                                           acl.resource_pattern.resource_name,
                                           acl.resource_pattern.pattern_type))


def _check_users(result: Mapping[str, str | None]) -> None:
    refused = {user: error for user, error in result.items() if error}
    if refused:
        user, error = next(iter(refused.items()))
        raise AccessError(f"the broker refused {len(refused)} credentials, e.g. {user}: {error}")
