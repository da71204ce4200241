from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from chalice.test import Client

from whatsam.dev.app_loader import functions_dir, load_app

pytestmark = pytest.mark.integration


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]


class Api:
    """The Chalice app in process, its AWS calls over HTTP to the moto server."""

    def __init__(self, client: Client):
        self._client = client

    def call(self, method: str, path: str, *, json_body: Any = None, raw: bytes | str | None = None,
             token: str | None = None, api_key: str | None = None, headers: dict[str, str] | None = None) -> Reply:
        sent = {"Content-Type": "application/json", **(headers or {})}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        if api_key:
            sent["X-Api-Key"] = api_key
        body = raw if raw is not None else (json.dumps(json_body) if json_body is not None else b"")
        response = self._client.http.request(method, path, headers=sent, body=body)
        text = response.body.decode() if isinstance(response.body, bytes) else response.body
        return Reply(response.status_code, json.loads(text) if text else None,
                     {k.lower(): v for k, v in response.headers.items()})

    def register(self, email: str | None = None, password: str = "correct horse battery") -> dict[str, Any]:  # noqa: S107
        reply = self.call("POST", "/v1/auth/register",
                          json_body={"email": email or f"{uuid.uuid4().hex[:10]}@example.com", "password": password})
        assert reply.status == 201, reply.body
        return dict(reply.body)


@pytest.fixture(scope="session")
def chalice_app(stack_env: dict[str, str]) -> Any:
    return load_app()


@pytest.fixture
def api(chalice_app: Any) -> Iterator[Api]:
    with Client(chalice_app, project_dir=str(functions_dir())) as client:
        yield Api(client)
