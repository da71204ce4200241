"""The chat list, a chat's history and its settings (spec §3.9), with the session API key.
Marking read and typing stay with the messages routes (`messages.py`)."""

from chalice import Blueprint

from chalicelib.messages import HISTORY_LIMIT, history_page
from whatsam.bootstrap import container
from whatsam.contracts.chats import CHAT_KINDS
from whatsam.http.chat_schemas import ChatList, ChatView, DisappearingRequest, MessageHistory, MuteRequest
from whatsam.http.endpoint import Call, endpoint
from whatsam.http.params import CURSOR, Query, page_size

bp = Blueprint(__name__)

# Besides bad input: no session connected (409), WhatsApp refused (502), too slow (504), or the
# engine cannot (501).
_ERRORS = (400, 409, 422, 501, 502, 504)
CHATS_LIMIT = page_size(50, 200)
KIND = Query("kind", "Only chats of this kind", enum=CHAT_KINDS)


@endpoint(bp, "GET", "/v1/chats", summary="The session's chats, latest activity first (`?kind=&cursor=&limit=`)",
          tag="chats", auth="api_key", query=(CHATS_LIMIT, KIND, CURSOR), response=ChatList)
def list_chats(call: Call) -> dict:
    chats, cursor = container().chat_list.list(call.key.session_id, kind=KIND.read(call.request),
                                               cursor=CURSOR.read(call.request), limit=CHATS_LIMIT.get(call.request))
    return {"chats": chats, "next_cursor": cursor}


@endpoint(bp, "GET", "/v1/chats/{chat}/messages", summary="One chat's messages, newest first (`?cursor=&limit=`); "
          "those from the history sync say `source: history`", tag="chats", auth="api_key",
          query=(HISTORY_LIMIT, CURSOR), response=MessageHistory)
def chat_messages(call: Call, chat: str) -> dict:
    return history_page(call, chat)


@endpoint(bp, "POST", "/v1/chats/{chat}/archive", summary="Archive the chat (on every device of the account)",
          tag="chats", auth="api_key", errors=_ERRORS, response=ChatView)
def archive_chat(call: Call, chat: str) -> dict:
    return container().chat_list.set_archived(call.key.session_id, chat, True)


@endpoint(bp, "POST", "/v1/chats/{chat}/unarchive", summary="Take the chat out of the archive", tag="chats",
          auth="api_key", errors=_ERRORS, response=ChatView)
def unarchive_chat(call: Call, chat: str) -> dict:
    return container().chat_list.set_archived(call.key.session_id, chat, False)


@endpoint(bp, "POST", "/v1/chats/{chat}/pin", summary="Pin the chat to the top", tag="chats", auth="api_key",
          errors=_ERRORS, response=ChatView)
def pin_chat(call: Call, chat: str) -> dict:
    return container().chat_list.set_pinned(call.key.session_id, chat, True)


@endpoint(bp, "POST", "/v1/chats/{chat}/unpin", summary="Unpin the chat", tag="chats", auth="api_key",
          errors=_ERRORS, response=ChatView)
def unpin_chat(call: Call, chat: str) -> dict:
    return container().chat_list.set_pinned(call.key.session_id, chat, False)


@endpoint(bp, "POST", "/v1/chats/{chat}/mute", summary="Mute the chat (`{until?}`: until then, else until unmuted)",
          tag="chats", auth="api_key", body=MuteRequest, errors=_ERRORS, response=ChatView)
def mute_chat(call: Call, chat: str) -> dict:
    return container().chat_list.set_muted(call.key.session_id, chat, True, call.body.until)


@endpoint(bp, "POST", "/v1/chats/{chat}/unmute", summary="Unmute the chat", tag="chats", auth="api_key",
          errors=_ERRORS, response=ChatView)
def unmute_chat(call: Call, chat: str) -> dict:
    return container().chat_list.set_muted(call.key.session_id, chat, False)


@endpoint(bp, "POST", "/v1/chats/{chat}/disappearing",
          summary="The chat's disappearing-message timer: 0 (off), 86400, 604800 or 7776000 seconds", tag="chats",
          auth="api_key", body=DisappearingRequest, errors=_ERRORS, response=ChatView)
def chat_disappearing(call: Call, chat: str) -> dict:
    return container().chat_list.set_disappearing(call.key.session_id, chat, call.body.seconds)
