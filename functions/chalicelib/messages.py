from typing import Any

from chalice import Blueprint

from whatsam.bootstrap import container
from whatsam.http.endpoint import Call, endpoint
from whatsam.http.params import CURSOR, PATH_PARAMS, IntQuery, Query, page_size
from whatsam.http.presenters import message_view
from whatsam.http.schemas import MarkReadRequest, MediaUploadRequest, PresenceRequest
from whatsam.messaging.requests import SendMessageBody

bp = Blueprint(__name__)

# Inline base64 media (5 MiB decoded) plus the JSON around it.
_SEND_BODY_LIMIT = 8 * 1024 * 1024


def _view(record: Any) -> dict:
    return message_view(record, container().messaging.media_url)


@endpoint(bp, "POST", "/v1/messages", summary="Send a message of any type (202: queued; see its status)",
          tag="messages", auth="api_key", body=SendMessageBody, status=202, errors=(404, 409, 413, 422, 429),
          response_description="Accepted and queued", max_body=_SEND_BODY_LIMIT, limits=("messages",))
def send_message(call: Call) -> dict:
    record = container().messaging.accept(call.key.user, call.key.session_id, call.body.root,
                                          call.request.headers.get("idempotency-key"))
    return _view(record)


HISTORY_LIMIT = page_size(50, 200)
CHAT = Query("chat", "Only this chat: " + PATH_PARAMS["chat"].description.lower(),
             max_length=PATH_PARAMS["chat"].max_length, pattern=PATH_PARAMS["chat"].pattern, code="invalid_recipient",
             rule="a phone number or a WhatsApp JID")
JOURNAL_AFTER = IntQuery("after", "The last `seq` seen", minimum=0, maximum=2**62, default=0)
JOURNAL_LIMIT = page_size(100, 500)


def history_page(call: Call, chat: str | None) -> dict:
    """A page of the session's messages (of one chat, or all), newest first."""
    records, cursor = container().messaging.history(call.key.session_id, chat=chat, cursor=CURSOR.read(call.request),
                                                    limit=HISTORY_LIMIT.get(call.request))
    return {"messages": [_view(r) for r in records], "next_cursor": cursor}


@endpoint(bp, "GET", "/v1/messages", summary="Message history, newest first (`?chat=&cursor=&limit=`)",
          tag="messages", auth="api_key", query=(HISTORY_LIMIT, CHAT, CURSOR))
def list_messages(call: Call) -> dict:
    return history_page(call, CHAT.read(call.request))


@endpoint(bp, "GET", "/v1/messages/{message_id}", summary="One message, with its status timeline",
          tag="messages", auth="api_key", errors=(404,))
def get_message(call: Call, message_id: str) -> dict:
    return _view(container().messaging.get(call.key.session_id, message_id))


@endpoint(bp, "POST", "/v1/media", summary="A presigned upload for media larger than inline base64 allows",
          tag="messages", auth="api_key", body=MediaUploadRequest, status=201)
def upload_media(call: Call) -> dict:
    return container().messaging.presign_upload(call.key.api_key.tenant_id, call.key.session_id, call.body.mimetype)


@endpoint(bp, "POST", "/v1/chats/{chat}/read", summary="Mark messages of a chat as read", tag="chats",
          auth="api_key", body=MarkReadRequest, status=202, errors=(409,))
def mark_read(call: Call, chat: str) -> dict:
    container().chats.mark_read(call.key.session_id, chat, call.body.message_ids, call.body.sender)
    return {"status": "accepted"}


@endpoint(bp, "POST", "/v1/chats/{chat}/presence", summary="Show typing or recording in a chat", tag="chats",
          auth="api_key", body=PresenceRequest, status=202, errors=(409,))
def chat_presence(call: Call, chat: str) -> dict:
    container().chats.presence(call.key.session_id, chat, call.body.state)
    return {"status": "accepted"}


@endpoint(bp, "GET", "/v1/sessions/{session_id}/events", summary="The session's event journal (`?after=SEQ&limit=`)",
          tag="sessions", auth="user", errors=(404,), query=(JOURNAL_AFTER, JOURNAL_LIMIT))
def session_events(call: Call, session_id: str) -> dict:
    services = container()
    card = services.sessions.get(call.user.user, session_id)
    after, limit = JOURNAL_AFTER.get(call.request), JOURNAL_LIMIT.get(call.request)
    events = services.messaging.journal(card.session_id, after, limit)
    return {"events": events, "next_after": events[-1]["seq"] if events else after}
