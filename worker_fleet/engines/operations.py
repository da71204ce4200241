"""The engine methods the control plane may run through an `EngineCall` (see
`worker_fleet.engine_calls`), by feature. Each feature of spec §3.9 to 3.10 lists its methods here;
the shard runs nothing that is not listed (`shard.CLIENT_OPERATIONS`).

Every method takes keyword arguments with JSON values and answers JSON values or dataclasses of
them. An engine that cannot do one (neonize 0.5.2 lacks a few calls) either does not define it
or raises `EngineRefusedError("not_supported_by_engine", …)`: both answer `501`."""

from __future__ import annotations

from worker_fleet.engines.chats import CHAT_OPERATIONS

# Dev only: the simulated WhatsApp produces an event (`simulations.Simulations.simulate`).
DEV_OPERATIONS = frozenset({"simulate"})

ENGINE_CALL_OPERATIONS: frozenset[str] = DEV_OPERATIONS | CHAT_OPERATIONS
