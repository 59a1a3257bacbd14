"""An intake service in this process on the real stack, reached through its ASGI app."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from reference.catalog import load_catalog
from reference.units import load_units
from services.intake.app import create_app
from services.intake.examples import application
from services.intake.settings import IntakeSettings
from services.runtime.service import ServiceRuntime
from tests.endpoints import Endpoints


@dataclass
class Intake:
    client: httpx.AsyncClient
    settings: IntakeSettings
    app: FastAPI

    @property
    def runtime(self) -> ServiceRuntime:
        runtime: ServiceRuntime = self.app.state.runtime
        return runtime

    async def submit(self, body: dict[str, Any], key: str | None = None) -> httpx.Response:
        return await self.client.post("/applications", json=body,
                                      headers={"Idempotency-Key": key or str(uuid.uuid4())})

    async def count_records(self) -> int:
        return await self.runtime.db["records"].count_documents({})


@pytest.fixture
async def intake(make_settings: Callable[..., Any], endpoints: Endpoints) -> AsyncIterator[Intake]:
    settings: IntakeSettings = make_settings(IntakeSettings)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake",
                                     headers=endpoints.all_roles()) as client:
            yield Intake(client, settings, app)
        await app.state.runtime.mongo.drop_database(settings.mongodb_database)


@pytest.fixture(scope="session")
def catalog_and_units() -> tuple[Any, Any]:
    return load_catalog(), load_units()


@pytest.fixture
def make_application(catalog_and_units: tuple[Any, Any]) -> Callable[..., dict[str, Any]]:
    catalog, units = catalog_and_units
    rng = random.Random(11)

    def build(procedure_code: str = "9.000003.000.00.00.H40", **changes: Any) -> dict[str, Any]:
        body = application(catalog.get(procedure_code), units, rng)
        body.update(changes)
        return body

    return build
