"""The four services as separate processes on loopback, for the demo and end-to-end tests."""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from .processes import ManagedProcess, free_port, port_open

# service module -> (environment prefix, preferred HTTP port)
SERVICES: dict[str, tuple[str, int]] = {
    "intake": ("INTAKE_", 8001),
    "routing": ("ROUTING_", 8002),
    "sla_monitor": ("SLA_", 8003),
    "notifier": ("NOTIFIER_", 8004),
}


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
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
    preferred_ports: bool = True
    """False: always a free port. For tests beside other fleets on the machine: one may bind a
    preferred port between this fleet's check and its child's bind, and then answer the
    readiness check in the child's place while the child dies on the busy port."""

    def start(self, name: str, timeout: float = 60.0) -> ServiceProcess:
        prefix, preferred = SERVICES[name]
        port = preferred if self.preferred_ports and not port_open(preferred) else free_port()
        env = {**os.environ, **self.env, f"{prefix}HTTP_PORT": str(port),
               f"{prefix}HTTP_HOST": "127.0.0.1"}
        process = ManagedProcess(name, [sys.executable, "-m", f"services.{name}"],
                                 self.log_dir / f"{name}.log", env=env)
        process.start()
        service = ServiceProcess(name, port, process)
        self.running[name] = service
        process.wait_until(lambda: ready(f"{service.base_url}/health/ready"), timeout, "ready")
        return service

    def start_all(self) -> None:
        for name in self.names:
            self.start(name)

    def stop(self, name: str) -> None:
        service = self.running.pop(name, None)
        if service:
            service.process.stop(timeout=30.0)

    def kill(self, name: str) -> None:
        service = self.running.pop(name, None)
        if service:
            service.process.kill()

    def stop_all(self) -> None:
        for name in list(self.running):
            self.stop(name)
