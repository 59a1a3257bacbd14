"""RFC 9457 problem details for every HTTP error, naming the field and the problem, never the value.

Request bodies carry personal data, so a problem never echoes what was sent: it names where
(`field`, a dotted path) and what is wrong (`code`, `message`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry, Counter
from pydantic import BaseModel
from pydantic_core import from_json
from pymongo.errors import ConnectionFailure, PyMongoError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import NewerLayout

PROBLEM_JSON = "application/problem+json"
CHASSIS_PATHS = ("/health/", "/metrics", "/test-clock", "/asyncapi.json")
"""Routes every service app has (probes, metrics, the test clock, the AsyncAPI document): no
problems, no spans."""
RETRY_AFTER_S = 2
"""What a 503 asks the client to wait before retrying."""

log = logging.getLogger(__name__)


class FieldProblem(BaseModel):
    field: str
    code: str
    message: str


class ProblemDetails(BaseModel):
    """The body of every error answer (RFC 9457), as the OpenAPI documents declare it."""

    type: str
    """`urn:motcua:problem:<code>`: what went wrong, stable for clients to branch on."""
    title: str
    status: int
    detail: str
    instance: str
    """The request path."""
    errors: list[FieldProblem] = []
    """One entry per invalid field (422)."""


PROBLEM_DESCRIPTIONS = {
    400: "Malformed JSON, or a required header missing",
    401: "No credential, or one that is not valid (WWW-Authenticate says which scheme)",
    403: "A valid credential whose roles do not allow this",
    404: "Nothing with the code or id the path names",
    409: "Conflicts with what is stored: an Idempotency-Key reused for another body, or a state "
         "that changed since it was read",
    413: "Body too large",
    415: "Body not sent as application/json",
    422: "Invalid fields, each named with its rule",
    503: "The database, or the token issuer's key set, did not answer in time (Retry-After)",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The error answers of a route for its OpenAPI entry (the schema is written by
    `document_problems`, which every service app installs)."""
    return {status: {"description": PROBLEM_DESCRIPTIONS[status]} for status in statuses}


def document_problems(app: FastAPI, json_paths: Sequence[str] = ()) -> None:
    """Declare every 4xx/5xx of the OpenAPI document as `application/problem+json` with the
    `ProblemDetails` schema (FastAPI's default 422 body is not what the handlers send), and the
    answers the chassis itself gives: 400/413/415 on bodies, 401/403 wherever a token is
    checked, 503 wherever the database is used."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        details = ProblemDetails.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(details.pop("$defs", {}))
        components["ProblemDetails"] = details
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        for path, operations in schema.get("paths", {}).items():
            if path.startswith(CHASSIS_PATHS):
                continue
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                added = [503]
                if operation.get("security"):
                    added += [401, 403]  # the bearer lock (services.runtime.auth)
                if "requestBody" in operation:
                    added += [400, 413]  # malformed JSON; over the body limit
                    if json_paths and path.startswith(tuple(json_paths)):
                        added.append(415)
                for status in added:
                    responses.setdefault(str(status), {"description": PROBLEM_DESCRIPTIONS[status]})
                for status, response in responses.items():
                    if status.isdigit() and int(status) >= 400:
                        response["content"] = {PROBLEM_JSON: {
                            "schema": {"$ref": "#/components/schemas/ProblemDetails"}}}
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


class Problem(Exception):
    """An HTTP error a handler raises on purpose (catalogue violation, conflict, not found…)."""

    def __init__(self, status: int, code: str, title: str, detail: str,
                 errors: Sequence[FieldProblem] = (),
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.errors = list(errors)
        self.headers = headers


def problem_response(status: int, code: str, title: str, detail: str, instance: str,
                     errors: Sequence[FieldProblem] = (),
                     headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"type": f"urn:motcua:problem:{code}", "title": title, "status": status,
                            "detail": detail, "instance": instance}
    if errors:
        body["errors"] = [error.model_dump() for error in errors]
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field(location: Sequence[int | str]) -> str:
    parts = [str(part) for part in location]
    if parts and parts[0] in ("body", "header", "query", "path"):
        parts = parts[1:] if parts[0] == "body" else parts
    return ".".join(parts) or "body"


def _message(error: dict[str, Any]) -> str:
    """pydantic's message without the input; custom validators' messages are written to be safe."""
    message = str(error.get("msg", "invalid"))
    return message.removeprefix("Value error, ")


def install_problem_handlers(app: FastAPI, metrics: CollectorRegistry | None = None) -> None:
    """Every error as problem+json, counted by status and code in `motcua_http_problems_total`."""
    counter = Counter("motcua_http_problems", "HTTP requests answered with a problem",
                      ["status", "code"], registry=metrics) if metrics is not None else None

    def counted(response: JSONResponse, status: int, code: str) -> JSONResponse:
        if counter is not None:
            counter.labels(status=str(status), code=code).inc()
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        if any(error.get("type") == "json_invalid" for error in errors):
            return counted(problem_response(400, "malformed-json", "Malformed JSON",
                                            "The request body is not valid JSON.",
                                            request.url.path), 400, "malformed-json")
        problems = [FieldProblem(field=_field(error.get("loc", ())), code=str(error.get("type")),
                                 message=_message(error)) for error in errors]
        for problem in problems:
            if counter is not None:
                counter.labels(status="422", code=problem.code).inc()
        return problem_response(422, "validation", "Invalid request",
                                f"{len(problems)} field(s) are invalid.", request.url.path, problems)

    @app.exception_handler(Problem)
    async def deliberate(request: Request, exc: Problem) -> JSONResponse:
        return counted(problem_response(exc.status, exc.code, exc.title, exc.detail,
                                        request.url.path, exc.errors, exc.headers),
                       exc.status, exc.code)

    @app.exception_handler(PyMongoError)
    async def unavailable(request: Request, exc: Exception) -> JSONResponse:
        if not (isinstance(exc, ConnectionFailure)
                or (isinstance(exc, PyMongoError) and exc.timeout)):
            raise exc  # a defect, not an outage: the server error it is
        # The database did not answer in time: nothing the client sent is wrong, and a retry
        # with the same Idempotency-Key gives the same record or creates it once.
        log.warning("database unavailable", extra={"error": type(exc).__name__,
                                                    "path": request.url.path})
        return counted(problem_response(
            503, "database-unavailable", "Service temporarily unavailable",
            "The database did not answer in time; retry with the same Idempotency-Key.",
            request.url.path, headers={"Retry-After": str(RETRY_AFTER_S)}),
            503, "database-unavailable")

    @app.exception_handler(NewerLayout)
    async def upgrading(request: Request, exc: Exception) -> JSONResponse:
        # A rolling upgrade is under way: an instance of the newer build can answer this.
        log.warning("stored document of a newer layout", extra={"path": request.url.path})
        return counted(problem_response(
            503, "upgrade-in-progress", "Service temporarily unavailable",
            "Part of the answer was written by a newer version of this service; retry shortly.",
            request.url.path, headers={"Retry-After": str(RETRY_AFTER_S)}),
            503, "upgrade-in-progress")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = f"http-{exc.status_code}"
        return counted(problem_response(exc.status_code, code, str(exc.detail), str(exc.detail),
                                        request.url.path), exc.status_code, code)


class BodyLimitMiddleware:
    """413 for bodies over `max_bytes` (declared or streamed), 415 for JSON endpoints sent non-JSON,
    400 for a JSON body that is not strict JSON in UTF-8.

    FastAPI parses bodies with the standard library, which accepts a lone surrogate (`"\\ud800"`):
    such a string passes validation and then cannot be stored (BSON is UTF-8) or even rendered
    into an error answer. The strict parser refuses it here, before any handler runs."""

    def __init__(self, app: ASGIApp, max_bytes: int, json_paths: Sequence[str] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.json_paths = tuple(json_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        path = scope["path"]
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        is_json = media == "application/json" or media.endswith("+json")
        if path.startswith(self.json_paths) and self.json_paths:
            if not is_json:
                await self._reject(scope, send, 415, "unsupported-media-type",
                                   "Unsupported media type",
                                   f"Send the body as application/json, not {media or 'nothing'}.")
                return
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(scope, send, 413, "body-too-large", "Request body too large",
                               f"The body may be at most {self.max_bytes} bytes.")
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._reject(scope, send, 413, "body-too-large", "Request body too large",
                                   f"The body may be at most {self.max_bytes} bytes.")
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if body and is_json:
            try:
                from_json(body)
            except ValueError:
                await self._reject(scope, send, 400, "malformed-json", "Malformed JSON",
                                   "The request body is not valid JSON in UTF-8.")
                return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _reject(self, scope: Scope, send: Send, status: int, code: str, title: str,
                      detail: str) -> None:
        response = problem_response(status, code, title, detail, scope["path"])
        await response(scope, self._no_receive, send)

    @staticmethod
    async def _no_receive() -> Message:
        return {"type": "http.disconnect"}
