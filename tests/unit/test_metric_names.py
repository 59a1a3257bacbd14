"""Every service's metrics follow the Prometheus naming conventions and carry no personal data.

The registries are the ones the composition roots build (nothing connects), so a metric added
anywhere in a service is checked here without being listed.
"""

from __future__ import annotations

import re

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from deploy.access.uses import SERVICE_NAMES, composed_runtimes

DENIED_LABELS = {
    "record_code", "record_id", "record", "code_lookup", "citizen_id", "citizen", "applicant",
    "name", "full_name", "email", "phone", "address", "recipient", "to", "user", "subject",
    "event_id", "notification_id", "trace_id", "idempotency_key", "secret", "token",
}
"""Personal or unbounded values: a label of one of these names would put them in every scrape."""
BASE_UNITS = ("_seconds", "_bytes", "_ratio", "_messages", "_deadlines", "_notifications")
"""What a gauge or histogram may measure: base units, or the countable things this system has."""
NON_BASE_UNITS = re.compile(r"_(milli|micro|nano)?(seconds|second)_|_(ms|us|minutes?|hours?|days?|"
                            r"kb|mb|gb|kilobytes|megabytes|percent)(_|$)")
TIME_WORDS = re.compile(r"\b(time|lag|latency|duration|age|wait|waited|took|delay)\b")
STATES = {"motcua_calendar_next_year": "1 while next year's calendar needs an operator"}
"""Gauges of a state (0 or 1), which have no unit."""


def registry_of(service: str) -> CollectorRegistry:
    return composed_runtimes()[service].metrics


def families(service: str) -> list[Metric]:
    return list(registry_of(service).collect())


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_every_metric_is_named_for_the_system(service: str) -> None:
    names = [family.name for family in families(service)]
    assert names, f"{service} registers no metric"
    strays = [name for name in names if not name.startswith("motcua_")]
    assert not strays, f"{service}: {strays} do not start with motcua_"


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_counters_end_in_total_and_nothing_else_does(service: str) -> None:
    exposed = text_string_to_metric_families(generate_latest(registry_of(service)).decode())
    for family in exposed:
        if family.type == "counter":
            assert not family.name.endswith("_total"), f"{family.name}_total: _total twice"
            samples = {sample.name for sample in family.samples}
            assert f"{family.name}_total" in samples or not family.samples, samples
        else:
            assert not family.name.endswith("_total"), f"{family.name} is a {family.type}"


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_gauges_and_histograms_name_their_unit(service: str) -> None:
    for family in families(service):
        if family.type not in ("gauge", "histogram"):
            continue
        if family.name in STATES:
            assert family.type == "gauge"
            continue
        assert family.name.endswith(BASE_UNITS), (
            f"{family.name} ({family.type}): name a unit, one of {BASE_UNITS}")
        if TIME_WORDS.search(family.documentation.lower()):
            assert family.name.endswith("_seconds"), f"{family.name} measures time: _seconds"


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_no_metric_counts_in_a_unit_other_than_the_base_one(service: str) -> None:
    for family in families(service):
        assert not NON_BASE_UNITS.search(family.name), f"{family.name}: use seconds or bytes"
        assert family.documentation.strip(), f"{family.name} has no help text"


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_no_label_can_carry_personal_or_unbounded_values(service: str) -> None:
    registry = registry_of(service)
    for family in registry.collect():
        for sample in family.samples:
            denied = set(sample.labels) & DENIED_LABELS
            assert not denied, f"{family.name} has labels {sorted(denied)}"
    # Labels of metrics with no sample yet (a labelled counter before its first increment)
    # show only in the collectors themselves.
    for collector in list(registry._collector_to_names):
        declared = set(getattr(collector, "_labelnames", ()))
        denied = declared & DENIED_LABELS
        assert not denied, f"{registry._collector_to_names[collector]} declares {sorted(denied)}"


def test_the_checks_would_catch_a_bad_name() -> None:
    assert NON_BASE_UNITS.search("motcua_query_milliseconds_total")
    assert NON_BASE_UNITS.search("motcua_wait_ms")
    assert not NON_BASE_UNITS.search("motcua_sla_due_query_seconds")
    assert TIME_WORDS.search("time of one query")
    assert not "motcua_outbox_backlog".endswith(BASE_UNITS)
