"""Email over SMTP (aiosmtplib): plain-text UTF-8 messages over a few connections kept open.

A message on an open connection costs its MAIL, RCPT and DATA; a connection of its own would add
the greeting, EHLO, STARTTLS and the login each time. A connection that failed in any way is
closed (its session state is unknown), one idle too long is replaced before use (servers drop
idle clients), and one found closed by the server is replaced once at no cost to the message.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
import time
from collections.abc import AsyncIterator
from email.header import Header
from email.utils import formataddr, formatdate

import aiosmtplib
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from services.notifier.domain.intents import ChannelName
from services.notifier.domain.render import Rendered
from services.notifier.domain.retry import DeliveryResult, classify_smtp

from .base import detail

CRLF = "\r\n"
_GOODBYE_S = 2.0
_ADDRESS = re.compile(r"^[^@\s,;<>\"()\[\]\\]+@[^@\s,;<>\"()\[\]\\]+\.[^@\s,;<>\"()\[\]\\]+$")


class EmailSettings(BaseModel):
    """Where and how to hand mail over."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(25, ge=1, le=65535)
    timeout_s: float = Field(10.0, gt=0)
    sender: str = Field("no-reply@motcua.local", pattern=_ADDRESS.pattern)
    sender_name: str | None = "Hệ thống một cửa điện tử"
    use_tls: bool = False
    """TLS from the first byte (port 465)."""
    start_tls: bool | None = None
    """STARTTLS: True requires it, False never, None when the server offers it."""
    username: str | None = None
    password: SecretStr | None = None
    message_id_domain: str = "motcua.local"
    connections: int = Field(4, ge=1, le=64)
    """Connections kept open to the server (sends beyond that wait for one)."""
    idle_s: float = Field(20.0, gt=0)
    """An open connection unused this long is replaced (servers drop idle clients)."""


class EmailChannel:
    """Reply codes decide: 4xx and network trouble transient, 5xx (e.g. 550) permanent."""

    def __init__(self, settings: EmailSettings) -> None:
        self.settings = settings
        self._idle: list[tuple[aiosmtplib.SMTP, float]] = []
        self._slots = asyncio.Semaphore(settings.connections)

    @property
    def name(self) -> ChannelName:
        return "email"

    async def send(self, address: str, rendered: Rendered, *,
                   reference: str | None = None) -> DeliveryResult:
        recipient = address.strip()
        if not _ADDRESS.fullmatch(recipient):
            return DeliveryResult("permanent", "invalid address: not an email address")
        message = self._message(recipient, rendered, reference)
        try:
            async with self._slots:
                try:
                    async with self._connection(reuse=True) as client:
                        _, reply = await client.sendmail(self.settings.sender, [recipient], message)
                except aiosmtplib.SMTPServerDisconnected:
                    # Closed by the server while idle (or at once): nothing was accepted.
                    async with self._connection(reuse=False) as client:
                        _, reply = await client.sendmail(self.settings.sender, [recipient], message)
        except aiosmtplib.SMTPRecipientsRefused as error:
            code = error.recipients[0].code if error.recipients else 550
            return DeliveryResult(classify_smtp(code), f"smtp {code} recipient refused")
        except aiosmtplib.SMTPResponseException as error:
            return DeliveryResult(classify_smtp(error.code),
                                  detail(f"smtp {error.code} {type(error).__name__}: {error.message}"))
        except (aiosmtplib.SMTPTimeoutError, TimeoutError) as error:
            return DeliveryResult("transient", f"timeout ({type(error).__name__})")
        except (aiosmtplib.SMTPException, OSError) as error:
            return DeliveryResult("transient", f"connection failed ({type(error).__name__})")
        return DeliveryResult("delivered", detail(f"smtp {reply}"))

    @contextlib.asynccontextmanager
    async def _connection(self, *, reuse: bool) -> AsyncIterator[aiosmtplib.SMTP]:
        """An open connection (the caller holds a slot), kept for the next send if the send
        went through, closed otherwise."""
        client = self._take_idle() if reuse else None
        if client is None:
            s = self.settings
            client = aiosmtplib.SMTP(
                hostname=s.host, port=s.port, timeout=s.timeout_s, use_tls=s.use_tls,
                start_tls=s.start_tls, username=s.username,
                password=s.password.get_secret_value() if s.password is not None else None,
                local_hostname=s.message_id_domain)  # else a blocking name lookup per connection
            await client.connect()
        try:
            yield client
        except BaseException:
            client.close()
            raise
        self._idle.append((client, time.monotonic()))

    def _take_idle(self) -> aiosmtplib.SMTP | None:
        while self._idle:
            client, since = self._idle.pop()
            if client.is_connected and time.monotonic() - since < self.settings.idle_s:
                return client
            client.close()
        return None

    async def close(self) -> None:
        """Say goodbye on every open connection (at shutdown), all at once and briefly: a server
        slow to answer QUIT must not hold the stop, so what has not answered is dropped."""
        idle, self._idle = self._idle, []
        if not idle:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(min(self.settings.timeout_s, _GOODBYE_S)):
                await asyncio.gather(*(client.quit() for client, _ in idle), return_exceptions=True)
        for client, _ in idle:
            client.close()

    def _message(self, address: str, rendered: Rendered, reference: str | None) -> bytes:
        """The message as the bytes sent, written directly rather than through `EmailMessage`:
        its header folding (a parse tree per header, encoded words for Vietnamese) was 28 %
        of the notifier's CPU under load. Every header is ASCII: a display name and
        the subject as RFC 2047 encoded words, so no line break in them can start a header."""
        s = self.settings
        headers = [
            ("From", formataddr((s.sender_name, s.sender)) if s.sender_name else s.sender),
            ("To", address),
            ("Subject", Header(rendered.subject or rendered.template, "utf-8").encode(
                linesep=CRLF)),
            ("Date", formatdate(localtime=False, usegmt=True)),
            ("Auto-Submitted", "auto-generated"),
            ("Content-Language", rendered.language),
        ]
        if reference is not None:
            # The same id on every attempt: a receiving system can recognise a retried message.
            headers.append(("Message-ID", f"<{reference}@{s.message_id_domain}>"))
        headers += [("MIME-Version", "1.0"),
                    ("Content-Type", 'text/plain; charset="utf-8"'),
                    ("Content-Transfer-Encoding", "base64")]
        head = "".join(f"{name}: {value}{CRLF}" for name, value in headers)
        body = base64.encodebytes(rendered.text.encode()).replace(b"\n", b"\r\n")
        return head.encode("ascii") + b"\r\n" + body
