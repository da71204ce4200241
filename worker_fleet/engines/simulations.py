"""Dev: `simulate(type, **fields)` makes the simulated WhatsApp produce an event of spec
§3.9 to 3.10 (a call rings, a contact's presence changes, history arrives, …), for
`POST /v1/dev/sessions/{id}/simulate`. Each type is a ``dev_<type>`` method of the simulated
client (dots become underscores: ``call.ring`` → ``dev_call_ring``), defined by the feature's
own simulated mixin, answering a JSON-safe dict."""

from __future__ import annotations

from typing import Any

from worker_fleet.engines.errors import EngineRefusedError


class Simulations:
    async def simulate(self, type: str, **fields: Any) -> dict[str, Any]:
        method = getattr(self, "dev_" + type.replace(".", "_"), None)
        if method is None:
            raise EngineRefusedError("not_supported_by_engine", f"the simulated WhatsApp cannot simulate {type!r}")
        result: dict[str, Any] = await method(**fields)
        return result
