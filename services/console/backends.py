"""The services' HTTP APIs as the console calls them: always with the signed-in person's token,
so each service decides what that person may see or do."""

from __future__ import annotations

from typing import Any

import httpx


class Refused(Exception):
    """A service answered 4xx: its problem+json says why."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(problem.get("detail") or problem.get("title") or str(status))
        self.status, self.problem = status, problem

    @property
    def code(self) -> str:
        return str(self.problem.get("type", "")).rsplit(":", 1)[-1]


class Unavailable(Exception):
    """A service did not answer, or answered 5xx: try again later."""


class Backend:
    def __init__(self, name: str, base_url: str, client: httpx.AsyncClient) -> None:
        self.name, self.base_url, self._client = name, base_url.rstrip("/"), client

    async def call(self, method: str, path: str, token: str, *, json: Any = None,
                   params: dict[str, Any] | None = None) -> Any:
        try:
            response = await self._client.request(
                method, f"{self.base_url}{path}", json=json, params=params,
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
        except httpx.HTTPError as error:
            raise Unavailable(f"{self.name}: {type(error).__name__}") from None
        if response.status_code >= 500:
            raise Unavailable(f"{self.name} answered {response.status_code}")
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = {"title": response.reason_phrase}
            raise Refused(response.status_code, problem if isinstance(problem, dict) else {})
        return response.json()
