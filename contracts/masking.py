"""Masked contact addresses: say where a message went without saying to whom."""

from __future__ import annotations

from urllib.parse import urlsplit

_HIDDEN = "***"


def mask_email(address: str) -> str:
    """``nhung.nguyen@example.vn`` → ``n***@example.vn`` (the local part's length is hidden too)."""
    local, at, domain = address.strip().rpartition("@")
    if not at or not local or not domain:
        return _HIDDEN
    return f"{local[0]}{_HIDDEN}@{domain}"


def mask_phone(number: str) -> str:
    """``0912345678`` → ``09*****678``: the first two and last three digits stay."""
    digits = number.strip()
    if len(digits) < 8:
        return _HIDDEN
    return f"{digits[:2]}{'*' * (len(digits) - 5)}{digits[-3:]}"


def mask_url(url: str) -> str:
    """``https://hooks.example.vn/a/b?token=x`` → ``https://hooks.example.vn/***``."""
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.hostname:
        return _HIDDEN
    return f"{parts.scheme}://{parts.hostname}/{_HIDDEN}"
