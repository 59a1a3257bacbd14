"""HTTP routes of intake; each turns a request into a use-case call and nothing more."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Response

from services.runtime.auth import Principal, Role, authorize, optional_principal, requires, unauthenticated
from services.runtime.params import RecordCodePath
from services.runtime.problems import Problem, problem_responses

from .api_models import RecordOut
from .applications import Applications, unknown_record
from .domain import Application, Submission

LookupSecret = Annotated[str | None, Header(
    alias="X-Lookup-Secret", max_length=64,
    description="The lookup secret printed on the receipt (form 01), beside the record code")]
TRACKERS: tuple[Role, ...] = ("portal", "counter", "operator", "supervisor", "officer", "admin")
"""Who may look any record up by its code alone: the portal and counters on the applicant's
behalf, and the province's staff."""

IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", max_length=200,
    description="Unique per application; a retry with the same key and body gets the same record")]


def router(applications: Applications) -> APIRouter:
    routes = APIRouter(tags=["applications"])

    # The citizen's identity is established by the portal (VNeID) or at a counter: only those
    # registered clients submit.
    @routes.post("/applications", status_code=201, response_model=Submission,
                 dependencies=[Depends(requires("portal", "counter"))],
                 responses={200: {"model": Submission, "description": "retry of an accepted "
                                  "application (same Idempotency-Key and body)"},
                            **problem_responses(400, 409, 422)})
    async def submit(application: Application, response: Response,
                     idempotency_key: IdempotencyKey = None) -> Submission:
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
    async def record(code: RecordCodePath,
                     caller: Annotated[Principal | None, Depends(optional_principal)],
                     secret: LookupSecret = None) -> RecordOut:
        """The record's status and history: with the receipt's lookup secret, or a token of the
        portal, a counter or the province's staff. A wrong secret and an unknown code answer
        alike, so codes cannot be probed."""
        if caller is not None:
            authorize(caller, *TRACKERS, hint=" Or the receipt's lookup secret, without a token.")
        elif secret is None:
            raise unauthenticated("Send the lookup secret printed on the receipt "
                                  "(X-Lookup-Secret), or a bearer token.")
        elif not applications.secret_matches(code, secret):
            raise unknown_record(code, by_secret=True)
        return await applications.record(code, secret is not None and caller is None)

    return routes
