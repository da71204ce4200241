"""Engine calls on the worker: an `EngineCall` names an operation of the session's engine in
`OPERATIONS`, runs it in the session's shard and answers an `EngineReply` on the command's reply
list. Group requests (`group_requests`) answer through the same `answer`.

Every call is answered, so the API never waits out its timeout for an answer that is not coming:
a refusal carries its code (`EngineRefusedError`), a session whose engine is not connected
answers ``session_not_connected``, values the engine rejects the caller's *invalid* code, and any
other failure its *failed* code (logged here, never raised: a redelivered call would find its
caller gone).

An operation is the name of an engine client method; a feature makes its methods callable from
the control plane by listing them in `engines.operations`, and nothing else is. Bytes too big for a
command (a picture) travel through the media bucket: an argument ``media_key`` names the object,
and the engine method gets its bytes as ``media``."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from whatsam.adapters.session_cache import SessionCache
from whatsam.contracts.commands import EngineCall
from whatsam.contracts.engine_calls import EngineReply
from whatsam.messaging.media import MediaStore
from worker_fleet.engines.errors import EngineRefusedError
from worker_fleet.engines.operations import ENGINE_CALL_OPERATIONS
from worker_fleet.supervisor import ShardGone, ShardOperationError

log = logging.getLogger("whatsam.engine_calls")

Call = Callable[..., Any]

# Engine calls wait on WhatsApp; the control plane gives up sooner (REPLY_TIMEOUT_SECONDS).
ENGINE_CALL_TIMEOUT = 30.0

# The engine methods an `EngineCall` may run (see `engines.operations`).
OPERATIONS = ENGINE_CALL_OPERATIONS


def wire(value: Any) -> Any:
    """Engine answers (dataclasses, lists and dicts of them, datetimes) as JSON-safe values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: wire(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [wire(item) for item in value]
    if isinstance(value, dict):
        return {key: wire(item) for key, item in value.items()}
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def answer(cache: SessionCache, reply_to: str, run: Callable[[], Any], *, what: str,
           invalid: str = "engine_request_invalid", failed: str = "engine_operation_failed") -> None:
    """Run `run` and push its outcome to `reply_to`, whatever happens."""
    try:
        reply = EngineReply(ok=True, result=run())
    except ShardOperationError as exc:
        reply = refusal(exc, invalid=invalid, failed=failed)
    except EngineRefusedError as exc:  # refused on this side of the shard
        reply = EngineReply(ok=False, code=exc.code, error=exc.detail)
    except (ShardGone, LookupError) as exc:
        reply = EngineReply(ok=False, code="session_not_connected", error=str(exc))
    except TimeoutError:
        reply = EngineReply(ok=False, code="engine_timeout", error="WhatsApp did not answer in time.")
    except Exception as exc:
        log.exception("%s failed", what)
        reply = EngineReply(ok=False, code=failed, error=type(exc).__name__)
    cache.push_reply(reply_to, reply.model_dump(mode="json"))


def refusal(exc: ShardOperationError, *, invalid: str, failed: str) -> EngineReply:
    """The reply for an exception the engine raised inside its shard."""
    if exc.kind.endswith("RefusedError"):
        parsed = EngineRefusedError.parse(exc.detail)
        if parsed is not None:
            return EngineReply(ok=False, code=parsed[0], error=parsed[1])
    if exc.kind == "EngineNotConnectedError":
        return EngineReply(ok=False, code="session_not_connected", error=exc.detail)
    if exc.kind == "EngineError":
        return EngineReply(ok=False, code=invalid, error=exc.detail)
    log.warning("engine call failed in the engine: %s", exc)
    return EngineReply(ok=False, code=failed, error=exc.detail)


class EngineCalls:
    def __init__(self, call: Call, cache: SessionCache, media: MediaStore):
        self._call = call
        self._cache = cache
        self._media = media

    def handle(self, session_id: str, command: EngineCall) -> None:
        answer(self._cache, command.reply_to, lambda: self._run(session_id, command),
               what=f"engine call {command.operation} for {session_id}")

    def _run(self, session_id: str, command: EngineCall) -> Any:
        if command.operation not in OPERATIONS:
            raise EngineRefusedError("not_supported_by_engine", f"unknown operation {command.operation!r}")
        args = dict(command.args)
        if "media_key" in args:
            args["media"] = self._media.get(str(args.pop("media_key")))
        return wire(self._call(command.operation, session_id, timeout=ENGINE_CALL_TIMEOUT, **args))
