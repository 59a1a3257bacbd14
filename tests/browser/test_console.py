"""The console in a real browser, against the real services: an officer routes a record of the
manual queue; a supervisor watches it but cannot route, and acknowledges an escalation; an
officer may not see the supervisors' page; nobody gets in without signing in."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
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
from tests.kafka_io import read_topic, write_raw

from .conftest import Camera

pytestmark = pytest.mark.integration


@dataclass
class Console:
    services: ServiceFleet
    url: str
    routing: str
    sla: str
    namespace: str
    codes: list[str]


async def polled(url: str, headers: dict[str, str], until: Callable[[Any], bool], what: str,
                 params: dict[str, str] | None = None) -> Any:
    """GET `url` every half second until its body satisfies `until` (60 s at most)."""
    async with httpx.AsyncClient(headers=headers, timeout=10) as client:
        for _ in range(120):
            body = (await client.get(url, params=params)).json()
            if until(body):
                return body
            await asyncio.sleep(0.5)
    raise AssertionError(f"{what}: not within 60 s")


async def waiting(routing: str, headers: dict[str, str], count: int) -> list[dict[str, Any]]:
    body = await polled(f"{routing}/manual-queue", headers, lambda b: len(b["records"]) >= count,
                        f"{count} records in the manual queue")
    records: list[dict[str, Any]] = body["records"]
    return records


@pytest.fixture
async def console(endpoints: Endpoints, unique: str, tmp_path: Path) -> AsyncIterator[Console]:
    """Intake, routing, the sign-in page and the console; two records in the manual queue
    (a commune's procedure filed under a former district: a person must choose the commune)."""
    services = fleet(endpoints, unique, tmp_path / "logs")
    try:
        await start(services, "intake", "routing", "sla_monitor", "signin")
        await start(services, "console")
        district = load_units().former_districts[0].code
        bodies = applications(2, unique, seed=16)
        for body in bodies:
            body["administrative_unit_code"] = district
        urls = {name: s.base_url for name, s in services.running.items()}
        codes = await submit(urls["intake"], bodies, endpoints.all_roles())
        await waiting(urls["routing"], endpoints.issuer.headers("officer"), 2)
        yield Console(services, urls["console"], urls["routing"], urls["sla_monitor"],
                      f"t{unique}.", codes)
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


async def escalations(sla: str, headers: dict[str, str], count: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = await polled(f"{sla}/escalations", headers,
                                               lambda b: len(b) >= count, f"{count} escalations")
    return found


async def test_a_supervisor_acknowledges_an_escalation_and_reads_the_figures(
        browser: Browser, console: Console, endpoints: Endpoints, camera: Camera) -> None:
    supervisor = endpoints.issuer.headers("supervisor")
    raised = await escalations(console.sla, supervisor, 2)  # the queue's records: misrouted
    assert {(e["kind"], e["level"], e["department_code"]) for e in raised} == {
        ("misrouted", 1, "MOT-CUA-TINH")}
    page = await sign_in(browser, console, "supervisor.minh", "/late")
    cards = page.locator("li.escalation")
    await expect(cards).to_have_count(2)
    await camera.shoot(page, "late-and-at-risk")
    code = console.codes[1]
    card = page.locator(f'li.escalation[data-record="{code}"]')
    await card.locator("input[name=note]").fill("Đã nhắc Bộ phận Một cửa phân loại trong ngày")
    await card.get_by_role("button", name="Xác nhận đã nắm").click()
    await expect(page.get_by_role("status")).to_contain_text(code)
    await expect(card).to_contain_text("supervisor.minh")
    await expect(page.locator("li.escalation form")).to_have_count(1)  # the other one waits
    await camera.shoot(page, "escalation-acknowledged")
    after = {e["record_code"]: e for e in await escalations(console.sla, supervisor, 2)}
    assert after[code]["acknowledged"]["by"] == "supervisor.minh"
    assert after[console.codes[0]]["acknowledged"] is None
    await expect(page.locator("table.index")).to_contain_text("MOT-CUA-TINH")
    async with page.expect_download() as download:
        await page.get_by_role("link", name="Tải CSV").click()
    saved = Path(await (await download.value).path())
    rows = (await asyncio.to_thread(saved.read_text)).splitlines()
    assert rows[0].startswith("department,done_early") and any(
        r.startswith("MOT-CUA-TINH,") for r in rows[1:])


async def test_an_operator_reads_the_supervisors_page_and_an_officer_is_refused(
        browser: Browser, console: Console, endpoints: Endpoints, camera: Camera) -> None:
    await escalations(console.sla, endpoints.issuer.headers("supervisor"), 2)
    operator = await sign_in(browser, console, "operator.hung", "/late")
    await expect(operator.locator("li.escalation")).to_have_count(2)
    await expect(operator.locator("li.escalation form")).to_have_count(0)
    officer = await sign_in(browser, console, "officer.lan", "/queue")
    answer = await officer.goto(f"{console.url}/late")
    assert answer is not None and answer.status == 403
    await expect(officer.get_by_role("alert")).to_contain_text("Vai trò của bạn")
    await expect(officer.get_by_role("link", name="Trễ hạn và sắp trễ")).to_have_count(0)
    await camera.shoot(officer, "late-refused-to-an-officer")


async def dead_letters(base: str, headers: dict[str, str], count: int,
                       state: str = "waiting") -> list[dict[str, Any]]:
    body = await polled(f"{base}/dead-letters", headers, lambda b: len(b["dead_letters"]) >= count,
                        f"{count} dead letters {state} at {base}", {"state": state})
    found: list[dict[str, Any]] = body["dead_letters"]
    return found


async def test_an_operator_discards_one_dead_letter_and_replays_another_an_officer_may_not(
        browser: Browser, console: Console, endpoints: Endpoints, camera: Camera) -> None:
    poison = b'{"record_code": "not a submission"'
    await write_raw(endpoints.kafka, console.namespace + topics.RECORDS_SUBMITTED, poison,
                    key=b"000.00.21.H40-261207-9999", headers=[])
    operator_headers = endpoints.issuer.headers("operator")
    [refused_by_routing] = await dead_letters(console.routing, operator_headers, 1)
    await dead_letters(console.sla, operator_headers, 1)
    page = await sign_in(browser, console, "operator.hung", "/dead-letters", camera)
    letters = page.locator("li.dead-letter")
    await expect(letters).to_have_count(2)  # routing and the SLA monitor both refused it
    await expect(page.locator("#dead-letter-topics")).to_contain_text(topics.RECORDS_SUBMITTED)
    await expect(letters.first).to_contain_text(refused_by_routing["reason"])
    await camera.shoot(page, "dead-letters")

    await page.locator(f'input[value="routing|{refused_by_routing["id"]}"]').check()
    await page.locator("input[name=note]").fill("Thông điệp thử nghiệm, không phải hồ sơ thật")
    await page.get_by_role("button", name="Bỏ qua").click()
    await expect(page.get_by_role("status")).to_contain_text("Đã bỏ qua 1")
    await expect(letters).to_have_count(1)
    [gone] = await dead_letters(console.routing, operator_headers, 1, state="discarded")
    assert (gone["history"][-1]["by"], gone["history"][-1]["note"]) == (
        "operator.hung", "Thông điệp thử nghiệm, không phải hồ sơ thật")

    await letters.first.locator("input[name=letter]").check()
    await page.get_by_role("button", name="Xử lý lại").click()
    await expect(page.get_by_role("status")).to_contain_text("xử lý lại 1")
    body = await polled(  # the SLA monitor runs it again, and refuses it again
        f"{console.sla}/dead-letters", operator_headers,
        lambda b: [d["history"][-1]["action"] for d in b["dead_letters"]] == ["refused-again"],
        "the replay refused again")
    [letter] = body["dead_letters"]
    assert letter["history"][-1]["action"] == "refused-again"
    await page.reload()
    await expect(letters.first).to_contain_text("bị từ chối lần nữa")
    await camera.shoot(page, "dead-letters-after")

    officer = await sign_in(browser, console, "officer.lan", "/queue")
    answer = await officer.goto(f"{console.url}/dead-letters")
    assert answer is not None and answer.status == 403
    await expect(officer.get_by_role("link", name="Thông điệp lỗi")).to_have_count(0)


async def test_an_operator_follows_a_record_from_receipt_to_escalation_with_its_trace(
        browser: Browser, console: Console, endpoints: Endpoints, camera: Camera) -> None:
    await escalations(console.sla, endpoints.issuer.headers("supervisor"), 2)
    code = console.codes[0]
    intake = console.services.running["intake"].base_url
    record = await polled(  # intake hears of the routing on its own consumer
        f"{intake}/records/{code}", endpoints.issuer.headers("operator"),
        lambda b: any(e["event_type"].endswith(".routed") for e in b["history"]), "routed at intake")
    page = await sign_in(browser, console, "operator.hung", "/records", camera)
    await page.locator("input[name=code]").fill(code)
    await page.get_by_role("button", name="Tra cứu").click()
    await page.wait_for_url(f"{console.url}/records/{code}")
    # in time order; each service has its own test clock here, so only presence is asserted
    await expect(page.locator('ol.timeline li[data-kind="submitted"]')).to_have_count(1)
    await expect(page.locator('ol.timeline li[data-kind="routed"]')).to_have_count(1)
    await expect(page.locator('ol.timeline li[data-kind="escalation-raised"]')).to_have_count(1)
    href = await page.locator("#trace-link").get_attribute("href")
    assert href is not None and href.endswith(f"/trace/{record['trace_id']}")
    await camera.shoot(page, "timeline")

    missing = await page.goto(f"{console.url}/records/000.00.21.H40-261207-0000")
    assert missing is not None and missing.status == 404
    officer = await sign_in(browser, console, "officer.lan", "/queue")
    refused = await officer.goto(f"{console.url}/records/{code}")
    assert refused is not None and refused.status == 403
