"""The control plane's side of a group call (real Redis and moto): what goes to the worker, and how
each answer, or none, becomes the API's answer. `AnsweringWorker` stands in for the worker at
the routing boundary only: it takes the command and pushes the reply the worker would."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.integration.messaging.conftest import Line, connected_line  # noqa: F401 - a fixture
from whatsam.adapters.joined_groups import JoinedGroups
from whatsam.adapters.repositories import SessionRepository
from whatsam.contracts.commands import GroupRequest, decode_command
from whatsam.contracts.engine_calls import EngineReply
from whatsam.errors import AppError
from whatsam.messaging.media import MediaStore
from whatsam.services.engine_calls import EngineCalls
from whatsam.services.groups import GroupService

pytestmark = pytest.mark.integration

GROUP = "120363000000000001@g.us"


class AnsweringWorker:
    """Receives commands as the owning worker's inbox would (serialized), answers with `reply`."""

    def __init__(self, cache: Any, reply: EngineReply | None):
        self.cache = cache
        self.reply = reply
        self.commands: list[GroupRequest] = []

    def send_to_owner(self, session_id: str, command: Any) -> str | None:
        received = decode_command(command.to_json())
        assert isinstance(received, GroupRequest)
        self.commands.append(received)
        if self.reply is not None:
            self.cache.push_reply(received.reply_to, self.reply.model_dump(mode="json"))
        return "worker-1"


@pytest.fixture
def connected_session(request: pytest.FixtureRequest) -> str:
    line: Line = request.getfixturevalue("connected_line")  # the messaging tests' connected card
    return line.session_id


def service(services: Any, worker: AnsweringWorker, timeout: float = 5.0) -> GroupService:
    calls = EngineCalls(SessionRepository(), worker, services.cache, reply_timeout=timeout)  # type: ignore[arg-type]
    return GroupService(calls, JoinedGroups(services.redis), MediaStore(services.settings))


def test_a_call_sends_one_normalised_command_and_learns_the_group(services: Any, connected_session: str) -> None:
    answer = {"jid": GROUP, "subject": "Team", "participants": [
        {"jid": "14155552671@s.whatsapp.net", "phone": "14155552671", "lid": None, "role": "member"}]}
    worker = AnsweringWorker(services.cache, EngineReply(ok=True, result=answer))
    groups = service(services, worker)
    created = groups.create(connected_session, "Team", ["+1 415 555 2671", "14155552671@s.whatsapp.net",
                                                        "100000000000001@lid"], "About")
    (command,) = worker.commands
    assert (command.operation, command.subject, command.description) == ("create", "Team", "About")
    assert command.participants == ["14155552671@s.whatsapp.net", "100000000000001@lid"], "normalised, once each"
    assert created["jid"] == GROUP
    assert [g["jid"] for g in groups.joined(connected_session, refresh=False)] == [GROUP]

    worker.reply = EngineReply(ok=True, result=[])
    assert groups.joined(connected_session, refresh=True) == [], "a refresh replaces the list"
    assert worker.commands[-1].operation == "list"


@pytest.mark.parametrize(("code", "status", "answered_code"), [
    ("group_not_found", 404, "group_not_found"),
    ("not_group_admin", 403, "not_group_admin"),
    ("group_full", 409, "group_full"),
    ("invite_revoked", 410, "invite_revoked"),
    ("invite_invalid", 404, "invite_invalid"),
    ("not_a_community", 422, "not_a_community"),
    ("not_supported_by_engine", 501, "not_supported_by_engine"),
    ("session_not_connecting", 409, "session_not_connected"),
    ("engine_timeout", 504, "engine_timeout"),
    ("something_new", 502, "something_new"),
])
def test_refusals_keep_their_code_with_the_right_status(services: Any, connected_session: str, code: str,
                                                        status: int, answered_code: str) -> None:
    worker = AnsweringWorker(services.cache, EngineReply(ok=False, code=code, error="no"))
    with pytest.raises(AppError) as refused:
        service(services, worker).info(connected_session, GROUP)
    assert (refused.value.status, refused.value.code) == (status, answered_code)


def test_no_answer_in_time_is_504_engine_timeout(services: Any, connected_session: str) -> None:
    worker = AnsweringWorker(services.cache, None)
    with pytest.raises(AppError) as timed_out:
        service(services, worker, timeout=0.2).leave(connected_session, GROUP)
    assert (timed_out.value.status, timed_out.value.code) == (504, "engine_timeout")


def test_nothing_goes_to_a_worker_for_bad_input_or_an_unconnected_session(services: Any, api: Any,
                                                                         connected_session: str) -> None:
    worker = AnsweringWorker(services.cache, EngineReply(ok=True))
    groups = service(services, worker)
    for call in (lambda: groups.info(connected_session, "12345@s.whatsapp.net"),
                 lambda: groups.participants(connected_session, GROUP, "add", ["120363000000000002@g.us"]),
                 lambda: groups.join(connected_session, "chat.whatsapp.com/"),
                 lambda: groups.info(f"ses_{uuid.uuid4().hex[:8]}", GROUP)):
        with pytest.raises(AppError) as refused:
            call()
        assert refused.value.status in (400, 404)
    token = api.register()["access_token"]
    idle = api.call("POST", "/v1/sessions", json_body={"name": "idle"}, token=token).body["id"]
    with pytest.raises(AppError) as not_connected:
        groups.info(idle, GROUP)
    assert (not_connected.value.status, not_connected.value.code) == (409, "session_not_connected")
    assert worker.commands == []
