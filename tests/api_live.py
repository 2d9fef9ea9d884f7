"""A test client for the REST API: a real personal token, sent on every call.

    client = api_client(app, "sales")          # app: what conftest's make_app returns
    client.get("/api/v1/deal").json
    client.post("/api/v1/deal", json={...})
    client.patch(url, json={...}, headers={"If-Match": '"3"'})

The token is made by karte.auth.tokens.add for the user `<role>@example.com` (or `email`),
so requests go through the same authentication as an integration's.
"""

from __future__ import annotations

import secrets
from typing import Any

from karte.auth import tokens


class ApiClient:
    """A Flask test client plus a token: `.get/.post/.put/.patch/.delete/.head/.options`
    send `Authorization: Bearer <token>` unless a call passes its own header."""

    def __init__(self, app: Any, token: str, user_id: int) -> None:
        self.app, self.token, self.user_id = app, token, user_id
        self.client = app.test_client()

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        sent = {"Authorization": f"Bearer {self.token}"}
        sent.update(headers or {})
        return sent

    def open(self, method: str, url: str, headers: dict[str, str] | None = None,
             **kwargs: Any) -> Any:
        return self.client.open(url, method=method, headers=self._headers(headers), **kwargs)

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.open("GET", url, **kwargs)

    def head(self, url: str, **kwargs: Any) -> Any:
        return self.open("HEAD", url, **kwargs)

    def options(self, url: str, **kwargs: Any) -> Any:
        return self.open("OPTIONS", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Any:
        return self.open("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> Any:
        return self.open("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> Any:
        return self.open("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> Any:
        return self.open("DELETE", url, **kwargs)


def api_client(app: Any, role: str = "admin", email: str | None = None,
               name: str | None = None) -> ApiClient:
    """A client acting as the user of this role (created by `app.user` when missing), with a
    fresh token of theirs."""
    user_id = app.user(role, email)
    engine = app.extensions["karte"]["engine"]
    secret, _info = tokens.add(engine, user_id, name or f"test {secrets.token_hex(4)}")
    return ApiClient(app, secret, user_id)
