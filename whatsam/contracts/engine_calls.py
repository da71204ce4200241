"""A call on the session's engine and its answer, shared by the control plane (which asks and
waits on a Redis reply list) and the worker holding the session (which runs it and answers);
the call itself is `contracts.commands.EngineCall`.

Every feature that needs WhatsApp in a request/response round trip (contacts, chats, profile,
channels, …) is an `EngineCall`: an operation named in the worker's allowlist
(`worker_fleet.engine_calls.OPERATIONS`) with its keyword arguments as JSON values. Groups keep
their own typed `GroupRequest`, answered the same way."""

from __future__ import annotations

from typing import Any

from whatsam.contracts.base import Message


class EngineReply(Message):
    """What the worker answers on the reply list: `ok` with the operation's result, or a
    refusal `code` (`session_not_connected`, `not_supported_by_engine`, `group_not_found`, …)
    with its message."""

    ok: bool
    result: Any = None
    code: str | None = None
    error: str | None = None
