"""The principals' passwords, kept in one file readable by its owner only.

Locally this file is the source of truth: the access command sets every principal's broker
credential from it on each run. In production a secret store holds it (on Kubernetes, the
Secrets of Strimzi's `KafkaUser`s) and each service is given its own entry only.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable
from pathlib import Path


class CredentialFile:
    """`{principal: password}` as JSON, mode 0600."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, str]:
        if not self.path.exists():
            return {}
        return {str(k): str(v) for k, v in json.loads(self.path.read_text()).items()}

    def password(self, principal: str) -> str:
        found = self.load().get(principal)
        if found is None:
            raise KeyError(f"no credential for {principal} in {self.path}: run "
                           "`python -m deploy.access apply` after adding it to the directory")
        return found

    def ensure(self, principals: Iterable[str]) -> dict[str, str]:
        """A password for each principal, new ones generated; returns all of them."""
        known = self.load()
        wanted = set(principals)
        changed = False
        for principal in sorted(wanted - known.keys()):
            known[principal] = secrets.token_urlsafe(24)
            changed = True
        if changed:
            self._save(known)
        return {principal: known[principal] for principal in sorted(wanted)}

    def rotate(self, principal: str) -> str:
        """A new password for one principal, saved before the broker is told."""
        known = self.load()
        known[principal] = secrets.token_urlsafe(24)
        self._save(known)
        return known[principal]

    def _save(self, known: dict[str, str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(known, handle, indent=1, sort_keys=True)
        temporary.replace(self.path)
