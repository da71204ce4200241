"""POST /v1/messages under the BASIC tier's real limits: 100 messages an hour per key (and per
user), then 429 with Retry-After and the RateLimit headers; nothing is recorded for a 429."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.integration.messaging.conftest import Line
from tests.support.ratelimit_headers import ratelimit_state
from whatsam.adapters.messages import MessageRepository

pytestmark = pytest.mark.integration

TO = "+14155552671"
POLICIES = ('"messages-key";q=100;w=3600, "messages-user";q=100;w=3600, "api-key";q=1000;w=3600, '
            '"api-user";q=1000;w=3600')


def test_a_basic_key_gets_100_messages_an_hour_then_429_with_headers(api: Any, connected_line: Line) -> None:
    remaining = []
    reply = None
    started = time.monotonic()
    for i in range(100):
        reply = api.call("POST", "/v1/messages", json_body={"type": "text", "to": TO, "text": f"m{i}"},
                         api_key=connected_line.key)
        assert reply.status == 202, (i, reply.body)
        assert reply.headers["ratelimit-policy"] == POLICIES
        remaining.append(ratelimit_state(reply.headers)["messages-key"]["r"])
    assert remaining == list(range(99, -1, -1))
    last_ok = ratelimit_state(reply.headers)

    refused = api.call("POST", "/v1/messages", json_body={"type": "text", "to": TO, "text": "one too many"},
                       api_key=connected_line.key)
    assert (refused.status, refused.body["error"]["code"]) == (429, "rate_limited")
    # The first of the 100 comes back 36 s after it was taken.
    assert 36 - (time.monotonic() - started) - 1 <= int(refused.headers["retry-after"]) <= 36
    assert refused.headers["ratelimit-policy"] == POLICIES
    state = ratelimit_state(refused.headers)
    assert state["messages-key"]["r"] == state["messages-user"]["r"] == 0
    # The window ends an hour after the first send, however long the hundred sends took.
    assert 3600 - (time.monotonic() - started) - 1 <= state["messages-key"]["t"] <= 3600
    assert state["api-key"]["r"] >= last_ok["api-key"]["r"], "the refused call took nothing from the API-call limits"
    assert set(refused.body["error"]["details"]["policies"]) == {"messages-key", "messages-user"}
    assert refused.body["error"]["request_id"] == refused.headers["x-request-id"]
    queued = MessageRepository().pending(connected_line.session_id, limit=200)
    assert len(queued) == 100 and "one too many" not in {m.payload.get("text") for m in queued}

    # Other calls of the key still pass (their own limits), with their own headers.
    history = api.call("GET", "/v1/messages?limit=1", api_key=connected_line.key)
    assert history.status == 200
    assert history.headers["ratelimit-policy"] == '"api-key";q=1000;w=3600, "api-user";q=1000;w=3600'
