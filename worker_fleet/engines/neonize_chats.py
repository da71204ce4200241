"""Chats on the neonize engine (mixed into `NeonizeClient`): chat settings through WhatsApp's app
state (``send_app_state`` with the patches of `neonize_chat_mapping`), the disappearing timer
(``set_disappearing_timer``), history sync (``HistorySync`` events) and chats read on the phone
(``READ_SELF`` receipts). Names and signatures as installed (neonize 0.5.2's async client).

neonize 0.5.2 reports no app-state events (archive, pin, mute changed on the phone): those
changes reach the chat list only with the next history sync."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

from worker_fleet.engines.base import EngineEvent
from worker_fleet.engines.chats import DISAPPEARING_TIMERS
from worker_fleet.engines.errors import EngineRefusedError
from worker_fleet.engines.neonize_chat_mapping import archive_patch, history_batches, mute_patch, pin_patch
from worker_fleet.engines.neonize_mapping import jid_from_text, jid_text
from worker_fleet.engines.neonize_runtime import NeonizeError


class NeonizeChats:
    """Chat calls and events of `NeonizeClient`."""

    _session_id: str

    def _connected_native(self) -> contextlib.AbstractAsyncContextManager[Any]:
        raise NotImplementedError

    def _push(self, event: EngineEvent) -> None:
        raise NotImplementedError

    async def _flush_events(self) -> None:
        raise NotImplementedError

    @contextlib.asynccontextmanager
    async def _chat_call(self) -> AsyncIterator[Any]:
        async with self._connected_native() as native:
            try:
                yield native
            except NeonizeError as exc:
                raise EngineRefusedError("engine_operation_failed", str(exc) or type(exc).__name__) from exc

    async def _send_patch(self, patch: Any) -> None:
        async with self._chat_call() as native:
            await native.send_app_state(patch)

    async def set_chat_archived(self, chat_jid: str, archived: bool) -> None:
        await self._send_patch(archive_patch(jid_text(jid_from_text(chat_jid)), archived))

    async def set_chat_pinned(self, chat_jid: str, pinned: bool) -> None:
        await self._send_patch(pin_patch(jid_text(jid_from_text(chat_jid)), pinned))

    async def set_chat_muted(self, chat_jid: str, muted: bool, until: str | None = None) -> None:
        end = datetime.fromisoformat(until) if until is not None else None
        await self._send_patch(mute_patch(jid_text(jid_from_text(chat_jid)), muted, end))

    async def set_disappearing_timer(self, chat_jid: str, seconds: int) -> None:
        if seconds not in DISAPPEARING_TIMERS:
            raise EngineRefusedError("engine_request_invalid", f"WhatsApp offers no {seconds}-second timer")
        chat = jid_from_text(chat_jid)
        async with self._chat_call() as native:
            await native.set_disappearing_timer(chat, timedelta(seconds=seconds))

    async def _on_history_sync(self, attempt: Any, event: Any) -> None:
        """One history blob, handed to the host batch by batch (the next made once the last is gone)."""
        own = attempt.native.me
        own_jid = jid_text(own.JID) if own is not None and own.HasField("JID") else ""
        for batch in history_batches(event.Data, own_jid):
            self._push(batch)
            await self._flush_events()
