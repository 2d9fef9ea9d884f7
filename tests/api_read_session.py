"""A stand-in for tests/api_live.py (same names) until personal tokens land: the API client
is a signed-in browser session, which the API accepts for reads (GET, HEAD) only."""

from __future__ import annotations

from typing import Any


class ApiClient:
    def __init__(self, app: Any, client: Any, user_id: int) -> None:
        self.app, self.client, self.user_id, self.token = app, client, user_id, ""

    def open(self, method: str, url: str, headers: dict[str, str] | None = None,
             **kwargs: Any) -> Any:
        return self.client.open(url, method=method, headers=headers or {}, **kwargs)

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.open("GET", url, **kwargs)


def api_client(app: Any, role: str = "admin", email: str | None = None,
               name: str | None = None) -> ApiClient:
    user_id = app.user(role, email)
    return ApiClient(app, app.client(role, email), user_id)
