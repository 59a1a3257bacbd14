"""The monitor's policy from settings, the catalogue's waiting rules and a per-procedure file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reference.catalog import load_catalog
from services.sla_monitor.policies import build_policy
from services.sla_monitor.settings import SlaMonitorSettings

CATALOG = load_catalog()
BIRTH = "1.001193.000.00.00.H40"

SASL = {"KAFKA_SASL_USERNAME": "svc.sla_monitor", "KAFKA_SASL_PASSWORD": "unused",
        "AUTH_ISSUER": "https://issuer.example", "AUTH_JWKS_URL": "file:///jwks.json"}


def test_settings_give_the_defaults_and_the_file_overrides_one_procedure(tmp_path: Path) -> None:
    overrides = tmp_path / "policy.json"
    overrides.write_text(json.dumps({BIRTH: {"warning_working_days": 0.5,
                                             "escalation_2_after_working_days": 1}}))
    settings = SlaMonitorSettings.model_validate({**SASL, "warning_fraction": 0.3,
                                                  "policy_file": str(overrides)})
    policy = build_policy(settings, CATALOG)
    assert policy.defaults.warning_fraction == 0.3
    birth = policy.for_procedure(BIRTH)
    assert (birth.warning_working_days, birth.escalation_2_after_working_days) == (0.5, 1)
    assert birth.warning_fraction == 0.3  # what the file does not name comes from the settings
    other = next(p.code for p in CATALOG if p.code != BIRTH)
    assert policy.for_procedure(other).warning_working_days == 1.0


def test_waiting_rules_come_from_the_catalogue() -> None:
    counting = [p for p in CATALOG if p.waiting_time_counts]
    policy = build_policy(SlaMonitorSettings.model_validate(SASL), CATALOG)
    for procedure in CATALOG:
        assert policy.for_procedure(procedure.code).waiting_time_counts == procedure.waiting_time_counts
    assert len(counting) < len(list(CATALOG))


@pytest.mark.parametrize(("content", "message"), [
    ({"9.999999.000.00.00.H40": {}}, "not in the catalogue"),
    ({BIRTH: {"warn_days": 1}}, "unknown fields"),
    ({BIRTH: {"warning_fraction": 2}}, "warning_fraction"),
])
def test_a_policy_file_that_cannot_apply_is_refused_by_name(
        tmp_path: Path, content: dict[str, dict[str, float]], message: str) -> None:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(content))
    with pytest.raises(ValueError, match=message):
        build_policy(SlaMonitorSettings.model_validate({**SASL, "policy_file": str(path)}), CATALOG)
