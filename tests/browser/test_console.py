"""The console in a real browser, against the real services: an officer routes a record of the
manual queue; a supervisor watches it but cannot route; nobody gets in without signing in."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from contracts import topics
from contracts.department.v2 import RecordAssigned
from contracts.envelope import decode
from deploy.local.services import ServiceFleet
from reference.units import load_units
from tests.e2e.pipeline import applications, drop_databases, fleet, start, submit
from tests.endpoints import Endpoints
from tests.kafka_io import read_topic

from .conftest import Camera

pytestmark = pytest.mark.integration


@dataclass
class Console:
    services: ServiceFleet
    url: str
    routing: str
    namespace: str
    codes: list[str]


async def waiting(routing: str, headers: dict[str, str], count: int) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=routing, headers=headers, timeout=10) as client:
        for _ in range(120):
            records: list[dict[str, Any]] = (await client.get("/manual-queue")).json()["records"]
            if len(records) >= count:
                return records
            await asyncio.sleep(0.5)
    raise AssertionError(f"fewer than {count} records reached the manual queue")


@pytest.fixture
async def console(endpoints: Endpoints, unique: str, tmp_path: Path) -> AsyncIterator[Console]:
    """Intake, routing, the sign-in page and the console; two records in the manual queue
    (a commune's procedure filed under a former district: a person must choose the commune)."""
    services = fleet(endpoints, unique, tmp_path / "logs")
    try:
        await start(services, "intake", "routing", "signin")
        await start(services, "console")
        district = load_units().former_districts[0].code
        bodies = applications(2, unique, seed=16)
        for body in bodies:
            body["administrative_unit_code"] = district
        urls = {name: s.base_url for name, s in services.running.items()}
        codes = await submit(urls["intake"], bodies, endpoints.all_roles())
        await waiting(urls["routing"], endpoints.issuer.headers("officer"), 2)
        yield Console(services, urls["console"], urls["routing"], f"t{unique}.", codes)
    finally:
        await asyncio.to_thread(services.stop_all)
        await drop_databases(endpoints, unique)


async def sign_in(browser: Browser, console: Console, person: str, path: str,
                  camera: Camera | None = None) -> Page:
    """A new browser context (no cookies), sent to the sign-in page, back signed in."""
    context = await browser.new_context(locale="vi-VN", viewport={"width": 1100, "height": 900})
    page = await context.new_page()
    await page.goto(console.url + path)
    await expect(page.get_by_role("heading", name="Đăng nhập · Sign in")).to_be_visible()
    if camera is not None:
        await camera.shoot(page, "sign-in")
    await page.locator(f'button[value="{person}"]').click()
    await page.wait_for_url(console.url + path)
    return page


async def test_an_officer_routes_a_waiting_record_and_it_reaches_its_department(
        browser: Browser, console: Console, endpoints: Endpoints, camera: Camera) -> None:
    page = await sign_in(browser, console, "officer.lan", "/queue", camera)
    cards = page.locator("li.card")
    await expect(cards).to_have_count(2)
    await camera.shoot(page, "queue")
    first, second = console.codes
    card = page.locator(f'li.card[data-record="{first}"]')
    await expect(card).to_contain_text("former district")  # routing's reason, as routing gave it
    chosen = await card.locator("select[name=department_code] option").first.get_attribute("value")
    assert chosen is not None and chosen.startswith("UBND-X-")  # a suggested commune first
    await card.locator("input[name=note]").fill("Thửa đất thuộc địa bàn xã này")
    await card.get_by_role("button", name="Chuyển xử lý").click()
    await expect(page.get_by_role("status")).to_contain_text(f"{first}")
    await expect(cards).to_have_count(1)
    await expect(page.locator(f'li.card[data-record="{second}"]')).to_be_visible()
    await camera.shoot(page, "queue-after-routing")
    assigned = [decode(r.key, r.value, r.headers).narrow(RecordAssigned) for r in await read_topic(
        endpoints.kafka, console.namespace + topics.department_topic(chosen), count=1, timeout=30)]
    assert [(a.record_id, a.data.attempt) for a in assigned] == [(first, 2)]

    await page.set_viewport_size({"width": 390, "height": 844})  # a phone
    await page.reload()
    await camera.shoot(page, "queue-on-a-phone")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide on a 390px screen"


async def test_a_supervisor_sees_the_queue_but_routing_refuses_their_choice(
        browser: Browser, console: Console, camera: Camera) -> None:
    page = await sign_in(browser, console, "supervisor.minh", "/queue")
    await expect(page.locator("li.card")).to_have_count(2)
    await expect(page.locator("li.card form")).to_have_count(0)  # no form to route with
    await camera.shoot(page, "queue-read-only")
    csrf = await page.locator("input[name=csrf]").first.get_attribute("value")
    code = console.codes[0]
    # the page offers nothing, but a hand-made post still meets routing's lock
    answer = await page.request.post(f"{console.url}/queue/{code}", form={
        "department_code": "SO-TU-PHAP", "attempt": "1", "note": "thử", "csrf": csrf or ""})
    assert answer.status == 403
    await page.goto(f"{console.url}/lang/en?next=/queue")
    await expect(page.locator("li.card")).to_have_count(2)  # still waiting
    await expect(page.get_by_text("Only one-stop officers can route records.")).to_be_visible()
    await camera.shoot(page, "queue-read-only-english")


async def test_without_signing_in_no_page_shows_anything(browser: Browser, console: Console) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    answer = await page.request.get(f"{console.url}/queue", max_redirects=0)
    assert answer.status == 303 and answer.headers["location"].startswith("/signin")
    forged = await context.request.post(f"{console.url}/queue/{console.codes[0]}", max_redirects=0,
                                        form={"department_code": "SO-TU-PHAP", "attempt": "1",
                                              "note": "thử", "csrf": "x"})
    assert forged.status == 303
    await context.add_cookies([{"name": "motcua_session", "value": "not-a-token",
                                "url": console.url}])
    again = await context.request.get(f"{console.url}/queue", max_redirects=0)
    assert again.status == 303  # a cookie that is not the provider's token is no session
    await context.close()
