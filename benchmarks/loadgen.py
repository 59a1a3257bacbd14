"""A lean HTTP/1.1 load generator: keep-alive connections, bodies encoded before the clock starts.

httpx spent as much CPU per request as intake itself did to answer it, on the same two cores, so
the benchmarks measured the client as much as the service. This one writes a prepared request
and reads the answer by its Content-Length, nothing more; its own CPU time is reported, so a
reader sees what the client took.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


class HttpError(Exception):
    """No answer: the connection failed or the server closed it."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Connection:
    """One keep-alive connection; a request at a time, as HTTP/1.1 without pipelining."""

    def __init__(self, base_url: str, headers: dict[str, str]) -> None:
        parts = urlsplit(base_url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80
        self._fixed = "".join(f"{name}: {value}\r\n" for name, value in
                              {"Host": f"{self._host}:{self._port}", **headers}.items()).encode()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> Answer:
        """A kept-alive connection the server closed meanwhile (uvicorn drops one idle for 5 s)
        fails before any answer: the request goes again once on a new connection, as any
        client does (safe here: every POST carries its Idempotency-Key)."""
        reused = self._writer is not None
        try:
            return await self._post_once(path, body, headers)
        except HttpError:
            if not reused:
                raise
        return await self._post_once(path, body, headers)

    async def _post_once(self, path: str, body: bytes, headers: dict[str, str]) -> Answer:
        try:
            return await self._exchange(path, body, headers)
        except (OSError, asyncio.IncompleteReadError, ValueError, HttpError) as error:
            await self.close()
            raise HttpError(str(error)) from error
        except asyncio.CancelledError:  # timed out mid-exchange: the stream is out of step
            self._drop()
            raise

    def _drop(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None

    async def _exchange(self, path: str, body: bytes, headers: dict[str, str]) -> Answer:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        assert self._reader is not None
        extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items()).encode()
        self._writer.write(b"POST " + path.encode() + b" HTTP/1.1\r\n" + self._fixed + extra
                           + b"Content-Type: application/json\r\nContent-Length: "
                           + str(len(body)).encode() + b"\r\n\r\n" + body)
        status_line = await self._reader.readline()
        if not status_line:
            raise HttpError("connection closed by the server")
        status = int(status_line.split(b" ", 2)[1])
        length = 0
        closing = False
        while (line := await self._reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            lowered = name.strip().lower()
            if lowered == b"content-length":
                length = int(value)
            elif lowered == b"connection" and value.strip().lower() == b"close":
                closing = True
        answer = Answer(status, await self._reader.readexactly(length))
        if closing:
            await self.close()
        return answer

    async def close(self) -> None:
        writer = self._writer
        self._drop()
        if writer is not None:
            with contextlib.suppress(OSError):
                await writer.wait_closed()


class Pool:
    """`size` connections; a request waits for a free one, the last one freed first (at a low
    rate a few connections stay warm instead of every one going idle in turn)."""

    def __init__(self, base_url: str, size: int, headers: dict[str, str]) -> None:
        self._free: asyncio.Queue[Connection] = asyncio.LifoQueue()
        self._all = [Connection(base_url, headers) for _ in range(size)]
        for connection in self._all:
            self._free.put_nowait(connection)

    async def post_json(self, path: str, body: bytes) -> Answer:
        """POST with a fresh Idempotency-Key, as each new application has."""
        connection = await self._free.get()
        try:
            return await connection.post(path, body, {"Idempotency-Key": str(uuid.uuid4())})
        finally:
            self._free.put_nowait(connection)

    async def close(self) -> None:
        for connection in self._all:
            await connection.close()
