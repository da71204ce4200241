"""The chat list of each session in DynamoDB, kept by ingestion from messages, reads and history.

Every change is one conditional UpdateItem, so concurrent events never lose each other's work:
- a message counts one unread (atomic ADD) only if it is newer than the chat's last read
  (`read_through`), and becomes the last message only if it is newer than the current one
  (`activity_key`); a message is counted once because ingestion counts it only when the
  message log took it for the first time;
- a read sets the count to 0 and moves `read_through` forward, never back;
- history (older news) sets the unread count and settings only of chats no live event touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from whatsam.adapters.chat_models import ChatModel
from whatsam.adapters.conditions import update_if
from whatsam.adapters.messages import delete_all
from whatsam.contracts.chats import HistoryChatInfo, chat_kind
from whatsam.domain.model import iso_z

_PREVIEW_LENGTH = 100


@dataclass(frozen=True)
class LastMessage:
    message_id: str
    wa_id: str
    type: str
    preview: str
    from_me: bool
    at: datetime


@dataclass(frozen=True)
class Chat:
    session_id: str
    chat_jid: str
    kind: str
    name: str | None
    last_message: LastMessage | None
    unread_count: int
    archived: bool
    pinned: bool
    muted: bool
    muted_until: datetime | None
    disappearing_seconds: int | None


def preview_of(kind: str, text: str | None) -> str:
    """What a chat list shows of a message: its text, cut short, or its kind."""
    if text:
        return text if len(text) <= _PREVIEW_LENGTH else text[:_PREVIEW_LENGTH - 1] + "…"
    return f"[{kind}]"


def activity_key(at: datetime, wa_id: str) -> str:
    return f"{iso_z(at)}#{wa_id}"


def _chat(item: ChatModel) -> Chat:
    last = None
    if item.last_message_id is not None and item.last_at is not None:
        last = LastMessage(message_id=item.last_message_id, wa_id=item.activity_key.partition("#")[2],
                           type=item.last_type or "unknown", preview=item.last_preview or "",
                           from_me=bool(item.last_from_me), at=item.last_at)
    return Chat(session_id=item.session_id, chat_jid=item.chat_jid, kind=item.kind, name=item.name, last_message=last,
                unread_count=int(item.unread_count or 0), archived=bool(item.archived), pinned=bool(item.pinned),
                muted=bool(item.muted), muted_until=item.muted_until,
                disappearing_seconds=int(item.disappearing_seconds) if item.disappearing_seconds is not None else None)


class ChatRepository:
    def get(self, session_id: str, chat_jid: str) -> Chat | None:
        try:
            return _chat(ChatModel.get(session_id, chat_jid, consistent_read=True))
        except DoesNotExist:
            return None

    def page(self, session_id: str, *, kind: str | None, after: dict[str, str] | None,
             limit: int) -> tuple[list[Chat], dict[str, str] | None]:
        """Newest activity first; `after` is the `(chat_jid, activity_key)` the previous page
        stopped at, and so is the second value (None on the last page)."""
        start = None
        if after is not None:
            start = {"session_id": {"S": session_id}, "chat_jid": {"S": after["chat_jid"]},
                     "activity_key": {"S": after["activity_key"]}}
        results = ChatModel.activity_index.query(
            session_id, scan_index_forward=False, limit=limit, last_evaluated_key=start,
            filter_condition=(ChatModel.kind == kind) if kind else None)
        chats = [_chat(item) for item in results]
        last = results.last_evaluated_key
        if last is None or len(chats) < limit:
            return chats, None
        return chats, {"chat_jid": last["chat_jid"]["S"], "activity_key": last["activity_key"]["S"]}

    def record_message(self, session_id: str, tenant_id: str, chat_jid: str, last: LastMessage, *,
                       unread: bool) -> None:
        """A message in the chat: one more unread (`unread`: a contact wrote it, live) unless the
        chat was read after it; the last message if it is the newest."""
        if unread:
            update_if(ChatModel(session_id, chat_jid),
                      [ChatModel.unread_count.add(1), ChatModel.live.set(True), *_identity(tenant_id, chat_jid)],
                      ChatModel.read_through.does_not_exist() | (ChatModel.read_through < last.at))
        key = activity_key(last.at, last.wa_id)
        update_if(ChatModel(session_id, chat_jid),
                  [ChatModel.activity_key.set(key), ChatModel.last_message_id.set(last.message_id),
                   ChatModel.last_type.set(last.type), ChatModel.last_preview.set(last.preview),
                   ChatModel.last_from_me.set(last.from_me), ChatModel.last_at.set(last.at),
                   ChatModel.tenant_id.set(tenant_id), ChatModel.kind.set(chat_kind(chat_jid))],
                  ChatModel.activity_key.does_not_exist() | (ChatModel.activity_key < key))

    def name(self, session_id: str, tenant_id: str, chat_jid: str, name: str) -> None:
        """The chat's name as WhatsApp has it now (a group's subject)."""
        ChatModel(session_id, chat_jid).update(actions=[ChatModel.name.set(name), *_identity(tenant_id, chat_jid)])

    def mark_read(self, session_id: str, tenant_id: str, chat_jid: str, at: datetime) -> None:
        """Read through `at`: nothing unread (a read older than the last one changes nothing)."""
        update_if(ChatModel(session_id, chat_jid),
                  [ChatModel.unread_count.set(0), ChatModel.read_through.set(at), ChatModel.live.set(True),
                   *_identity(tenant_id, chat_jid)],
                  ChatModel.read_through.does_not_exist() | (ChatModel.read_through < at))

    def set_state(self, session_id: str, tenant_id: str, chat_jid: str, **state: Any) -> Chat:
        """Settings changed through WhatsApp (archived, pinned, muted, muted_until,
        disappearing_seconds); None removes one. The chat as it is now."""
        actions: list[Action] = [ChatModel.live.set(True), *_identity(tenant_id, chat_jid)]
        for name, value in state.items():
            attribute = getattr(ChatModel, name)
            actions.append(attribute.remove() if value is None else attribute.set(value))
        ChatModel(session_id, chat_jid).update(actions=actions)
        chat = self.get(session_id, chat_jid)
        assert chat is not None
        return chat

    def apply_history(self, session_id: str, tenant_id: str, chats: Sequence[HistoryChatInfo]) -> None:
        """Chats as the phone had them when it linked: their name where none is known, their
        unread count and settings where nothing live changed them since."""
        for info in chats:
            item = ChatModel(session_id, info.chat_jid)
            # The last activity orders a chat whose messages history left out; its first message replaces it.
            first_key = activity_key(info.last_activity, "") if info.last_activity is not None else "0"
            named: list[Action] = [*_identity(tenant_id, info.chat_jid, first_key)]
            if info.name:
                named.append(ChatModel.name.set(ChatModel.name | info.name))
            item.update(actions=named)
            state: list[Action] = [ChatModel.unread_count.set(info.unread_count),
                                   ChatModel.archived.set(info.archived), ChatModel.pinned.set(info.pinned),
                                   ChatModel.muted.set(info.muted_until is not None)]
            if info.muted_until is not None:
                state.append(ChatModel.muted_until.set(info.muted_until))
            update_if(item, state, _untouched())

    def purge_session(self, session_id: str) -> int:
        """Delete every chat of the session (it was deleted); how many."""
        return delete_all(ChatModel, ChatModel.query(session_id))


def _identity(tenant_id: str, chat_jid: str, first_key: str = "0") -> list[Action]:
    """What every item has, set by whichever change creates it."""
    return [ChatModel.tenant_id.set(tenant_id), ChatModel.kind.set(chat_kind(chat_jid)),
            ChatModel.activity_key.set(ChatModel.activity_key | first_key)]


def _untouched() -> Condition:
    return ChatModel.live.does_not_exist()

