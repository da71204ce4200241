"""Chats on the neonize engine (mixed into `NeonizeClient`): the disappearing timer
(``set_disappearing_timer``), history sync (``HistorySync`` events) and chats read on the phone
(``READ_SELF`` receipts). Names and signatures as installed (neonize 0.5.2's async client).

What neonize 0.5.2 cannot do, it says so (``not_supported_by_engine``): archive, pin and mute
are app-state patches, and neonize has no working way to send one. Its ``chat_settings``
(``put_archived``, ``put_pinned``, ``put_muted_until``) writes whatsmeow's *local* store only,
which WhatsApp and the account's other devices never see; and its ``send_app_state`` binding
loses the patch's collection on the way to whatsmeow (the Go side compares enum pointers, and
knows no ``regular_low`` / ``regular_high``, the collections of archive, pin and mute). Nor does
it report the app-state events of changes made on the phone."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from worker_fleet.engines.base import EngineEvent
from worker_fleet.engines.chats import DISAPPEARING_TIMERS
from worker_fleet.engines.errors import EngineRefusedError
from worker_fleet.engines.neonize_chat_mapping import history_batches
from worker_fleet.engines.neonize_mapping import jid_from_text, jid_text
from worker_fleet.engines.neonize_runtime import NeonizeError

_NO_APP_STATE = "neonize 0.5.2 cannot send WhatsApp app-state patches (archive, pin, mute)"


class NeonizeChats:
    """Chat calls and events of `NeonizeClient`."""

    _session_id: str

    if TYPE_CHECKING:  # provided by the client class this mixes into
        def _connected_native(self) -> contextlib.AbstractAsyncContextManager[Any]: ...
        def _push(self, event: EngineEvent) -> None: ...
        async def _flush_events(self) -> None: ...

    @contextlib.asynccontextmanager
    async def _chat_call(self) -> AsyncIterator[Any]:
        async with self._connected_native() as native:
            try:
                yield native
            except NeonizeError as exc:
                raise EngineRefusedError("engine_operation_failed", str(exc) or type(exc).__name__) from exc

    async def set_chat_archived(self, chat_jid: str, archived: bool) -> None:
        raise EngineRefusedError("not_supported_by_engine", _NO_APP_STATE)

    async def set_chat_pinned(self, chat_jid: str, pinned: bool) -> None:
        raise EngineRefusedError("not_supported_by_engine", _NO_APP_STATE)

    async def set_chat_muted(self, chat_jid: str, muted: bool, until: str | None = None) -> None:
        raise EngineRefusedError("not_supported_by_engine", _NO_APP_STATE)

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
