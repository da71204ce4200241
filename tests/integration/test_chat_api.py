"""The chat routes through the Chalice app (real Redis, moto over HTTP): the list as ingestion left
it, a chat's history, bad input, another tenant's chats, and the chat settings' round trip to
the session's worker. `AnsweringWorker` stands in for the worker at the routing boundary only."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.messaging.conftest import Line, connected_line  # noqa: F401 - a fixture
from tests.support.leases import TEST_WORKER
from whatsam.adapters.chats import ChatRepository
from whatsam.adapters.repositories import SessionRepository
from whatsam.contracts.chats import HistoryChatInfo, HistoryMessageInfo
from whatsam.contracts.commands import EngineCall, decode_command
from whatsam.contracts.engine_calls import EngineReply
from whatsam.contracts.events import HistoryBatchEvent, MessageReceivedEvent, make_seq
from whatsam.errors import AppError
from whatsam.messaging.chats import ChatService
from whatsam.messaging.record import inbound_message_id
from whatsam.services.chat_list import ChatListService
from whatsam.services.engine_calls import EngineCalls

pytestmark = pytest.mark.integration


@pytest.fixture
def line(request: pytest.FixtureRequest) -> Line:
    connected: Line = request.getfixturevalue("connected_line")  # the messaging tests' connected card
    return connected

ANN = "14155552671@s.whatsapp.net"
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def inject(services: Any, line: Line, counter: int, event_type: type, **fields: Any) -> None:
    card = SessionRepository().get(line.session_id)
    assert card is not None
    services.ingestion.apply(event_type(session_id=line.session_id, tenant_id=card.tenant_id,
                                        seq=make_seq(1, counter), worker_id=TEST_WORKER, **fields))


def contact_writes(services: Any, line: Line, counter: int, text: str, at: datetime) -> str:
    wa_id = f"3A{uuid.uuid4().hex[:12].upper()}"
    inject(services, line, counter, MessageReceivedEvent, message_id=inbound_message_id(line.session_id, wa_id),
           wa_id=wa_id, chat_jid=ANN, sender_jid=ANN, kind="text", text=text, timestamp=at)
    return wa_id


def test_the_list_and_a_chats_history(api: Any, services: Any, line: Line) -> None:
    contact_writes(services, line, 1, "hi", T0)
    old = HistoryMessageInfo(message_id=inbound_message_id(line.session_id, "3AOLD"), wa_id="3AOLD", chat_jid=ANN,
                             sender_jid=ANN, kind="text", text="from before", timestamp=T0 - timedelta(days=1))
    inject(services, line, 2, HistoryBatchEvent, sync_id="s1", index=0,
           chats=[HistoryChatInfo(chat_jid=ANN, name="Ann")], messages=[old])

    listed = api.call("GET", "/v1/chats", api_key=line.key)
    assert listed.status == 200, listed.body
    (chat,) = listed.body["chats"]
    assert chat["chat"] == ANN and chat["kind"] == "direct" and chat["name"] == "Ann"
    assert chat["unread_count"] == 1 and chat["last_message"]["preview"] == "hi"
    assert chat["last_message"]["at"] == "2026-11-01T12:00:00Z" and not chat["last_message"]["from_me"]
    assert (chat["archived"], chat["pinned"], chat["muted"], chat["muted_until"]) == (False, False, False, None)
    assert listed.body["next_cursor"] is None
    assert api.call("GET", "/v1/chats?kind=group", api_key=line.key).body["chats"] == []

    history = api.call("GET", "/v1/chats/+14155552671/messages?limit=1", api_key=line.key)
    assert history.status == 200, history.body
    assert [m["content"]["text"] for m in history.body["messages"]] == ["hi"]
    assert history.body["messages"][0]["source"] == "live"
    older = api.call("GET", f"/v1/chats/{ANN}/messages?cursor={history.body['next_cursor']}", api_key=line.key)
    assert [(m["content"]["text"], m["source"]) for m in older.body["messages"]] == [("from before", "history")]

    # Marking the chat read (the command goes to the session's worker, stood in for here).
    worker = AnsweringWorker(services.cache, None)
    ChatService(SessionRepository(), worker, ChatRepository()).mark_read(  # type: ignore[arg-type]
        line.session_id, "+14155552671", ["3AX"], None)
    assert [type(command).__name__ for command in worker.commands] == ["MarkRead"]
    assert api.call("GET", "/v1/chats", api_key=line.key).body["chats"][0]["unread_count"] == 0


def test_bad_input_and_other_tenants(api: Any, services: Any, line: Line, check_error: Any) -> None:
    contact_writes(services, line, 1, "hi", T0)
    check_error(api.call("GET", "/v1/chats?kind=broadcast", api_key=line.key), 400, "invalid_query")
    check_error(api.call("GET", "/v1/chats?cursor=bm90LWEtY3Vyc29y", api_key=line.key), 400, "invalid_cursor")
    check_error(api.call("GET", "/v1/chats?limit=0", api_key=line.key), 400, "invalid_query")
    check_error(api.call("GET", "/v1/chats/not-a-chat/messages", api_key=line.key), 400, "invalid_recipient")
    check_error(api.call("POST", "/v1/chats/+14155552671/disappearing", json_body={"seconds": 5}, api_key=line.key),
                400, "validation_error")
    check_error(api.call("POST", "/v1/chats/+14155552671/mute", json_body={"until": "2020-01-01T00:00:00Z"},
                         api_key=line.key), 422, "invalid_mute_until")
    check_error(api.call("POST", "/v1/chats/+14155552671/mute", json_body={"until": "2030-01-01T00:00:00"},
                         api_key=line.key), 400, "validation_error")
    check_error(api.call("GET", "/v1/chats"), 401)

    # Another tenant's key sees its own (empty) list and none of this session's history.
    other = api.register()
    card = api.call("POST", "/v1/sessions", json_body={"name": "other"}, token=other["access_token"]).body
    other_key = card["api_key"]["key"]
    assert api.call("GET", "/v1/chats", api_key=other_key).body["chats"] == []
    assert api.call("GET", f"/v1/chats/{ANN}/messages", api_key=other_key).body["messages"] == []
    check_error(api.call("POST", f"/v1/chats/{ANN}/archive", api_key=other_key), 409, "session_not_connected")


class AnsweringWorker:
    """Receives commands as the owning worker's inbox would (serialized), answers with `reply`."""

    def __init__(self, cache: Any, reply: EngineReply | None):
        self.cache = cache
        self.reply = reply
        self.commands: list[Any] = []

    @property
    def calls(self) -> list[EngineCall]:
        return [command for command in self.commands if isinstance(command, EngineCall)]

    def send_to_owner(self, session_id: str, command: Any) -> str | None:
        received = decode_command(command.to_json())
        self.commands.append(received)
        if self.reply is not None:
            self.cache.push_reply(received.reply_to, self.reply.model_dump(mode="json"))
        return "worker-1"


def test_settings_go_to_whatsapp_and_show_once_it_took_them(services: Any, line: Line) -> None:
    session_id = line.session_id
    worker = AnsweringWorker(services.cache, EngineReply(ok=True, result=None))
    calls = EngineCalls(SessionRepository(), worker, services.cache, reply_timeout=5)  # type: ignore[arg-type]
    chats = ChatListService(ChatRepository(), calls)

    assert chats.set_archived(session_id, "+1 415 555 2671", True)["archived"] is True
    assert chats.set_pinned(session_id, ANN, True)["pinned"] is True
    until = datetime.now(UTC) + timedelta(hours=8)
    muted = chats.set_muted(session_id, ANN, True, until)
    assert muted["muted"] and muted["muted_until"] is not None
    assert chats.set_muted(session_id, ANN, False) | {"muted_until": None} == chats.set_muted(session_id, ANN, False)
    assert chats.set_disappearing(session_id, ANN, 86400)["disappearing_seconds"] == 86400
    assert [(c.operation, c.args) for c in worker.calls] == [
        ("set_chat_archived", {"chat_jid": ANN, "archived": True}),
        ("set_chat_pinned", {"chat_jid": ANN, "pinned": True}),
        ("set_chat_muted", {"chat_jid": ANN, "muted": True, "until": until.isoformat().replace("+00:00", "Z")}),
        ("set_chat_muted", {"chat_jid": ANN, "muted": False}),
        ("set_chat_muted", {"chat_jid": ANN, "muted": False}),
        ("set_disappearing_timer", {"chat_jid": ANN, "seconds": 86400}),
    ]

    worker.reply = EngineReply(ok=False, code="engine_operation_failed", error="app state refused")
    with pytest.raises(AppError) as refused:
        chats.set_archived(session_id, ANN, False)
    assert refused.value.status == 502
    chat = ChatRepository().get(session_id, ANN)
    assert chat is not None and chat.archived, "what WhatsApp refused does not show"


def test_deleting_the_session_deletes_its_chats(api: Any, services: Any, line: Line) -> None:
    contact_writes(services, line, 1, "hi", T0)
    assert ChatRepository().get(line.session_id, ANN) is not None
    assert api.call("DELETE", f"/v1/sessions/{line.session_id}", token=line.token).status == 204
    assert ChatRepository().page(line.session_id, kind=None, after=None, limit=10) == ([], None)
