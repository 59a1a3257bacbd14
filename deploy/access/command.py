"""`python -m deploy.access`: principals and ACLs from the directory, applied to the broker.

    python -m deploy.access apply [--table FILE ...] [--namespace NS] [--dry-run] [--prune-users]
    python -m deploy.access rotate PRINCIPAL ...
    python -m deploy.access show [--principal P]
    python -m deploy.access compose-env    # passwords for docker compose: .env and the file

The broker and its superuser come from KAFKA_BOOTSTRAP_SERVERS, KAFKA_ADMIN_USERNAME and
KAFKA_ADMIN_PASSWORD (the local stack writes them to `.local/stack/env`); the principals'
passwords live in `--credentials` (default `.local/stack/credentials.json`). Re-run `apply` when
the department directory changes: a new department gets its principal and ACLs, a dissolved one
loses its ACLs (and, with `--prune-users`, its credential).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from deploy.local.issuer import LocalIssuer
from services.routing.domain.table import RoutingTable
from services.routing.domain.tables import shipped_tables
from services.runtime.kafka_access import KafkaAccess

from . import broker
from .grants import Grant, all_grants, department_principal, service_principal
from .secrets import CredentialFile
from .uses import SERVICE_NAMES, active_departments, service_uses

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CREDENTIALS = REPO_ROOT / ".local" / "stack" / "credentials.json"
COMPOSE_CREDENTIALS = REPO_ROOT / ".local" / "compose" / "credentials.json"
COMPOSE_ENV = REPO_ROOT / ".env"
BROKER_SECRETS = ("broker.admin", "broker.controller")
GRAFANA_SECRET = "grafana.admin"
"""Not a principal of the broker: the compose Grafana's admin password, kept with the others."""
"""Compose's broker passwords (its superuser, its controller listener), kept in the same file."""


def compose_password_variable(service: str) -> str:
    """The `.env` variable compose hands a service as its KAFKA_SASL_PASSWORD."""
    return f"MOTCUA_KAFKA_PASSWORD_{service.upper()}"


def compose_env(credentials: CredentialFile, env_file: Path = COMPOSE_ENV) -> Path:
    """Passwords for every principal into the credentials file the `access` job applies, and the
    ones compose passes as settings (broker, four services, intake's lookup key, Grafana's
    admin) into `.env`, and the local issuer's keys beside the file; kept when present."""
    wanted = plan(shipped_tables())
    passwords = credentials.ensure([*BROKER_SECRETS, GRAFANA_SECRET, *wanted.principals])
    issuer = LocalIssuer(credentials.path.parent / "issuer")
    lines = [f"KAFKA_ADMIN_PASSWORD={passwords['broker.admin']}",
             f"INTAKE_LOOKUP_KEY={issuer.service_env()['INTAKE_LOOKUP_KEY']}",
             f"KAFKA_CONTROLLER_PASSWORD={passwords['broker.controller']}",
             f"GRAFANA_ADMIN_PASSWORD={passwords[GRAFANA_SECRET]}",
             *(f"{compose_password_variable(name)}={passwords[service_principal(name)]}"
               for name in SERVICE_NAMES)]
    env_file.touch(mode=0o600)
    env_file.write_text("# written by `python -m deploy.access compose-env`; keep it secret\n"
                        + "".join(f"{line}\n" for line in lines))
    return env_file


@dataclass(frozen=True)
class Plan:
    """Every principal the system needs and every grant they get."""

    principals: list[str]
    grants: set[Grant]


def plan(tables: Sequence[RoutingTable], namespace: str = "") -> Plan:
    departments = active_departments(tables)
    grants = all_grants(service_uses(), departments, namespace)
    principals = [*(service_principal(name) for name in SERVICE_NAMES),
                  *(department_principal(code) for code in departments)]
    return Plan(principals, grants)


def provision(admin: KafkaAccess, credentials: CredentialFile,
              tables: Sequence[RoutingTable] | None = None, namespace: str = "",
              prune_users: bool = False) -> broker.Applied:
    """Passwords for every principal (new ones generated into the file), then the broker made
    to match: the local stack runs this at start, the operator after a directory change."""
    wanted = plan(tables if tables is not None else shipped_tables(), namespace)
    passwords = credentials.ensure(wanted.principals)
    return broker.apply(admin, wanted.grants, passwords, namespace=namespace,
                        prune_users=prune_users)


def admin_from_env() -> KafkaAccess:
    missing = [name for name in ("KAFKA_BOOTSTRAP_SERVERS", "KAFKA_ADMIN_USERNAME",
                                 "KAFKA_ADMIN_PASSWORD") if not os.environ.get(name)]
    if missing:
        raise SystemExit(f"error: {', '.join(missing)} not set (for the local stack: "
                         "`source .local/stack/env`)")
    return KafkaAccess(os.environ["KAFKA_BOOTSTRAP_SERVERS"], os.environ["KAFKA_ADMIN_USERNAME"],
                       os.environ["KAFKA_ADMIN_PASSWORD"],
                       "SASL_SSL" if os.environ.get("KAFKA_SECURITY_PROTOCOL") == "SASL_SSL"
                       else "SASL_PLAINTEXT")


def _tables(paths: Sequence[Path]) -> list[RoutingTable] | None:
    if not paths:
        return None
    return [RoutingTable.model_validate_json(path.read_text()) for path in paths]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.access", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["apply", "rotate", "show", "compose-env"])
    parser.add_argument("principals", nargs="*", help="for rotate: the principals")
    parser.add_argument("--table", type=Path, action="append", default=[],
                        help="a routing table (JSON, as published to routing's /admin/tables) "
                             "whose active departments get access; default: the shipped ones")
    parser.add_argument("--namespace", default="", help="topic namespace (empty in production)")
    parser.add_argument("--credentials", type=Path, default=DEFAULT_CREDENTIALS)
    parser.add_argument("--principal", help="for show: only this principal's grants")
    parser.add_argument("--dry-run", action="store_true", help="for apply: print, change nothing")
    parser.add_argument("--prune-users", action="store_true",
                        help="for apply: remove the credentials of departments no longer listed")
    args = parser.parse_args(argv)
    credentials = CredentialFile(args.credentials)
    try:
        if args.command == "compose-env":
            written = compose_env(CredentialFile(COMPOSE_CREDENTIALS))
            print(f"passwords in {written} and {COMPOSE_CREDENTIALS}; now `docker compose up`")
            return 0
        if args.command == "show" or (args.command == "apply" and args.dry_run):
            wanted = plan(_tables(args.table) or shipped_tables(), args.namespace)
            for grant in sorted(wanted.grants):
                if args.principal in (None, grant.principal):
                    print(grant)
            print(f"{len(wanted.principals)} principals, {len(wanted.grants)} grants", file=sys.stderr)
            return 0
        admin = admin_from_env()
        if args.command == "apply":
            applied = provision(admin, credentials, _tables(args.table), args.namespace,
                                args.prune_users)
            print(f"credentials set: {applied.users_set}, removed: {applied.users_removed}; "
                  f"grants added: {applied.grants_added}, removed: {applied.grants_removed}, "
                  f"unchanged: {applied.grants_kept}")
            return 0
        if not args.principals:
            parser.error("rotate takes the principals whose password to change")
        for principal in args.principals:
            broker.set_password(admin, principal, credentials.rotate(principal))
            print(f"{principal}: new password in {args.credentials}; restart its clients")
        return 0
    except broker.AccessError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
