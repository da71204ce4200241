"""The worker's side of generic engine calls: only allowlisted operations run, their answers
travel as JSON values, and every outcome is a reply."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.support.engine_recorder import Recorder
from whatsam.contracts.commands import EngineCall
from worker_fleet import engine_calls
from worker_fleet.engine_calls import EngineCalls
from worker_fleet.supervisor import ShardOperationError


@dataclass(frozen=True)
class Answer:
    jid: str
    at: datetime
    tags: tuple[str, ...]


def run(operation: str, args: dict[str, Any] | None = None, **answers: Any) -> tuple[Recorder, dict[str, Any]]:
    recorder = Recorder(answers)
    command = EngineCall(session_id="ses_1", tenant_id="usr_1", operation=operation, args=args or {},
                         reply_to="r:1")
    EngineCalls(recorder.call, recorder, None).handle("ses_1", command)  # type: ignore[arg-type]
    ((reply_to, reply),) = recorder.replies
    assert reply_to == "r:1"
    return recorder, reply


@pytest.fixture(autouse=True)
def allowlist(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_calls, "OPERATIONS", frozenset({"contact_info"}))


def test_an_allowlisted_operation_runs_with_its_arguments_and_answers_json() -> None:
    answer = Answer("1@s.whatsapp.net", datetime(2026, 1, 2, tzinfo=UTC), ("a",))
    recorder, reply = run("contact_info", {"jid": "1@s.whatsapp.net"}, contact_info={"found": [answer]})
    assert recorder.calls == [("contact_info", {"jid": "1@s.whatsapp.net"})]
    assert reply == {"ok": True, "code": None, "error": None, "result": {"found": [
        {"jid": "1@s.whatsapp.net", "at": "2026-01-02T00:00:00+00:00", "tags": ["a"]}]}}


def test_an_operation_outside_the_allowlist_never_reaches_the_engine() -> None:
    recorder, reply = run("logout")
    assert recorder.calls == []
    assert reply["ok"] is False and reply["code"] == "not_supported_by_engine"


@pytest.mark.parametrize(("failure", "code"), [
    (ShardOperationError("EngineRefusedError", "contact_not_found: nobody"), "contact_not_found"),
    (ShardOperationError("EngineRefusedError", "Not a code: text"), "engine_operation_failed"),
    (ShardOperationError("EngineError", "bad jid"), "engine_request_invalid"),
    (ShardOperationError("ValueError", "boom"), "engine_operation_failed"),
    (RuntimeError("S3 down"), "engine_operation_failed"),
])
def test_failures_answer_their_code(failure: BaseException, code: str) -> None:
    _, reply = run("contact_info", contact_info=failure)
    assert reply["ok"] is False and reply["code"] == code and reply["error"]


def test_a_simulation_runs_the_clients_dev_method_and_refuses_an_unknown_type() -> None:
    import asyncio

    from worker_fleet.engines.errors import EngineRefusedError
    from worker_fleet.engines.simulations import Simulations

    class Client(Simulations):
        async def dev_call_ring(self, phone: str) -> dict[str, Any]:
            return {"call_id": "c1", "from": phone}

    assert asyncio.run(Client().simulate("call.ring", phone="1")) == {"call_id": "c1", "from": "1"}
    with pytest.raises(EngineRefusedError) as refused:
        asyncio.run(Client().simulate("call.unknown"))
    assert refused.value.code == "not_supported_by_engine"
