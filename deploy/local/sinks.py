"""Loopback stand-ins for the notifier's outside world: an SMTP server, an SMS gateway, webhooks.

The demo (`make up`), the pipeline benchmarks and the end-to-end tests point the notifier at
these, so applicants' letters and supervisors' alerts really leave the service and can be
counted, read and timed. Each delivery is kept with its key (the notification id the notifier
sends as Message-ID or Idempotency-Key), so a copy of an earlier message is recognised.

A share of first attempts can be refused on purpose (SMTP 451, HTTP 503) to exercise retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import hashlib
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from aiosmtpd.smtp import SMTP, Session
from aiosmtpd.smtp import Envelope as SmtpEnvelope

Channel = Literal["email", "sms", "webhook"]
_MESSAGE_ID = re.compile(r"^<?([^@>]+)@")


@dataclass(frozen=True)
class Delivery:
    """One message as the outside world received it."""

    channel: Channel
    key: str
    recipient: str
    subject: str
    text: str
    received_at: float
    """`time.perf_counter()` on arrival: comparable with the sender's readings in this process."""


@dataclass
class Outbox:
    """Every delivery, first arrivals by key, and the first attempts refused on purpose."""

    refuse_share: float = 0.0
    file: Path | None = None
    deliveries: list[Delivery] = field(default_factory=list)
    first: dict[str, Delivery] = field(default_factory=dict)
    refused: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def refuse_first(self, key: str) -> bool:
        """True once for a key in the refused share (chosen by hash: the same on every run)."""
        share = int.from_bytes(hashlib.sha256(key.encode()).digest()[:4]) / 2**32
        with self._lock:
            if share < self.refuse_share and key not in self.refused:
                self.refused.add(key)
                return True
        return False

    def receive(self, delivery: Delivery) -> None:
        with self._lock:
            self.deliveries.append(delivery)
            self.first.setdefault(delivery.key, delivery)
            if self.file is not None:
                with self.file.open("a", encoding="utf-8") as out:
                    out.write(json.dumps(asdict(delivery), ensure_ascii=False) + "\n")

    @property
    def copies(self) -> int:
        """Deliveries of a key already received (what a duplicate send would look like)."""
        with self._lock:
            return len(self.deliveries) - len(self.first)

    def snapshot(self) -> list[Delivery]:
        with self._lock:
            return list(self.deliveries)


class _Mailbox:
    """aiosmtpd handler: parses each message and files it in the outbox."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    async def handle_DATA(self, server: SMTP, session: Session, envelope: SmtpEnvelope) -> str:
        message = email.message_from_bytes(envelope.original_content or b"", policy=email.policy.default)
        found = _MESSAGE_ID.match(str(message.get("Message-ID", "")).strip())
        key = found.group(1) if found else "?"
        if self.outbox.refuse_first(key):
            return "451 4.3.0 Try again later"
        body = message.get_body(preferencelist=("plain",)) if message.is_multipart() else message
        text = body.get_content() if body is not None else ""
        self.outbox.receive(Delivery("email", key, ", ".join(envelope.rcpt_tos),
                                     str(message.get("Subject", "")).strip(), str(text), time.perf_counter()))
        return "250 2.0.0 OK"


async def _http(outbox: Outbox, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                open_writers: set[asyncio.StreamWriter]) -> None:
    """HTTP/1.1 with keep-alive: POST /sms is the SMS gateway, any other path a webhook receiver."""
    open_writers.add(writer)
    try:
        while True:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            request, *lines = head.strip().split("\r\n")
            path = request.split(" ")[1] if request.count(" ") >= 2 else "/"
            headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
            raw = await reader.readexactly(int(headers.get("content-length", "0")))
            key = headers.get("idempotency-key", "?")
            status = 503 if outbox.refuse_first(key) else 200
            if status == 200:
                outbox.receive(_parsed(path, key, raw))
            writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: 2\r\n\r\n{{}}".encode())
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, ValueError, IndexError):
        pass
    finally:
        open_writers.discard(writer)
        writer.close()


def _parsed(path: str, key: str, raw: bytes) -> Delivery:
    try:
        body: Any = json.loads(raw)
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    if path.rstrip("/").endswith("/sms"):
        return Delivery("sms", key, str(body.get("to", "")), "", str(body.get("text", "")),
                        time.perf_counter())
    return Delivery("webhook", key, path, str(body.get("title", "")), str(body.get("text", "")),
                    time.perf_counter())


@dataclass
class Sinks:
    """The SMTP server and the HTTP server (SMS gateway and webhooks), on free loopback ports."""

    outbox: Outbox = field(default_factory=Outbox)
    smtp_port: int = 0
    http_port: int = 0
    _servers: list[asyncio.Server] = field(default_factory=list, repr=False)
    _writers: set[asyncio.StreamWriter] = field(default_factory=set, repr=False)
    _sessions: list[SMTP] = field(default_factory=list, repr=False)

    async def start(self) -> Sinks:
        loop = asyncio.get_running_loop()

        def session() -> SMTP:
            smtp = SMTP(_Mailbox(self.outbox), hostname="127.0.0.1", loop=loop)
            self._sessions.append(smtp)
            return smtp

        smtp = await loop.create_server(session, "127.0.0.1", 0)
        http = await asyncio.start_server(lambda r, w: _http(self.outbox, r, w, self._writers),
                                          "127.0.0.1", 0)
        self._servers = [smtp, http]
        self.smtp_port = smtp.sockets[0].getsockname()[1]
        self.http_port = http.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        """Stop listening and hang up on kept-alive connections, so their handlers end."""
        for server in self._servers:
            server.close()
        for writer in list(self._writers):
            writer.close()
        for smtp in self._sessions:  # the notifier keeps its SMTP connections open
            if smtp.transport is not None:
                smtp.transport.close()
        self._sessions = []
        self._servers = []
        await asyncio.sleep(0.1)

    def webhook_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.http_port}/hooks/{name}"

    def notifier_env(self) -> dict[str, str]:
        """The notifier's settings that send email, SMS and plain-http webhooks here."""
        return {"NOTIFIER_SMTP_HOST": "127.0.0.1", "NOTIFIER_SMTP_PORT": str(self.smtp_port),
                "NOTIFIER_SMTP_START_TLS": "false",
                "NOTIFIER_SMS_GATEWAY_URL": f"http://127.0.0.1:{self.http_port}/sms",
                "NOTIFIER_WEBHOOK_ALLOW_HTTP": "true"}


@contextlib.contextmanager
def sinks_in_thread(outbox: Outbox) -> Iterator[Sinks]:
    """The sinks served by an event loop of their own, for synchronous callers (`make up`)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="sinks", daemon=True)
    thread.start()
    sinks = asyncio.run_coroutine_threadsafe(Sinks(outbox).start(), loop).result(timeout=10)
    try:
        yield sinks
    finally:
        asyncio.run_coroutine_threadsafe(sinks.stop(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
