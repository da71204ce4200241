"""The control plane's side of an engine call: send a command to the worker holding the session
and wait for its `EngineReply` on a Redis reply list, at most `REPLY_TIMEOUT_SECONDS`
(`504 engine_timeout`). Refusal codes map to HTTP errors here; a feature passes the codes of its
own refusals (a group the session is not in is a 404, …) on top of the common ones."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from whatsam.adapters.repositories import SessionRepository
from whatsam.adapters.session_cache import SessionCache
from whatsam.contracts.commands import EngineCall, SessionCommand
from whatsam.contracts.engine_calls import EngineReply
from whatsam.domain.model import SessionCard, SessionStatus
from whatsam.errors import AppError, Conflict, NotFound, Unprocessable
from whatsam.services.lifecycle import REPLY_TIMEOUT_SECONDS
from whatsam.services.routing import CommandRouter


class EngineTimeout(AppError):
    status = 504
    code = "engine_timeout"


class NotSupported(AppError):
    status = 501
    code = "not_supported_by_engine"


class EngineFailed(AppError):
    status = 502
    code = "engine_operation_failed"


Refusals = Mapping[str, type[AppError]]

# Worker reply codes every engine call may answer → the error the API answers.
COMMON_REFUSALS: Refusals = {
    "not_supported_by_engine": NotSupported,
    "engine_timeout": EngineTimeout,
    "engine_request_invalid": Unprocessable,
    "session_not_connected": Conflict,
    "session_not_connecting": Conflict,
}


def new_reply_list() -> str:
    return f"whatsam:reply:{uuid.uuid4().hex}"


class EngineCalls:
    def __init__(self, sessions: SessionRepository, router: CommandRouter, cache: SessionCache,
                 reply_timeout: float = REPLY_TIMEOUT_SECONDS):
        self._sessions = sessions
        self._router = router
        self._cache = cache
        self._timeout = reply_timeout

    def ask(self, session_id: str, operation: str, refusals: Refusals | None = None, **args: Any) -> Any:
        """Run `operation` on the session's engine with the arguments that are set; its result."""
        card = self.connected_card(session_id)
        reply_to = new_reply_list()
        set_args = {name: value for name, value in args.items() if value is not None}
        command = EngineCall(session_id=session_id, tenant_id=card.tenant_id, operation=operation, args=set_args,
                             reply_to=reply_to)
        return self.request(card, command, reply_to, refusals)

    def request(self, card: SessionCard, command: SessionCommand, reply_to: str,
                refusals: Refusals | None = None) -> Any:
        """Send `command` (which names `reply_to`) to the session's worker and wait for its answer."""
        if self._router.send_to_owner(card.session_id, command) is None:
            raise Conflict("No worker holds this session right now; try again shortly.",
                           code="session_not_connected")
        raw = self._cache.wait_reply(reply_to, self._timeout)
        if raw is None:
            raise EngineTimeout("The session's worker did not answer in time.")
        reply = EngineReply.model_validate(raw)
        if reply.ok:
            return reply.result
        code = reply.code or EngineFailed.code
        error = (refusals or {}).get(code) or COMMON_REFUSALS.get(code, EngineFailed)
        if code == "session_not_connecting":
            code = "session_not_connected"
        raise error(reply.error or "WhatsApp refused the operation.", code=code)

    def card(self, session_id: str) -> SessionCard:
        card = self._sessions.get(session_id)
        if card is None:
            raise NotFound("No such session.", code="session_not_found")
        return card

    def connected_card(self, session_id: str) -> SessionCard:
        card = self.card(session_id)
        if card.status is not SessionStatus.CONNECTED:
            raise Conflict("The session is not connected.", code="session_not_connected",
                           details={"status": card.status.value})
        return card
