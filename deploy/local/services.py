"""The four services (and the console with its local sign-in page) as separate processes on
loopback, for the demo and end-to-end tests."""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from deploy.access.authority import BrokerAuthority

from .issuer import LocalIssuer
from .processes import ManagedProcess, StartError, free_port, port_open
from .signin import client_secret

# service module -> (environment prefix, preferred HTTP port)
SERVICES: dict[str, tuple[str, int]] = {
    "intake": ("INTAKE_", 8001),
    "routing": ("ROUTING_", 8002),
    "sla_monitor": ("SLA_", 8003),
    "notifier": ("NOTIFIER_", 8004),
}
# the people's side: the console, and the local stand-in for the province's sign-in page
FRONT: dict[str, tuple[str, int]] = {"console": ("CONSOLE_", 8005), "signin": ("SIGNIN_", 8006)}
MODULES = {**{name: f"services.{name}" for name in SERVICES}, "console": "services.console",
           "signin": "deploy.local.signin"}


def ready(url: str, pid: int | None = None) -> bool:
    """Whether the service at `url` is ready, and (given `pid`) is that process, not another
    program that took the port first."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            if response.status != 200:
                return False
            return pid is None or json.loads(response.read()).get("pid") == pid
    except (urllib.error.URLError, OSError, ValueError):
        return False


@dataclass
class ServiceProcess:
    name: str
    port: int
    process: ManagedProcess

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def readiness(self) -> dict[str, object]:
        try:
            with urllib.request.urlopen(f"{self.base_url}/health/ready", timeout=2) as response:
                return dict(json.loads(response.read()))
        except urllib.error.HTTPError as error:
            return dict(json.loads(error.read()))


@dataclass
class ServiceFleet:
    """Starts each service with `python -m services.<name>`; logs under `log_dir`."""

    env: dict[str, str]
    log_dir: Path
    names: tuple[str, ...] = tuple(SERVICES)
    running: dict[str, ServiceProcess] = field(default_factory=dict)
    preferred_ports: bool = False
    """True: the well-known ports 8001-8004 when free (`make up`, for people). Tests and
    benchmarks take free ports, so fleets of concurrent runs never race for one."""
    authority: BrokerAuthority | None = None
    """Given: each service authenticates as its own principal, whose ACLs for the fleet's topic
    namespace are applied before the first start (and removed by `stop_all` unless the
    namespace is production's, the empty one)."""
    issuer: LocalIssuer | None = None
    """Given: the services trust this issuer's tokens (and intake derives lookup secrets with
    its key)."""
    _provisioned: bool = False

    def start(self, name: str, timeout: float = 60.0,
              env: dict[str, str] | None = None) -> ServiceProcess:
        """Start one service and wait until it is ready; `env` adds settings of this one only."""
        service = self.launch(name, env)
        self.wait_ready(name, timeout)
        return service

    def start_together(self, names: Iterable[str], timeout: float = 120.0,
                       env_of: Callable[[str], dict[str, str]] | None = None) -> None:
        """Launch several at once, then wait for each: they boot in parallel.

        Launched from this thread on purpose: a child is told to stop when the *thread* that
        spawned it ends (PR_SET_PDEATHSIG), so a thread that ends first (a pool shut down)
        must not start services.
        """
        names = list(names)
        for name in names:
            self.launch(name, env_of(name) if env_of else None)
        for name in names:
            try:
                self.wait_ready(name, timeout)
            except StartError:
                if "address already in use" not in self.running[name].process.log_tail():
                    raise
                # Another program took the preferred port meanwhile: once more, on a free one.
                self.running.pop(name)
                self.launch(name, env_of(name) if env_of else None, port=free_port())
                self.wait_ready(name, timeout)

    def launch(self, name: str, env: dict[str, str] | None = None,
               port: int | None = None) -> ServiceProcess:
        """Start the process of one service without waiting for it."""
        prefix, preferred = SERVICES[name] if name in SERVICES else FRONT[name]
        if port is None:
            port = preferred if self.preferred_ports and not port_open(preferred) else free_port()
        own: dict[str, str] = {}
        if self.authority is not None and name in SERVICES:  # the front has no Kafka principal
            if not self._provisioned:
                self.authority.provision(self.namespace)
                self._provisioned = True
            own = self.authority.service_env(name)
        if self.issuer is not None:
            own |= self.issuer.service_env()
            own |= self._front_env(name, self.issuer)
        env = {**os.environ, **self.env, **own, **(env or {}), f"{prefix}HTTP_PORT": str(port),
               f"{prefix}HTTP_HOST": "127.0.0.1"}
        process = ManagedProcess(name, [sys.executable, "-m", MODULES[name]],
                                 self.log_dir / f"{name}.log", env=env)
        process.start()
        service = ServiceProcess(name, port, process)
        self.running[name] = service
        return service

    def _front_env(self, name: str, issuer: LocalIssuer) -> dict[str, str]:
        """The sign-in page's keys, and the console's addresses: of the services and the
        sign-in page running in this fleet (start those first)."""
        if name == "signin":
            return {"SIGNIN_HOME": str(issuer.home)}
        if name != "console":
            return {}
        urls = {key: self.running[service].base_url for key, service in (
            ("INTAKE", "intake"), ("ROUTING", "routing"), ("SLA", "sla_monitor"),
            ("NOTIFIER", "notifier")) if service in self.running}
        env = {f"CONSOLE_{key}_URL": url for key, url in urls.items()}
        if "signin" in self.running:
            signin = self.running["signin"].base_url
            env |= {"CONSOLE_OIDC_AUTHORIZE_URL": f"{signin}/authorize",
                    "CONSOLE_OIDC_TOKEN_URL": f"{signin}/token", "CONSOLE_OIDC_CLIENT_ID": "console",
                    "CONSOLE_OIDC_CLIENT_SECRET": client_secret(issuer, "console")}
        return env

    def wait_ready(self, name: str, timeout: float = 60.0) -> None:
        service = self.running[name]
        service.process.wait_until(lambda: ready(f"{service.base_url}/health/ready", service.process.pid),
                                   timeout, "ready")

    def start_all(self) -> None:
        self.start_together(self.names)

    def stop(self, name: str) -> None:
        service = self.running.pop(name, None)
        if service:
            service.process.stop(timeout=30.0)

    def kill(self, name: str) -> None:
        service = self.running.pop(name, None)
        if service:
            service.process.kill()

    @property
    def namespace(self) -> str:
        return self.env.get("MOTCUA_TOPIC_NAMESPACE", "")

    def stop_all(self) -> None:
        """Stop every service side by side: each drains its own work, none waits for another."""
        names = list(self.running)
        if names:
            with ThreadPoolExecutor(len(names)) as pool:
                list(pool.map(self.stop, names))
        if self.authority is not None and self._provisioned and self.namespace:
            self.authority.revoke(self.namespace)
            self._provisioned = False
