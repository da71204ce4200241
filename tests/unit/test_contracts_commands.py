"""The connect command's wire format."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from whatsam.contracts.commands import ConnectSession, decode_command
from whatsam.contracts.events import SessionStatusEvent, decode_event
from whatsam.webhooks.jobs import DeliveryJob, decode_job

WHEN = datetime(2025, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)


def _command() -> ConnectSession:
    return ConnectSession(session_id="ses_1", tenant_id="usr_1", status_version=4, requested_at=WHEN)


def test_round_trip_str_and_bytes() -> None:
    command = _command()
    raw = command.to_json()
    assert json.loads(raw)["type"] == "session.connect"
    for body in (raw, raw.encode()):
        decoded = decode_command(body)
        assert isinstance(decoded, ConnectSession)
        assert decoded == command
        assert decoded.requested_at == WHEN


def test_unknown_type_is_rejected() -> None:
    data = json.loads(_command().to_json())
    data["type"] = "session.explode"
    with pytest.raises(ValidationError):
        decode_command(json.dumps(data))


def test_missing_type_is_rejected() -> None:
    data = json.loads(_command().to_json())
    del data["type"]
    with pytest.raises(ValidationError):
        decode_command(json.dumps(data))


def test_a_newer_senders_extra_fields_are_ignored() -> None:
    # A rolling deploy: the newer side adds a field; the older side still takes the message.
    data = json.loads(_command().to_json())
    data["priority"] = "high"
    decoded = decode_command(json.dumps(data))
    assert decoded == _command() and "priority" not in decoded.model_dump()


def test_events_and_jobs_ignore_fields_they_do_not_know_either() -> None:
    event = SessionStatusEvent(event_id="evt_1", session_id="ses_1", tenant_id="usr_1", worker_id="w-1",
                               occurred_at=WHEN, seq=3, status="connected")
    data = {**json.loads(event.to_json()), "battery": 81}
    assert decode_event(json.dumps(data)) == event
    job = DeliveryJob(delivery_id="msg_1", round=1, attempt=2)
    assert decode_job(json.dumps({**json.loads(job.to_json()), "trace_id": "t"})) == job


@pytest.mark.parametrize("field", ["session_id", "tenant_id", "status_version", "requested_at"])
def test_missing_fields_are_rejected(field: str) -> None:
    data = json.loads(_command().to_json())
    del data[field]
    with pytest.raises(ValidationError):
        decode_command(json.dumps(data))


@pytest.mark.parametrize("body", ["", "not json", "[]", "null", '{"type": "session.connect"}',
                                  '{"type": "session.connect", "session_id": "s", "tenant_id": "t", '
                                  '"status_version": "many", "requested_at": "2025-01-01T00:00:00Z"}'])
def test_bad_bodies_are_rejected(body: str) -> None:
    with pytest.raises(ValidationError):
        decode_command(body)


def test_commands_are_immutable() -> None:
    command = _command()
    with pytest.raises(ValidationError):
        command.status_version = 9
