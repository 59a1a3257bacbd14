"""A bulk insert's duplicate-key refusals are answers; anything else still fails."""

from __future__ import annotations

import pytest
from pymongo.errors import BulkWriteError

from services.runtime.duplicates import refused_as_duplicates


def bulk_error(*codes: int) -> BulkWriteError:
    return BulkWriteError({"writeErrors": [{"index": i * 2, "code": code, "errmsg": "refused"}
                                           for i, code in enumerate(codes)]})


def test_the_indexes_refused_as_duplicates_are_named() -> None:
    assert refused_as_duplicates(bulk_error(11000, 11000)) == {0, 2}


def test_any_other_refusal_raises_the_error() -> None:
    error = bulk_error(11000, 121)  # 121: document failed validation
    with pytest.raises(BulkWriteError) as raised:
        refused_as_duplicates(error)
    assert raised.value is error


def test_a_write_the_majority_did_not_acknowledge_decides_nothing() -> None:
    """A claim the primary took but the majority did not may be rolled back: not a win yet."""
    error = BulkWriteError({"writeErrors": [{"index": 1, "code": 11000, "errmsg": "refused"}],
                            "writeConcernErrors": [{"code": 64, "errmsg": "replication timed out"}]})
    with pytest.raises(BulkWriteError) as raised:
        refused_as_duplicates(error)
    assert raised.value is error
