"""What MongoDB's profiler saw a service do: every query that scanned a whole collection.

Profiling every operation of a test's database records the plan MongoDB chose for each read,
update and delete the service really issued, so a hot-path query without its index shows up
as a `COLLSCAN`, whichever code path sent it.
"""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient


async def profile_everything(client: AsyncMongoClient[Any], database: str) -> None:
    await client[database].command("profile", 2, slowms=0)


async def collection_scans(client: AsyncMongoClient[Any], database: str) -> list[dict[str, Any]]:
    """Each profiled operation whose plan scanned a collection: namespace, operation, filter."""
    db = client[database]
    await db.command("profile", 0)
    found = db["system.profile"].find({"planSummary": {"$regex": "COLLSCAN"},
                                       "ns": {"$not": {"$regex": r"\.system\."}}})
    return [{"ns": entry["ns"], "op": entry["op"], "plan": entry["planSummary"],
             "command": {k: v for k, v in entry.get("command", {}).items()
                         if k in ("filter", "q", "sort", "pipeline", "find", "update", "delete")}}
            async for entry in found]


async def operations_profiled(client: AsyncMongoClient[Any], database: str) -> int:
    return await client[database]["system.profile"].count_documents({"planSummary": {"$exists": True}})
