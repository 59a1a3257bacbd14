"""The monitor's policy from its settings, the catalogue and an optional per-procedure file."""

from __future__ import annotations

import json
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from reference.catalog import Catalog

from .domain import ProcedurePolicy, SlaPolicy
from .settings import SlaMonitorSettings

_FIELDS = {f.name for f in fields(ProcedurePolicy)}


def build_policy(settings: SlaMonitorSettings, catalog: Catalog) -> SlaPolicy:
    """Defaults from settings; waiting rules from the catalogue; overrides from `policy_file`.

    Raises ValueError naming the procedure and field when the file says something impossible.
    """
    defaults = ProcedurePolicy(
        warning_working_days=settings.warning_working_days,
        warning_fraction=settings.warning_fraction,
        delay_request_working_days=settings.delay_request_working_days,
        escalation_2_after_working_days=settings.escalation_2_after_working_days,
        default_extension_days=settings.default_extension_days,
        stuck_routing_working_hours=settings.stuck_routing_working_hours)
    overrides: dict[str, ProcedurePolicy] = {}
    if settings.policy_file:
        raw: dict[str, dict[str, Any]] = json.loads(Path(settings.policy_file).read_text("utf-8"))
        known = {p.code: p for p in catalog}
        for code, values in raw.items():
            if code not in known:
                raise ValueError(f"policy file names procedure {code}, which is not in the catalogue")
            unknown = set(values) - _FIELDS
            if unknown:
                raise ValueError(f"policy file: procedure {code} has unknown fields {sorted(unknown)}")
            base = replace(defaults, waiting_time_counts=known[code].waiting_time_counts)
            overrides[code] = replace(base, **values)
    return SlaPolicy.from_catalog(catalog, defaults, overrides)
