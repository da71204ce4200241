"""Usage counted on the hot path, in real Redis: accepted sends (an Idempotency-Key replay
and a refused send count nothing), received messages (a redelivered event counts nothing),
and API calls per user and per API key's session."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.integration.messaging.conftest import Line
from tests.support.leases import TEST_WORKER
from whatsam.adapters.repositories import SessionRepository
from whatsam.contracts.events import MessageReceivedEvent, make_seq
from whatsam.domain.model import utcnow
from whatsam.metering.counters import NO_SESSION, Metric, UsageCounters, epoch_hour

pytestmark = pytest.mark.integration

TO = "+14155552671"


class Usage:
    """One user's live counters, summed over the hours a test spans."""

    def __init__(self, counters: UsageCounters, user_id: str, session_id: str, first_hour: int):
        self._counters = counters
        self._user_id = user_id
        self._session_id = session_id
        self._first_hour = first_hour

    def count(self, metric: Metric, session_id: str | None = None) -> int:
        wanted = session_id or self._session_id
        return sum(bucket.counts.get(metric, 0)
                   for hour in range(self._first_hour, epoch_hour() + 1)
                   for bucket in self._counters.user_buckets(self._user_id, hour, [self._session_id])
                   if bucket.session_id == wanted)


@pytest.fixture
def usage(services: Any, connected_line: Line) -> Usage:
    card = SessionRepository().get(connected_line.session_id)
    assert card is not None
    return Usage(services.usage_counters, card.tenant_id, card.session_id, epoch_hour())


@contextmanager
def adds(usage: Usage, metric: Metric, expected: int, session_id: str | None = None) -> Iterator[None]:
    before = usage.count(metric, session_id)
    yield
    assert usage.count(metric, session_id) - before == expected


def _send(api: Any, line: Line, text: str, **headers: str) -> Any:
    return api.call("POST", "/v1/messages", json_body={"type": "text", "to": TO, "text": text}, api_key=line.key,
                    headers=headers)


def test_an_accepted_send_counts_once_and_its_replay_not_at_all(api: Any, connected_line: Line,
                                                               usage: Usage) -> None:
    key = uuid.uuid4().hex
    with adds(usage, Metric.MESSAGES_SENT, 1):
        assert _send(api, connected_line, "once", **{"Idempotency-Key": key}).status == 202
    with adds(usage, Metric.MESSAGES_SENT, 0):
        replay = _send(api, connected_line, "once", **{"Idempotency-Key": key})
        assert replay.status == 202
        reused = _send(api, connected_line, "different", **{"Idempotency-Key": key})
        assert reused.status == 422
        invalid = api.call("POST", "/v1/messages", json_body={"type": "text", "to": "nope", "text": "x"},
                           api_key=connected_line.key)
        assert invalid.status == 400
    with adds(usage, Metric.MESSAGES_SENT, 2):
        assert _send(api, connected_line, "two").status == 202
        assert _send(api, connected_line, "three").status == 202


def test_a_received_message_counts_once_however_often_it_is_delivered(services: Any, connected_line: Line,
                                                                     usage: Usage) -> None:
    card = SessionRepository().get(connected_line.session_id)
    assert card is not None

    def inbound(n: int) -> MessageReceivedEvent:
        return MessageReceivedEvent(
            session_id=card.session_id, tenant_id=card.tenant_id, seq=make_seq(1, n), worker_id=TEST_WORKER,
            message_id=f"msg_in{uuid.uuid4().hex[:20]}", wa_id=f"WAIN{n}", chat_jid="14155552671@s.whatsapp.net",
            sender_jid="14155552671@s.whatsapp.net", sender_phone="14155552671", kind="text", text=f"hi {n}",
            timestamp=utcnow())

    first = inbound(1)
    with adds(usage, Metric.MESSAGES_RECEIVED, 1):
        assert services.ingestion.apply(first)
        assert not services.ingestion.apply(first), "the redelivery changes nothing"
        assert not services.ingestion.apply(first)
    with adds(usage, Metric.MESSAGES_RECEIVED, 1):
        assert services.ingestion.apply(inbound(2))


def test_api_calls_are_counted_per_user_and_per_key_session(api: Any, connected_line: Line, usage: Usage) -> None:
    with adds(usage, Metric.API_CALLS, 3), adds(usage, Metric.API_CALLS, 0, session_id=NO_SESSION):
        for _ in range(3):
            assert api.call("GET", "/v1/session", api_key=connected_line.key).status == 200
    with adds(usage, Metric.API_CALLS, 3, session_id=NO_SESSION), adds(usage, Metric.API_CALLS, 0):
        # Answered or not, an admitted call of a known caller is a call.
        assert api.call("GET", "/v1/sessions", token=connected_line.token).status == 200
        assert api.call("GET", "/v1/sessions/ses_nope", token=connected_line.token).status == 404
        assert api.call("PATCH", f"/v1/sessions/{connected_line.session_id}", raw="{",
                        token=connected_line.token).status == 400
    with adds(usage, Metric.API_CALLS, 0, session_id=NO_SESSION), adds(usage, Metric.API_CALLS, 0):
        # Refused credentials, and routes without a caller, are no one's API calls.
        assert api.call("GET", "/v1/session", api_key="wsk_invalid").status == 401
        assert api.call("GET", "/health").status == 200
