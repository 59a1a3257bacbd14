"""Real servers on loopback (an SMTP server, a small HTTP gateway) and a notifier in this process.

The channel fixtures need neither Kafka nor MongoDB; the service fixtures (`notifier_service`)
run the notifier on the session's real endpoints, with a test clock set to a working morning.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import itertools
import json
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
from aiosmtpd.smtp import SMTP, Session
from aiosmtpd.smtp import Envelope as SmtpEnvelope

from contracts import topics
from contracts.envelope import Envelope, EventPayload, decode
from contracts.records.v1 import RecordSubmitted
from contracts.samples import DEPARTMENT, record_submitted
from services.notifier.app import create_app
from services.notifier.settings import NotifierSettings
from services.runtime.clock import MovableClock, SystemClock
from tests.endpoints import Endpoints
from tests.in_process import InProcessService
from tests.kafka_io import read_topic
from tests.timeline import MORNING

SILENT = "hang"


class MailHandler:
    """Stores what it accepts; refuses ``nobody@`` (550) and defers ``busy@`` (451)."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[str] = []
        self.peers: list[object] = []
        """The client end (address, port) each accepted message came from: its connection."""
        self.delay_s = delay_s
        """How long each accepted message takes (a slow server, so a kill lands mid-batch)."""
        self.quit_delay_s = 0.0
        """How long the server takes to answer QUIT (one that hangs at goodbye)."""
        self.quits = 0

    async def handle_QUIT(self, server: SMTP, session: Session, envelope: SmtpEnvelope) -> str:
        self.quits += 1
        await asyncio.sleep(self.quit_delay_s)
        return "221 Bye"

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: SmtpEnvelope, address: str,
                          rcpt_options: list[str]) -> str:
        local = address.split("@", 1)[0]
        if local == "nobody":
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        if local == "busy":
            return "451 4.2.1 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: SmtpEnvelope) -> str:
        raw = envelope.original_content or b""
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.recipients.extend(envelope.rcpt_tos)
        self.peers.append(session.peer)
        return "250 2.0.0 Message accepted for delivery"


@dataclass
class MailServer:
    port: int
    handler: MailHandler

    @property
    def messages(self) -> list[EmailMessage]:
        return self.handler.messages


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Gateway:
    """Answers every request with `status`, or never answers when `status` is ``"hang"``;
    the statuses in `script` are used first, one per request."""

    status: int | str = 200
    requests: list[Request] = field(default_factory=list)
    port: int = 0
    release: asyncio.Event = field(default_factory=asyncio.Event)
    script: list[int | str] = field(default_factory=list)
    delay_s: float = 0.0

    def url(self, path: str = "/sms") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            start, *lines = head.strip().split("\r\n")
            method, path, _ = start.split(" ", 2)
            headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.requests.append(Request(method, path, headers, body))
            status = self.script.pop(0) if self.script else self.status
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            if status == SILENT:
                await self.release.wait()
                return
            payload = json.dumps({"status": status}).encode()
            moved = f"Location: {self.url('/elsewhere')}\r\n" if 300 <= int(status) < 400 else ""
            writer.write(f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n{moved}"
                         f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode() + payload)
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def smtp_server() -> AsyncIterator[MailServer]:
    """An aiosmtpd server in the test's event loop, on a free loopback port."""
    handler = MailHandler()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, hostname="127.0.0.1", loop=loop),
                                      "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield MailServer(port, handler)
    server.close()
    await server.wait_closed()


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """Accepts connections and never says a word (an SMTP server that hangs)."""
    release = asyncio.Event()

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await release.wait()
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    release.set()
    server.close()
    await server.wait_closed()


@asynccontextmanager
async def serve_gateway(found: Gateway, port: int = 0) -> AsyncIterator[Gateway]:
    """Run `found` on `port` (0: any free one) until the block ends."""
    server = await asyncio.start_server(found.handle, "127.0.0.1", port)
    found.port = server.sockets[0].getsockname()[1]
    try:
        yield found
    finally:
        found.release.set()
        server.close()
        await server.wait_closed()


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    """A tiny HTTP server standing for the SMS gateway or a supervisor's system."""
    async with serve_gateway(Gateway()) as found:
        yield found


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on: connections are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


# --- the notifier in this process, on the real stack -------------------------------------------

DEPARTMENT_NAME = "Ủy ban nhân dân phường Trường Vinh"
HEAD_MAILBOX = "chutich.x16681@nghean.gov.vn"
PROVINCIAL_MAILBOX = "chanhvanphong.ubnd@nghean.gov.vn"
_numbers = itertools.count(1)


def clock_at(instant: datetime) -> MovableClock:
    return MovableClock(instant - SystemClock().now())


@dataclass(frozen=True)
class Applicant:
    """One applicant's record and contact, distinct from every other in the session."""

    code: str
    email: str | None
    phone: str
    preferred: str
    language: str

    @property
    def address(self) -> str:
        found = self.email if self.preferred == "email" else self.phone
        assert found is not None
        return found

    def submitted(self) -> RecordSubmitted:
        base = record_submitted(self.code)
        applicant = base.applicant.model_copy(update={
            "email": self.email, "phone": self.phone, "preferred_channel": self.preferred,
            "language": self.language})
        return base.model_copy(update={"applicant": applicant})


def applicant(*, preferred: str = "email", language: str = "vi", email: bool = True) -> Applicant:
    n = next(_numbers)
    return Applicant(code=f"000.00.21.H40-261125-{n:04d}",
                     email=f"nguoi.dan{n}@example.vn" if email else None, phone=f"09{n:08d}",
                     preferred=preferred, language=language)


def for_record(payload: EventPayload, code: str) -> EventPayload:
    """A factory's event about another record."""
    return payload.model_copy(update={"record_code": code})


def supervisors(hook_url: str) -> dict[str, Any]:
    """Department heads of DEPARTMENT by email and webhook; provincial supervisors by email; the
    one-stop office supervisor is not configured."""
    return {"roles": {"provincial_supervisor": [{"channel": "email", "address": PROVINCIAL_MAILBOX}]},
            "departments": {DEPARTMENT: {"department_head": [
                {"channel": "email", "address": HEAD_MAILBOX},
                {"channel": "webhook", "address": hook_url}]}}}


@dataclass
class Notifier(InProcessService):
    settings: NotifierSettings = field(kw_only=True)

    async def resend(self, envelope: Envelope[Any]) -> None:
        """The same event again, as a redelivery would bring it."""
        await self.runtime.publisher.publish(envelope)

    async def deliveries(self, code: str) -> list[dict[str, Any]]:
        response = await self.client.get("/deliveries", params={"record_code": code})
        response.raise_for_status()
        body: list[dict[str, Any]] = response.json()
        return body

    async def parked(self, code: str) -> list[dict[str, Any]]:
        response = await self.client.get("/parked", params={"record_code": code})
        response.raise_for_status()
        body: list[dict[str, Any]] = response.json()
        return body

    async def wait_for(self, code: str, check: Callable[[list[dict[str, Any]]], bool],
                       timeout: float = 20) -> list[dict[str, Any]]:
        """The record's deliveries once `check` holds (fails the test after `timeout`)."""
        last: list[dict[str, Any]] = []
        try:
            async with asyncio.timeout(timeout):
                while True:
                    last = await self.deliveries(code)
                    if check(last):
                        return last
                    await asyncio.sleep(0.1)
        except TimeoutError:
            raise AssertionError(f"deliveries of {code} never satisfied the check; last {last}") from None

    async def settled(self, code: str, count: int, timeout: float = 20) -> list[dict[str, Any]]:
        """`count` deliveries of the record, all finished (sent or failed)."""
        return await self.wait_for(code, lambda ds: len(ds) == count and all(
            d["status"] in ("sent", "failed") for d in ds), timeout)

    async def outcomes(self, count: int, timeout: float = 30) -> list[Envelope[Any]]:
        records = await read_topic(self.endpoints.kafka,
                                   self.settings.topic(topics.NOTIFICATION_OUTCOMES), count=count,
                                   timeout=timeout)
        return [decode(r.key, r.value, r.headers) for r in records]

    async def metric(self, name: str, **labels: str) -> float:
        text = (await self.client.get("/metrics")).text
        wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        for line in text.splitlines():
            metric, _, value = line.rpartition(" ")
            if metric == (f"{name}{{{wanted}}}" if wanted else name):
                return float(value)
        return 0.0

    def move_to(self, instant: datetime) -> None:
        self.clock.set(instant)
        self.app.state.deliverer.enqueue([])  # wakes the delivery loop


NotifierFactory = Callable[..., AbstractAsyncContextManager[Notifier]]


@pytest.fixture
def notifier_service(make_settings: Callable[..., Any], endpoints: Endpoints, smtp_server: MailServer,
                     gateway: Gateway, tmp_path: Path) -> NotifierFactory:
    """Starts a notifier sending to this test's SMTP server and gateway (SMS at /sms, the
    department head's webhook at /hook); keyword arguments override settings."""
    departments = tmp_path / "departments.json"
    departments.write_text(json.dumps({DEPARTMENT: DEPARTMENT_NAME}), encoding="utf-8")

    @asynccontextmanager
    async def start(clock: MovableClock | None = None, **overrides: Any) -> AsyncIterator[Notifier]:
        values: dict[str, Any] = {
            "smtp_host": "127.0.0.1", "smtp_port": smtp_server.port, "smtp_start_tls": False,
            "sms_gateway_url": gateway.url("/sms"), "webhook_allow_http": True,
            "supervisors_json": json.dumps(supervisors(gateway.url("/hook"))),
            "departments_file": str(departments), "fold_window_s": 0.2, "retry_base_s": 0.1,
            "retry_cap_s": 0.4, "retry_max_attempts": 4, "rate_limit_messages": 100,
            "lease_s": 2.0, "sweep_s": 1.0, "tick_s": 0.1, **overrides}
        settings: NotifierSettings = make_settings(NotifierSettings, **values)
        moving = clock or clock_at(MORNING)
        app = create_app(settings, moving)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://notifier",
                                         headers=endpoints.all_roles()) as client:
                yield Notifier(app, client, endpoints, moving, settings=settings)
    return start
