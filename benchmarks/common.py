"""What the benchmarks share: endpoints (given or a local stack), percentiles, process memory."""

from __future__ import annotations

import contextlib
import os
import statistics
from collections.abc import Iterator
from pathlib import Path

from deploy.local.stack import REPO_ROOT, LocalStack


@contextlib.contextmanager
def endpoints() -> Iterator[dict[str, str]]:
    """KAFKA_BOOTSTRAP_SERVERS / MONGODB_URI from the environment, else a fresh local stack."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS") and os.environ.get("MONGODB_URI"):
        yield {"KAFKA_BOOTSTRAP_SERVERS": os.environ["KAFKA_BOOTSTRAP_SERVERS"],
               "MONGODB_URI": os.environ["MONGODB_URI"]}
        return
    stack = LocalStack(REPO_ROOT / ".local" / "bench-stack")
    print("starting the local stack", flush=True)
    stack.start()
    try:
        yield stack.env
    finally:
        stack.stop()


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[int(p * 10) - 1]


def peak_rss_mib(pid: int) -> float:
    """Peak resident memory of a process (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")
