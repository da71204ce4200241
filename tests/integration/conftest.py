from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from chalice.test import Client

from whatsam.dev.app_loader import functions_dir, load_app


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


# ---------------------------------------------------------------- shared helpers (added for the API suites)


@dataclass
class Account:
    """A registered user as the API returned it."""

    user_id: str
    email: str
    access_token: str
    refresh_token: str


def _account(reply_body: dict[str, Any]) -> Account:
    return Account(user_id=reply_body["user"]["id"], email=reply_body["user"]["email"],
                   access_token=reply_body["access_token"], refresh_token=reply_body["refresh_token"])


@pytest.fixture
def new_account(api: Api) -> Any:
    """Registers a fresh user with a unique email on each call."""

    def make(email: str | None = None) -> Account:
        return _account(api.register(email=email))

    return make


@pytest.fixture(scope="session")
def services(chalice_app: Any) -> Any:
    """The process's wired container (same one the app's views use)."""
    from whatsam.bootstrap import container

    return container()


class ConnectQueue:
    """Reads the shared connect queue for one session's commands, leaving everyone else's."""

    def __init__(self, sqs: Any, url: str):
        self._sqs = sqs
        self.url = url

    def take(self, session_id: str) -> list[Any]:
        from whatsam.contracts.commands import decode_command

        mine: list[Any] = []
        others: list[dict[str, Any]] = []
        while True:
            messages = self._sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                                 VisibilityTimeout=30).get("Messages", [])
            if not messages:
                break
            for message in messages:
                try:
                    command = decode_command(message["Body"])
                except ValueError:
                    others.append(message)
                    continue
                if command.session_id == session_id:
                    mine.append(command)
                    self._sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
                else:
                    others.append(message)
        for message in others:
            self._sqs.change_message_visibility(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"],
                                                VisibilityTimeout=0)
        return mine


@pytest.fixture(scope="session")
def connect_queue(settings: Any) -> ConnectQueue:
    from whatsam.adapters.aws import client

    sqs = client("sqs", settings)
    return ConnectQueue(sqs, sqs.get_queue_url(QueueName=settings.queue_name("connect"))["QueueUrl"])


def assert_error(reply: Reply, status: int, code: str | None = None) -> dict[str, Any]:
    """The spec's error shape, the request id in body and header agreeing; returns `error`."""
    assert reply.status == status, (reply.status, reply.body)
    assert isinstance(reply.body, dict) and isinstance(reply.body.get("error"), dict), reply.body
    error = reply.body["error"]
    assert isinstance(error.get("code"), str) and error["code"], error
    assert isinstance(error.get("message"), str) and error["message"], error
    assert error.get("request_id") and error["request_id"] == reply.headers.get("x-request-id"), (error, reply.headers)
    if code is not None:
        assert error["code"] == code, error
    return dict(error)


@pytest.fixture(scope="session")
def check_error() -> Any:
    return assert_error


@pytest.fixture(scope="module")
def module_api(chalice_app: Any) -> Iterator[Api]:
    """Like `api`, shared by a module's tests (for expensive module-scoped set-up)."""
    with Client(chalice_app, project_dir=str(functions_dir())) as client:
        yield Api(client)
