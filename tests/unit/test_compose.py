"""docker-compose.yml and deploy/Dockerfile agree with what the services read and serve.

No Docker is needed: the compose file is parsed, each service's settings class is built from the
environment compose gives it, and the image's entrypoint script is run with a stub `python`.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi import FastAPI

from deploy.access.command import compose_password_variable
from deploy.access.grants import service_principal
from services.intake.settings import IntakeSettings
from services.notifier.settings import NotifierSettings
from services.routing.settings import RoutingSettings
from services.runtime.settings import ServiceSettings, env_names
from services.sla_monitor.settings import SlaMonitorSettings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
KAFKA_START = ROOT / "deploy" / "compose" / "kafka-start.sh"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"


@dataclass(frozen=True)
class Expected:
    module: str  # python -m services.<module>
    compose_names: tuple[str, ...]  # accepted names of the compose service
    settings: type[ServiceSettings]
    prefix: str


SERVICES = (
    Expected("intake", ("intake",), IntakeSettings, "INTAKE_"),
    Expected("routing", ("routing",), RoutingSettings, "ROUTING_"),
    Expected("sla_monitor", ("sla-monitor", "sla_monitor"), SlaMonitorSettings, "SLA_"),
    Expected("notifier", ("notifier",), NotifierSettings, "NOTIFIER_"),
)
SERVICE_IDS = [expected.module for expected in SERVICES]
INFRASTRUCTURE = ("kafka", "mongodb", "jaeger")


# ---------------------------------------------------------------- helpers


def load_compose() -> dict[str, Any]:
    assert COMPOSE_FILE.is_file(), f"{COMPOSE_FILE} is missing"
    document = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(document, dict) and isinstance(document.get("services"), dict), (
        "docker-compose.yml has no `services:` mapping")
    return document


def kafka_properties() -> dict[str, str]:
    """The broker's server.properties as deploy/compose/kafka-start.sh writes them."""
    script = KAFKA_START.read_text(encoding="utf-8")
    body = script.split('cat > "$conf" <<PROPERTIES\n', 1)[1].split("\nPROPERTIES\n", 1)[0]
    return dict(line.split("=", 1) for line in body.splitlines() if line and "=" in line)


def compose_service(document: dict[str, Any], expected: Expected) -> tuple[str, dict[str, Any]]:
    found = [name for name in expected.compose_names if name in document["services"]]
    assert len(found) == 1, (
        f"docker-compose.yml should define the {expected.module} service once, as one of "
        f"{expected.compose_names}; found {found}")
    return found[0], document["services"][found[0]]


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A compose `environment:` as a mapping (written as a mapping or as a KEY=VALUE list)."""
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        pairs = (str(item).split("=", 1) for item in raw)
        return {pair[0]: (pair[1] if len(pair) > 1 else "") for pair in pairs}
    return {str(key): "" if value is None else str(value) for key, value in raw.items()}


def command(service: dict[str, Any]) -> list[str]:
    raw = service.get("command")
    if raw is None:
        return []
    return shlex.split(raw) if isinstance(raw, str) else [str(part) for part in raw]


def published_ports(service: dict[str, Any]) -> set[tuple[int, int]]:
    """(host port, container port) pairs, short ("[ip:]host:container[/tcp]") or long syntax."""
    pairs: set[tuple[int, int]] = set()
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            if entry.get("published") is not None:
                pairs.add((int(entry["published"]), int(entry["target"])))
            continue
        parts = str(entry).split("/")[0].split(":")
        if len(parts) >= 2:
            pairs.add((int(parts[-2]), int(parts[-1])))
    return pairs


def healthcheck_command(service: dict[str, Any]) -> str:
    check = service.get("healthcheck") or {}
    assert not check.get("disable"), "healthcheck is disabled"
    test = check.get("test")
    assert test, "no healthcheck test"
    return test if isinstance(test, str) else " ".join(str(part) for part in test)


def settings_from_compose(
    expected: Expected, env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
) -> ServiceSettings:
    """The settings the service builds inside its container (nothing inherited from this shell)."""
    for name in env_names(expected.settings):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return expected.settings()


@dataclass
class Dockerfile:
    instructions: list[tuple[str, str]]  # (INSTRUCTION, arguments), continuation lines joined
    heredocs: dict[str, str]  # target path of `COPY <<EOF <target>` -> body

    def args(self, instruction: str) -> list[str]:
        return [args for name, args in self.instructions if name == instruction]


def parse_dockerfile() -> Dockerfile:
    assert DOCKERFILE.is_file(), f"{DOCKERFILE} is missing"
    lines = DOCKERFILE.read_text(encoding="utf-8").splitlines()
    instructions: list[tuple[str, str]] = []
    heredocs: dict[str, str] = {}
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        while line.endswith("\\") and index < len(lines):
            line = line[:-1] + " " + lines[index].strip()
            index += 1
        name, _, args = line.strip().partition(" ")
        instructions.append((name.upper(), args.strip()))
        heredoc = re.search(r"<<-?['\"]?(\w+)['\"]?\s+(\S+)", args)
        if heredoc:
            delimiter, target = heredoc.groups()
            body: list[str] = []
            while index < len(lines) and lines[index].strip() != delimiter:
                body.append(lines[index])
                index += 1
            index += 1
            heredocs[target] = "\n".join(body) + "\n"
    return Dockerfile(instructions, heredocs)


def entrypoint_script(dockerfile: Dockerfile) -> str:
    entrypoints = dockerfile.args("ENTRYPOINT")
    assert entrypoints, "the Dockerfile has no ENTRYPOINT that chooses the service"
    program = yaml.safe_load(entrypoints[-1])[0]  # exec form is a JSON (hence YAML) list
    script = next((body for target, body in dockerfile.heredocs.items()
                   if target == program or target.endswith(f"/{program}")), None)
    assert script is not None, f"ENTRYPOINT {program!r} is not a script written in the Dockerfile"
    return script


# ---------------------------------------------------------------- compose: what runs


def test_compose_names_the_infrastructure_and_the_four_services() -> None:
    document = load_compose()
    missing = [name for name in INFRASTRUCTURE if name not in document["services"]]
    assert not missing, f"docker-compose.yml lacks {missing}"
    for expected in SERVICES:
        compose_service(document, expected)


@pytest.mark.parametrize("expected", SERVICES, ids=SERVICE_IDS)
def test_each_service_builds_from_the_one_image(expected: Expected) -> None:
    name, service = compose_service(load_compose(), expected)
    build = service.get("build")
    assert isinstance(build, dict), f"{name}: `build:` should name the context and the Dockerfile"
    context = ROOT / build.get("context", ".")
    assert context.resolve() == ROOT, f"{name}: the build context is not the repository"
    assert (context / build.get("dockerfile", "")).resolve() == DOCKERFILE, (
        f"{name}: builds from {build.get('dockerfile')!r}, not deploy/Dockerfile")
    restart = service.get("restart")
    assert restart == "unless-stopped", f"{name}: restart is {restart}"


@pytest.mark.parametrize("expected", SERVICES, ids=SERVICE_IDS)
def test_each_service_selects_its_own_module(expected: Expected) -> None:
    name, service = compose_service(load_compose(), expected)
    args = command(service)
    if "-m" in args:  # an explicit `python -m services.<module>`
        selected = args[args.index("-m") + 1]
        assert selected == f"services.{expected.module}", f"{name} runs {selected}"
    else:  # the image's entrypoint takes the service name
        assert len(args) == 1, f"{name}: command {args} does not name one service"
        assert args[0].replace("-", "_") == expected.module, f"{name} selects {args[0]!r}"


@pytest.fixture(scope="module")
def stub_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory whose `python` prints its arguments instead of running anything."""
    directory = tmp_path_factory.mktemp("stub-bin")
    stub = directory / "python"
    stub.write_text('#!/bin/sh\necho "python $*"\n', encoding="utf-8")
    stub.chmod(stub.stat().st_mode | stat.S_IXUSR)
    return directory


def run_entrypoint(script: str, args: list[str], stub_bin: Path, **env: str) -> str:
    sh = shutil.which("sh")
    assert sh, "no /bin/sh to run the entrypoint script with"
    completed = subprocess.run(
        [sh, "-c", script, "motcua-entrypoint", *args], capture_output=True, text=True, timeout=10,
        env={"PATH": f"{stub_bin}{os.pathsep}{os.environ.get('PATH', '')}", **env}, check=False)
    output = f"{completed.stdout.strip()} {completed.stderr.strip()}".strip()
    return f"rc={completed.returncode} {output}"


@pytest.mark.parametrize("expected", SERVICES, ids=SERVICE_IDS)
def test_the_image_runs_the_module_compose_selects(expected: Expected, stub_python: Path) -> None:
    """The Dockerfile's entrypoint, given the compose `command`, execs the service's module."""
    name, service = compose_service(load_compose(), expected)
    script = entrypoint_script(parse_dockerfile())
    args = command(service)
    if "-m" in args:  # compose overrides the command with python -m itself
        args = args[args.index("-m") - 1:]
    outcome = run_entrypoint(script, args, stub_python)
    assert outcome == f"rc=0 python -m services.{expected.module}", f"{name}: {outcome}"


def test_the_entrypoint_refuses_to_guess_a_service(stub_python: Path) -> None:
    script = entrypoint_script(parse_dockerfile())
    assert run_entrypoint(script, [], stub_python).startswith("rc=64"), "no service chosen"
    assert run_entrypoint(script, ["billing"], stub_python).startswith("rc=64"), "unknown service"
    assert run_entrypoint(script, [], stub_python, MOTCUA_SERVICE="routing") == (
        "rc=0 python -m services.routing")


# ---------------------------------------------------------------- compose: environment


@pytest.mark.parametrize("expected", SERVICES, ids=SERVICE_IDS)
def test_every_variable_a_service_sets_is_one_it_reads(expected: Expected) -> None:
    name, service = compose_service(load_compose(), expected)
    env = environment(service)
    assert env, f"{name} sets no environment"
    unknown = sorted(set(env) - env_names(expected.settings))
    assert not unknown, (
        f"{name} sets {unknown}, which {expected.settings.__name__} does not read "
        f"(it reads {sorted(env_names(expected.settings))})")


@pytest.mark.parametrize("expected", SERVICES, ids=SERVICE_IDS)
def test_shared_endpoints_point_at_the_compose_infrastructure(expected: Expected) -> None:
    document = load_compose()
    name, service = compose_service(document, expected)
    env = environment(service)
    for shared in ("KAFKA_BOOTSTRAP_SERVERS", "MONGODB_URI", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        assert env.get(shared), f"{name} does not set {shared}"

    advertised = {listener.split("://", 1)[1]
                  for listener in kafka_properties()["advertised.listeners"].split(",")
                  if "://" in listener}
    for server in env["KAFKA_BOOTSTRAP_SERVERS"].split(","):
        assert server in advertised, (
            f"{name}: KAFKA_BOOTSTRAP_SERVERS {server} is not a listener kafka advertises "
            f"({sorted(advertised)})")
    mongo_host = re.match(r"mongodb://([^:/]+)", env["MONGODB_URI"])
    assert mongo_host and mongo_host.group(1) == "mongodb", (
        f"{name}: MONGODB_URI {env['MONGODB_URI']} is not the mongodb service")
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://jaeger:4318", (
        f"{name}: OTEL_EXPORTER_OTLP_ENDPOINT is {env['OTEL_EXPORTER_OTLP_ENDPOINT']}, "
        "not jaeger's OTLP/HTTP port")


@pytest.mark.parametrize("expected", SERVICES, ids=SERVICE_IDS)
def test_the_compose_environment_gives_valid_settings(
    expected: Expected, monkeypatch: pytest.MonkeyPatch,
) -> None:
    name, service = compose_service(load_compose(), expected)
    settings = settings_from_compose(expected, environment(service), monkeypatch)
    assert settings.http_host == "0.0.0.0", f"{name} listens on {settings.http_host}, unreachable"
    assert settings.kafka_bootstrap_servers == "kafka:9092"
    assert settings.mongodb_uri.startswith("mongodb://mongodb:")
    assert settings.environment != "production" or not settings.test_clock


@pytest.mark.parametrize("expected", SERVICES, ids=SERVICE_IDS)
def test_the_published_port_is_the_service_port(
    expected: Expected, monkeypatch: pytest.MonkeyPatch,
) -> None:
    name, service = compose_service(load_compose(), expected)
    env = environment(service)
    port_variable = f"{expected.prefix}HTTP_PORT"
    assert port_variable in env, f"{name} does not set {port_variable}"
    port = settings_from_compose(expected, env, monkeypatch).http_port
    assert port == int(env[port_variable])
    assert (port, port) in published_ports(service), (
        f"{name} listens on {port} but publishes {sorted(published_ports(service))}")


def test_no_two_services_publish_the_same_host_port() -> None:
    document = load_compose()
    seen: dict[int, str] = {}
    for name, service in document["services"].items():
        for host, _ in published_ports(service):
            assert host not in seen, f"{name} and {seen[host]} both publish {host}"
            seen[host] = name


# ---------------------------------------------------------------- compose: health and order


@pytest.mark.parametrize("expected", SERVICES, ids=SERVICE_IDS)
def test_each_service_has_a_readiness_healthcheck_on_its_port(expected: Expected) -> None:
    name, service = compose_service(load_compose(), expected)
    port = environment(service)[f"{expected.prefix}HTTP_PORT"]
    check = healthcheck_command(service)
    assert f"http://127.0.0.1:{port}/health/ready" in check, f"{name} healthcheck: {check}"


@pytest.mark.parametrize("expected", SERVICES, ids=SERVICE_IDS)
def test_each_service_waits_for_healthy_kafka_and_mongodb(expected: Expected) -> None:
    document = load_compose()
    name, service = compose_service(document, expected)
    depends_on = service.get("depends_on")
    assert isinstance(depends_on, dict), f"{name}: depends_on must be a mapping with conditions"
    for dependency in ("kafka", "mongodb"):
        assert (depends_on.get(dependency) or {}).get("condition") == "service_healthy", (
            f"{name} does not wait for {dependency} to be healthy")
        # service_healthy on a dependency without a healthcheck would never be satisfied
        healthcheck_command(document["services"][dependency])


def test_kafka_is_a_single_kraft_node_without_topic_auto_creation() -> None:
    kafka = load_compose()["services"]["kafka"]
    assert kafka["image"] == "apache/kafka:4.0.2"
    assert kafka["entrypoint"][-1] == "/motcua/kafka-start.sh"
    assert "./deploy/compose/kafka-start.sh:/motcua/kafka-start.sh:ro" in kafka["volumes"]
    props = kafka_properties()
    assert props["process.roles"] == "broker,controller"
    assert props["auto.create.topics.enable"] == "false", "services create their own topics"
    assert props["group.initial.rebalance.delay.ms"] == "0"
    for factor in ("offsets.topic.replication.factor", "transaction.state.log.replication.factor"):
        assert props[factor] == "1", f"{factor} must be 1 on a single broker"
    listeners = {listener.split("://")[0] for listener in props["listeners"].split(",")}
    protocols = dict(pair.split(":") for pair in props["listener.security.protocol.map"].split(","))
    assert listeners <= set(protocols), f"listeners {listeners} lack a protocol in {protocols}"
    assert "kafka-broker-api-versions.sh" in healthcheck_command(kafka)
    assert "localhost:29092" in props["advertised.listeners"], "no listener for the host"
    assert (29092, 29092) in published_ports(kafka)


def test_the_compose_broker_admits_no_anonymous_client_and_denies_what_no_acl_allows() -> None:
    props = kafka_properties()
    protocols = dict(pair.split(":") for pair in props["listener.security.protocol.map"].split(","))
    assert set(protocols.values()) == {"SASL_PLAINTEXT"}, protocols
    assert props["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert props["authorizer.class.name"].endswith("StandardAuthorizer")
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert props["super.users"] == "User:admin;User:controller"
    script = KAFKA_START.read_text(encoding="utf-8")
    assert "--add-scram" in script and "--command-config" in healthcheck_command(
        load_compose()["services"]["kafka"])
    # Passwords come from .env (python -m deploy.access compose-env), never from the file.
    env = environment(load_compose()["services"]["kafka"])
    for secret in ("KAFKA_ADMIN_PASSWORD", "KAFKA_CONTROLLER_PASSWORD"):
        assert env[secret].startswith(f"${{{secret}:?"), env[secret]


@pytest.mark.parametrize("expected", SERVICES, ids=SERVICE_IDS)
def test_each_service_signs_in_as_its_own_principal_after_the_access_job(expected: Expected) -> None:
    document = load_compose()
    _, service = compose_service(document, expected)
    env = environment(service)
    assert env["KAFKA_SASL_USERNAME"] == service_principal(expected.module)
    variable = compose_password_variable(expected.module)
    assert env["KAFKA_SASL_PASSWORD"].startswith(f"${{{variable}:?"), env["KAFKA_SASL_PASSWORD"]
    assert service["depends_on"]["access"]["condition"] == "service_completed_successfully"
    access = document["services"]["access"]
    assert command(access)[:2] == ["access", "apply"]
    assert "deploy.access" in entrypoint_script(parse_dockerfile())
    assert "deploy/access" in " ".join(parse_dockerfile().args("COPY"))


def test_mongodb_and_jaeger() -> None:
    services = load_compose()["services"]
    assert str(services["mongodb"]["image"]).startswith("mongo:8")
    assert "mongosh" in healthcheck_command(services["mongodb"])
    # a replica set, initiated by the health check: majority writes mean what they say
    assert services["mongodb"]["command"][:2] == ["--replSet", "rs0"]
    assert "rs.initiate" in healthcheck_command(services["mongodb"])
    assert "isWritablePrimary" in healthcheck_command(services["mongodb"])
    jaeger = services["jaeger"]
    assert str(jaeger["image"]).startswith("jaegertracing/all-in-one")
    assert environment(jaeger).get("COLLECTOR_OTLP_ENABLED") == "true"
    assert {16686, 4318} <= {container for _, container in published_ports(jaeger)}


# ---------------------------------------------------------------- the Dockerfile


def test_dockerfile_installs_exactly_the_lock_with_uv() -> None:
    dockerfile = parse_dockerfile()
    assert dockerfile.args("FROM") == ["python:3.11-slim"]
    runs = dockerfile.args("RUN")
    assert any("uv==0.13.9" in run for run in runs), "uv is not pinned"
    syncs = [run for run in runs if "uv sync" in run]
    assert syncs, "no `uv sync`"
    assert all("--frozen" in run and "--no-dev" in run for run in syncs), syncs
    copies = " ".join(dockerfile.args("COPY"))
    assert "uv.lock" in copies, "uv.lock is not copied into the image"
    envs = " ".join(dockerfile.args("ENV"))
    assert "UV_PROJECT_ENVIRONMENT=" in envs and "PATH=" in envs, "`python` is not the venv's"


def test_dockerfile_runs_as_a_non_root_user() -> None:
    users = parse_dockerfile().args("USER")
    assert users, "no USER: the services would run as root"
    assert users[-1].split(":")[0] not in {"root", "0"}, f"runs as {users[-1]}"


def test_dockerfile_copies_only_what_exists_and_is_not_ignored() -> None:
    ignored_by_default = DOCKERIGNORE.is_file() and "*" in DOCKERIGNORE.read_text().splitlines()
    allowed = set(DOCKERIGNORE.read_text().splitlines()) if DOCKERIGNORE.is_file() else set()
    for args in parse_dockerfile().args("COPY"):
        parts = [part for part in args.split() if not part.startswith("--")]
        if not parts or parts[0].startswith("<<"):
            continue
        for source in parts[:-1]:
            assert (ROOT / source).exists(), f"COPY {source}: no such file in the repository"
            if ignored_by_default:
                assert f"!{source}" in allowed, f"COPY {source}: excluded by .dockerignore"


def test_dockerfile_listens_on_all_interfaces_with_names_the_services_read() -> None:
    read = set().union(*(env_names(expected.settings) for expected in SERVICES))
    declared = set(re.findall(r"\b((?:INTAKE|ROUTING|SLA|NOTIFIER)_[A-Z_]+)=",
                              " ".join(parse_dockerfile().args("ENV"))))
    assert declared, "the image leaves every service on 127.0.0.1"
    assert declared <= read, f"the image sets {sorted(declared - read)}, which no service reads"


def test_dockerfile_healthcheck_asks_for_readiness() -> None:
    dockerfile = parse_dockerfile()
    checks = dockerfile.args("HEALTHCHECK")
    assert checks, "no HEALTHCHECK"
    assert "/health/ready" in checks[-1], checks[-1]
    program = yaml.safe_load(checks[-1][checks[-1].index("CMD") + 3:].strip())[0]
    script = next((body for target, body in dockerfile.heredocs.items()
                   if target.endswith(f"/{program}")), None)
    if script is not None:  # the check is a script written in the Dockerfile: it uses urllib
        assert "urllib.request" in script and "127.0.0.1" in script


def build_app(expected: Expected) -> FastAPI:
    import importlib

    module = importlib.import_module(f"services.{expected.module}.app")
    app = module.create_app(expected.settings.model_validate(
        {"KAFKA_SASL_USERNAME": "composition-only", "KAFKA_SASL_PASSWORD": "composition-only",
         "AUTH_ISSUER": "composition-only", "AUTH_JWKS_URL": "file:///composition-only",
         "lookup_key": "composition-only" * 2}))
    assert isinstance(app, FastAPI)
    return app


@pytest.mark.parametrize("expected", SERVICES, ids=SERVICE_IDS)
def test_the_healthchecked_route_is_served(expected: Expected) -> None:
    """/health/ready, which both healthchecks ask for, is a route of every service (no I/O)."""
    paths = sorted(build_app(expected).openapi()["paths"])
    assert "/health/ready" in paths, f"{expected.module} serves {paths}"
