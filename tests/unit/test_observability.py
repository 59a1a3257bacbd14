"""Prometheus and Grafana in docker-compose.yml agree with what the services serve.

Parsed, not run (no Docker here): every service with /metrics is scraped on the port it listens
on, Grafana gets the datasource and the dashboard, and every metric a panel asks for is one some
service registers, so a rename cannot silently empty a panel.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.metrics_core import Metric

from deploy.access.uses import SERVICE_NAMES, composed_runtimes
from tests.unit.test_compose import (
    ROOT,
    SERVICE_IDS,
    SERVICES,
    Expected,
    build_app,
    compose_service,
    environment,
    load_compose,
    published_ports,
)

PROMETHEUS_CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"
GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "motcua.json"
METRIC_IN_EXPRESSION = re.compile(r"\bmotcua_[a-z0-9_]+\b")
SAMPLE_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"),
                   "summary": ("", "_sum", "_count"), "gauge": ("",)}


def exposed_names(family: Metric) -> set[str]:
    """The sample names a family shows in the text exposition (a labelled counter shows its
    `_total` only after its first increment: derived from the type, not from the samples)."""
    return {family.name + suffix for suffix in SAMPLE_SUFFIXES.get(family.type, ("",))}


def every_exposed_name() -> set[str]:
    return {name for service in SERVICE_NAMES
            for family in composed_runtimes()[service].metrics.collect()
            for name in exposed_names(family)}


def scrape_configs() -> list[dict[str, Any]]:
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text(encoding="utf-8"))
    jobs = config.get("scrape_configs")
    assert isinstance(jobs, list) and jobs, f"{PROMETHEUS_CONFIG} has no scrape_configs"
    return jobs


def scraped(job: dict[str, Any]) -> set[str]:
    return {str(target) for static in job.get("static_configs") or []
            for target in static.get("targets") or []}


def mounts(service: dict[str, Any]) -> dict[str, Path]:
    """Container path to host path of a service's bind mounts (short syntax)."""
    found: dict[str, Path] = {}
    for volume in service.get("volumes") or []:
        parts = str(volume).split(":")
        if len(parts) >= 2 and parts[0].startswith("./"):
            found[parts[1]] = (ROOT / parts[0]).resolve()
    return found


def panel_expressions() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [(panel["title"], target["expr"]) for panel in dashboard["panels"]
            for target in panel.get("targets", []) if target.get("expr")]


# ---------------------------------------------------------------- Prometheus


@pytest.mark.parametrize("expected", SERVICES, ids=SERVICE_IDS)
def test_prometheus_scrapes_each_service_on_the_port_it_listens_on(expected: Expected) -> None:
    name, service = compose_service(load_compose(), expected)
    assert "/metrics" in build_app(expected).openapi()["paths"], f"{name} serves no /metrics"
    port = environment(service)[f"{expected.prefix}HTTP_PORT"]
    jobs = [job for job in scrape_configs() if f"{name}:{port}" in scraped(job)]
    assert len(jobs) == 1, f"{name}:{port} is scraped by {len(jobs)} jobs, not one"
    job = jobs[0]
    assert job.get("metrics_path", "/metrics") == "/metrics"
    assert job.get("scheme", "http") == "http"
    assert job["job_name"] == expected.module, "the job is the service (the dashboard's {{job}})"


def test_prometheus_scrapes_nothing_that_is_not_a_service() -> None:
    document = load_compose()
    known = set()
    for expected in SERVICES:
        name, service = compose_service(document, expected)
        known.add(f"{name}:{environment(service)[f'{expected.prefix}HTTP_PORT']}")
    targets = set().union(*(scraped(job) for job in scrape_configs()))
    assert targets == known, f"stray targets {sorted(targets - known)}"


def test_metrics_need_no_token_so_prometheus_sends_none() -> None:
    """Every endpoint but health and metrics needs a bearer token (ServiceSettings): the scrape
    configuration must not carry one, and /metrics must stay outside the token check."""
    for job in scrape_configs():
        assert not {"authorization", "bearer_token", "bearer_token_file", "basic_auth"} & set(job)
    app = build_app(SERVICES[0])
    operation = app.openapi()["paths"]["/metrics"]["get"]
    assert not operation.get("security"), "/metrics asks for a credential Prometheus lacks"


def test_compose_runs_a_pinned_prometheus_with_this_configuration() -> None:
    services = load_compose()["services"]
    prometheus = services["prometheus"]
    image = str(prometheus["image"])
    assert re.fullmatch(r"prom/prometheus:v\d+\.\d+\.\d+", image), f"{image} is not pinned"
    assert mounts(prometheus).get("/etc/prometheus/prometheus.yml") == PROMETHEUS_CONFIG
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus.get("command", [])
    assert (9090, 9090) in published_ports(prometheus)
    depends = prometheus.get("depends_on") or []
    assert {compose_service(load_compose(), e)[0] for e in SERVICES} <= set(depends)


# ---------------------------------------------------------------- Grafana


def test_compose_runs_grafana_with_the_datasource_and_dashboard_provisioned() -> None:
    grafana = load_compose()["services"]["grafana"]
    assert re.fullmatch(r"grafana/grafana(-oss)?:\d+\.\d+\.\d+", str(grafana["image"]))
    mounted = mounts(grafana)
    assert mounted.get("/etc/grafana/provisioning") == (GRAFANA / "provisioning").resolve()
    providers = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "motcua.yml").read_text())
    path = providers["providers"][0]["options"]["path"]
    assert mounted.get(path) == DASHBOARD.parent.resolve(), f"nothing mounted at {path}"
    sources = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())
    [source] = sources["datasources"]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"
    password = environment(grafana)["GF_SECURITY_ADMIN_PASSWORD"]
    assert password.startswith("${GRAFANA_ADMIN_PASSWORD:?"), "a password in the file"
    assert {host for host, _ in published_ports(grafana)} == {3000}
    assert all(str(port).startswith("127.0.0.1:") for port in grafana["ports"])


def test_the_dashboard_uses_its_datasource_variable_everywhere() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert 36 <= dashboard["schemaVersion"] <= 41
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "two panels share an id"


def test_every_metric_a_panel_asks_for_is_one_a_service_exposes() -> None:
    exposed = every_exposed_name()
    used = {(title, name) for title, expr in panel_expressions()
            for name in METRIC_IN_EXPRESSION.findall(expr)}
    assert used, "the dashboard queries no motcua metric"
    unknown = sorted((title, name) for title, name in used if name not in exposed)
    assert not unknown, f"panels ask for metrics no service exposes: {unknown}"


def test_the_dashboard_covers_what_operators_were_promised() -> None:
    used = {name for _, expr in panel_expressions() for name in METRIC_IN_EXPRESSION.findall(expr)}
    promised = {"motcua_applications_received_total", "motcua_applications_rejected_total",
                "motcua_routing_decisions_total", "motcua_kafka_consumer_lag_messages",
                "motcua_outbox_backlog_messages", "motcua_sla_deadlines",
                "motcua_sla_alerts_fired_total", "motcua_notifications_sent_total",
                "motcua_notifications_failed_total", "motcua_http_problems_total",
                "motcua_sla_alert_lag_seconds_bucket"}
    assert promised <= used, f"no panel for {sorted(promised - used)}"


def test_a_renamed_metric_would_be_caught() -> None:
    exposed = every_exposed_name()
    assert "motcua_outbox_backlog_messages" in exposed
    assert "motcua_outbox_backlog" not in exposed
    assert "motcua_notifications_failed_total" in exposed  # labelled, never incremented here
