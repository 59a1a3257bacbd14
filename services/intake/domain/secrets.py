"""The receipt's lookup secret: who holds the receipt, and no one guessing codes, tracks a record."""

from __future__ import annotations

import base64
import hashlib
import hmac

LOOKUP_SECRET_GROUPS = 4


def lookup_secret(key: bytes, record_code: str) -> str:
    """What the receipt prints beside the record code so that its holder, and no one guessing
    sequential codes, can track the record: derived from the code with intake's key (HMAC), so
    nothing is stored and a retried submission prints the same one. 80 bits, as `ABCD-EFGH-…`."""
    text = base64.b32encode(hmac.new(key, record_code.encode(), hashlib.sha256).digest()[:10])
    chunk = len(text) // LOOKUP_SECRET_GROUPS
    return "-".join(text[i:i + chunk].decode() for i in range(0, len(text), chunk))


def lookup_secret_matches(key: bytes, record_code: str, given: str) -> bool:
    """Compared in constant time; case, spaces and dashes as the holder may type them."""
    typed = "".join(given.split()).replace("-", "").upper()
    return hmac.compare_digest(typed, lookup_secret(key, record_code).replace("-", ""))
