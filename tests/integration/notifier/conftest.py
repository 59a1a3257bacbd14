"""Real servers on loopback for the channel adapters: an SMTP server and a small HTTP gateway.

Nothing here needs Kafka or MongoDB: no fixture asks for the session's `endpoints`.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

SILENT = "hang"


class MailHandler:
    """Stores what it accepts; refuses ``nobody@`` (550) and defers ``busy@`` (451)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[str] = []

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        local = address.split("@", 1)[0]
        if local == "nobody":
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        if local == "busy":
            return "451 4.2.1 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.recipients.extend(envelope.rcpt_tos)
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
    """Answers every request with `status`, or never answers when `status` is ``"hang"``."""

    status: int | str = 200
    requests: list[Request] = field(default_factory=list)
    port: int = 0
    release: asyncio.Event = field(default_factory=asyncio.Event)

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
            if self.status == SILENT:
                await self.release.wait()
                return
            payload = json.dumps({"status": self.status}).encode()
            writer.write(f"HTTP/1.1 {self.status} X\r\nContent-Type: application/json\r\n"
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


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    """A tiny HTTP server standing for the SMS gateway or a supervisor's system."""
    found = Gateway()
    server = await asyncio.start_server(found.handle, "127.0.0.1", 0)
    found.port = server.sockets[0].getsockname()[1]
    yield found
    found.release.set()
    server.close()
    await server.wait_closed()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on: connections are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False) as client:
        yield client
