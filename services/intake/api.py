"""HTTP routes of intake; each turns a request into a use-case call and nothing more."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response

from services.runtime.params import RecordCodePath
from services.runtime.problems import Problem, problem_responses

from .api_models import ApplicationIn, RecordOut, SubmissionOut
from .applications import Applications

IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", max_length=200,
    description="Unique per application; a retry with the same key and body gets the same record")]


def router(applications: Applications) -> APIRouter:
    routes = APIRouter(tags=["applications"])

    @routes.post("/applications", status_code=201, response_model=SubmissionOut,
                 responses={200: {"model": SubmissionOut, "description": "retry of an accepted "
                                  "application (same Idempotency-Key and body)"},
                            **problem_responses(400, 409, 422)})
    async def submit(application: ApplicationIn, response: Response,
                     idempotency_key: IdempotencyKey = None) -> SubmissionOut:
        if not idempotency_key or not idempotency_key.strip():
            applications.rejected("missing_idempotency_key")
            raise Problem(400, "missing-idempotency-key", "Idempotency-Key required",
                          "Send an Idempotency-Key header, unique per application, so that a "
                          "retry never creates a second record.")
        submitted = await applications.submit(application, idempotency_key.strip())
        if submitted.replayed:
            response.status_code = 200
            response.headers["Idempotent-Replayed"] = "true"
        return submitted.response

    @routes.get("/records/{code}", response_model=RecordOut, tags=["tracking"],
                responses=problem_responses(404, 422))
    async def record(code: RecordCodePath) -> RecordOut:
        return await applications.record(code)

    return routes
