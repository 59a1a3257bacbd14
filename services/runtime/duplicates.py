"""Unordered inserts in which "already there" is an answer, not a failure.

Idempotent writes insert by a natural `_id` or unique key: a document refused as a duplicate was
written before (a replay, a concurrent retry, another process's claim). Every store reads that
answer from a `BulkWriteError` the same way, here.
"""

from __future__ import annotations

from pymongo.errors import BulkWriteError

DUPLICATE_KEY = 11000


def refused_as_duplicates(error: BulkWriteError) -> set[int]:
    """The indexes of the operations refused because their document exists; re-raises `error`
    when any operation failed for another reason, or when the majority did not acknowledge the
    writes (a write the primary applied may still be rolled back: it decides nothing yet)."""
    errors = error.details.get("writeErrors", [])
    if error.details.get("writeConcernErrors") or any(e.get("code") != DUPLICATE_KEY
                                                      for e in errors):
        raise error
    return {e["index"] for e in errors}
