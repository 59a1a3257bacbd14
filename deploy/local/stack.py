"""Start and stop the real parts (Kafka, MongoDB as a replica set of one) as processes on loopback.

    python -m deploy.local.stack up        # start, print the endpoints, stay until Ctrl-C
    python -m deploy.local.stack start     # start in the background, write .local/stack/env
    python -m deploy.local.stack stop      # stop what `start` started
    python -m deploy.local.stack status
    python -m deploy.local.stack restart kafka|mongo [--kill]   # same port and data; --kill: SIGKILL
    python -m deploy.local.stack prepare   # only fill the cache (Kafka jars, mongod)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from deploy.access.authority import BrokerAuthority
from deploy.access.secrets import CredentialFile
from services.runtime.kafka_access import KafkaAccess

from .issuer import LocalIssuer
from .kafka import KAFKA_VERSION, SUPERUSER, KafkaNode
from .mongo import MongoServer
from .processes import StartError, kill_pid, pid_alive, stop_pid
from .tools import MissingTool

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_HOME = REPO_ROOT / ".local" / "stack"


@dataclass
class LocalStack:
    """Kafka and MongoDB under one folder: data, configuration and logs."""

    home: Path = DEFAULT_HOME
    tie_to_parent: bool = True
    kafka: KafkaNode = field(init=False)
    mongo: MongoServer = field(init=False)
    timings: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.kafka = KafkaNode(self.home / "kafka", tie_to_parent=self.tie_to_parent)
        self.mongo = MongoServer(self.home / "mongo", tie_to_parent=self.tie_to_parent)

    @property
    def env(self) -> dict[str, str]:
        """The endpoints, no credential: each client adds its own."""
        return {"KAFKA_BOOTSTRAP_SERVERS": self.kafka.bootstrap_servers,
                "MONGODB_URI": self.mongo.uri}

    @property
    def authority(self) -> BrokerAuthority:
        """The broker's superuser and the file of every principal's password."""
        return BrokerAuthority(
            KafkaAccess(self.kafka.bootstrap_servers, SUPERUSER, self.kafka.superuser_password),
            CredentialFile(self.home / "credentials.json"))

    @property
    def issuer(self) -> LocalIssuer:
        """The local identity provider: the services trust its tokens."""
        return LocalIssuer(self.home / "issuer")

    @property
    def operator_env(self) -> dict[str, str]:
        """What `python -m deploy.access` needs: the endpoints and the superuser."""
        return {**self.env, "KAFKA_ADMIN_USERNAME": SUPERUSER,
                "KAFKA_ADMIN_PASSWORD": self.kafka.superuser_password}

    @property
    def log_dirs(self) -> list[Path]:
        return [self.kafka.log_dir, self.mongo.home / "logs"]

    def start(self) -> None:
        """Fresh data each time; the jar and binary caches are reused."""
        started = time.monotonic()
        shutil.rmtree(self.home, ignore_errors=True)
        self.home.mkdir(parents=True)
        try:
            self.kafka.prepare()
            self.mongo.prepare()
            prepared = time.monotonic()
            self.kafka.start()
            self.mongo.start()
            started_access = time.monotonic()
            self.authority.provision()
            self.timings["access_s"] = time.monotonic() - started_access
        except BaseException:
            self.stop()
            raise
        self.timings |= {
            "resolve_kafka_s": self.kafka.resolve_seconds,
            "fetch_mongod_s": self.mongo.build_seconds,
            "processes_s": time.monotonic() - prepared,
            "total_s": time.monotonic() - started,
        }

    def stop(self) -> None:
        self.kafka.stop()
        self.mongo.stop()

    def restart(self, part: str, *, kill: bool = False) -> None:
        """Stop one part ("kafka" or "mongo"), with SIGKILL when `kill`, and start it again on
        the same port and data: what the crash tests do to the broker and the database."""
        node: KafkaNode | MongoServer = self.kafka if part == "kafka" else self.mongo
        if part not in ("kafka", "mongo"):
            raise ValueError(f"no part {part!r} in the local stack: kafka or mongo")
        if kill:
            node.kill()
        else:
            node.stop()
        node.start()

    def describe(self) -> str:
        cold = self.timings.get("resolve_kafka_s", 0) + self.timings.get("fetch_mongod_s", 0) > 0
        return "\n".join([
            f"Kafka {KAFKA_VERSION} (KRaft)   KAFKA_BOOTSTRAP_SERVERS={self.kafka.bootstrap_servers}",
            f"{self._mongo_name():<22}MONGODB_URI={self.mongo.uri}",
            f"Kafka principals and ACLs: {self.authority.credentials.path} "
            f"(applied in {self.timings.get('access_s', 0):.1f}s)",
            f"logs: {', '.join(str(p) for p in self.log_dirs)}",
            f"{'cold' if cold else 'warm'} start: {self.timings.get('total_s', 0):.1f}s "
            f"(Kafka jars {self.timings.get('resolve_kafka_s', 0):.1f}s, "
            f"mongod {self.timings.get('fetch_mongod_s', 0):.1f}s, "
            f"processes {self.timings.get('processes_s', 0):.1f}s)",
        ])

    def _mongo_name(self) -> str:
        return f"MongoDB {self.mongo.version} ({self.mongo.kind})"


def _prepare(home: Path) -> int:
    """Resolve the Kafka jars and fetch mongod into the cache without starting anything."""
    started = time.monotonic()
    stack = LocalStack(home)
    stack.home.mkdir(parents=True, exist_ok=True)
    stack.kafka.prepare()
    stack.mongo.prepare()
    print(f"cache ready in {time.monotonic() - started:.1f}s "
          f"(Kafka jars {stack.kafka.resolve_seconds:.1f}s, "
          f"{stack._mongo_name()} {stack.mongo.build_seconds:.1f}s)", flush=True)
    return 0


def _state_file(home: Path) -> Path:
    return home.parent / f"{home.name}.json"


def _write_state(home: Path, stack: LocalStack) -> None:
    """What `stop`, `status` and `restart` of a later command need: each part's pid and ports."""
    parts = {
        "kafka": {"pid": stack.kafka.process.pid if stack.kafka.process else None,
                  "port": stack.kafka.port, "controller_port": stack.kafka.controller_port},
        "mongo": {"pid": stack.mongo.process.pid if stack.mongo.process else None,
                  "port": stack.mongo.port},
    }
    _state_file(home).write_text(json.dumps({"parts": parts, "env": stack.env}))


def _pids(home: Path) -> list[int]:
    parts = json.loads(_state_file(home).read_text()).get("parts", {})
    return [part["pid"] for part in parts.values() if part.get("pid")]


def _up(home: Path) -> int:
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    stack = LocalStack(home)
    try:
        stack.start()
        print(stack.describe(), flush=True)
        print("ready; Ctrl-C stops everything", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while stack.kafka.process and stack.kafka.process.running():
                time.sleep(1)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()
    return 0


def _start(home: Path) -> int:
    state = _state_file(home)
    if state.exists():
        _stop(home)
    stack = LocalStack(home, tie_to_parent=False)
    stack.start()
    _write_state(home, stack)
    env_file = home / "env"
    env_file.touch(mode=0o600)
    env_file.write_text("".join(f"export {k}={v}\n" for k, v in stack.operator_env.items()))
    print(stack.describe())
    print(f"started in the background; `source {env_file}` for the endpoints, "
          "`python -m deploy.local.stack stop` to stop", flush=True)
    return 0


def _stop(home: Path) -> int:
    state = _state_file(home)
    if not state.exists():
        print("nothing to stop")
        return 0
    for pid in _pids(home):
        stop_pid(pid, timeout=30.0)
    state.unlink()
    print("stopped")
    return 0


def _status(home: Path) -> int:
    state = _state_file(home)
    if not state.exists():
        print("not running")
        return 1
    pids = _pids(home)
    alive = [pid for pid in pids if pid_alive(pid)]
    print(json.dumps({**json.loads(state.read_text()), "alive": alive}))
    return 0 if len(alive) == len(pids) else 1


def _restart(home: Path, part: str, kill: bool) -> int:
    """Stop one part that `start` started (SIGKILL with `kill`, as a crash) and start it again on
    its port and data: the crash drills of the README, by hand."""
    state = _state_file(home)
    if not state.exists():
        print("not running: `python -m deploy.local.stack start` first", file=sys.stderr)
        return 1
    parts = json.loads(state.read_text())["parts"]
    stack = LocalStack(home, tie_to_parent=False)
    stack.kafka.port, stack.kafka.controller_port = (parts["kafka"]["port"],
                                                     parts["kafka"]["controller_port"])
    stack.mongo.port = parts["mongo"]["port"]
    node: KafkaNode | MongoServer = stack.kafka if part == "kafka" else stack.mongo
    node.prepare()  # the same ports, so the same configuration; the data is kept
    pid = parts[part]["pid"]
    if pid:
        if kill:
            kill_pid(pid, timeout=30.0)
        else:
            stop_pid(pid, timeout=30.0)
    started = time.monotonic()
    node.start()
    assert node.process is not None
    parts[part]["pid"] = node.process.pid
    state.write_text(json.dumps({**json.loads(state.read_text()), "parts": parts}))
    print(f"{part} {'killed' if kill else 'stopped'} and started again in "
          f"{time.monotonic() - started:.1f}s (pid {node.process.pid})", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.local.stack", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "start", "stop", "status", "prepare", "restart"])
    parser.add_argument("part", nargs="?", choices=["kafka", "mongo"],
                        help="for restart: the part to restart")
    parser.add_argument("--kill", action="store_true",
                        help="for restart: SIGKILL instead of a clean stop, as a crash would")
    parser.add_argument("--home", type=Path, default=DEFAULT_HOME,
                        help="folder for data, configuration and logs (default: %(default)s)")
    args = parser.parse_args(argv)
    if (args.command == "restart") != (args.part is not None):
        parser.error("restart takes a part (kafka or mongo); the other commands take none")
    commands = {"up": _up, "start": _start, "stop": _stop, "status": _status,
                "prepare": _prepare}
    try:
        if args.command == "restart":
            return _restart(args.home, args.part, args.kill)
        return commands[args.command](args.home)
    except (MissingTool, StartError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
