"""The machine's tools the local stack needs, each with a message that says how to get it."""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

INSTALL_HINTS = {
    "java": "Java 17 or newer runs the Kafka broker: `apt-get install openjdk-17-jre-headless`.",
    "mvn": "Maven resolves the Kafka jars from Maven Central on first use: `apt-get install maven`.",
    "go": (
        "Go >= 1.24 builds FerretDB on first use (Go 1.21-1.23 fetch a newer toolchain through the "
        "module proxy): install it from your distribution or the Go download page, or put a "
        "`mongod` on PATH to use MongoDB instead."
    ),
}


class MissingTool(RuntimeError):
    """A program the local stack needs is not installed."""


def require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise MissingTool(f"`{tool}` is not on PATH. {INSTALL_HINTS.get(tool, '')}".strip())
    return path


def go_version(go: str) -> tuple[int, int]:
    out = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, check=True).stdout
    match = re.match(r"go(\d+)\.(\d+)", out.strip())
    if not match:
        raise MissingTool(f"cannot read the Go version from {out.strip()!r}. {INSTALL_HINTS['go']}")
    return int(match.group(1)), int(match.group(2))


def cache_root() -> Path:
    """Where resolved jars and built binaries are kept between runs (outside the clone)."""
    override = os.environ.get("MOTCUA_CACHE_DIR")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "motcua"


@contextmanager
def locked(directory: Path) -> Iterator[None]:
    """Serialise first-run builds of the same cache entry across concurrent processes."""
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
