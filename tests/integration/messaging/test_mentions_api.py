"""Mentions on POST /v1/messages: people as numbers or JIDs become JIDs the worker hands to the
engine as `mentions`; `mention_all` only for groups."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.messaging.conftest import Line
from whatsam.adapters.messages import MessageRepository
from worker_fleet.engines.outgoing import Image, Text
from worker_fleet.outgoing_builder import build_outgoing

pytestmark = pytest.mark.integration

GROUP = "120363000000000001@g.us"


def _send(api: Any, line: Line, body: dict[str, Any]) -> Any:
    return api.call("POST", "/v1/messages", json_body=body, api_key=line.key)


def test_mentions_are_stored_as_jids_and_reach_the_engine(api: Any, connected_line: Line) -> None:
    reply = _send(api, connected_line, {"type": "text", "to": GROUP, "text": "hi @14155552671",
                                        "mentions": ["+1 415 555 2671", "14155552671@s.whatsapp.net",
                                                     "100000000000001@lid"]})
    assert reply.status == 202, reply.body
    record = MessageRepository().get(reply.body["id"])
    assert record is not None
    assert record.payload["mentions"] == ["14155552671@s.whatsapp.net", "100000000000001@lid"]
    outgoing = build_outgoing(record.type, record.payload, lambda ref: None, lambda media: None)  # type: ignore[arg-type,return-value]
    assert outgoing == Text("hi @14155552671", mentions=("14155552671@s.whatsapp.net", "100000000000001@lid"))

    everyone = _send(api, connected_line, {"type": "image", "to": GROUP, "caption": "all of you",
                                           "media": {"url": "https://example.com/a.png", "mimetype": "image/png"},
                                           "mention_all": True})
    assert everyone.status == 202, everyone.body
    stored = MessageRepository().get(everyone.body["id"])
    assert stored is not None and stored.payload["mention_all"] is True and "mentions" not in stored.payload
    image = build_outgoing(stored.type, stored.payload, lambda ref: None, lambda media: None)  # type: ignore[arg-type,return-value]
    assert isinstance(image, Image) and image.mention_all and image.caption == "all of you"


def test_bad_mentions_are_refused_before_anything_is_queued(api: Any, connected_line: Line) -> None:
    cases = [
        ({"type": "text", "to": GROUP, "text": "x", "mentions": [GROUP]}, 400, "invalid_mention"),
        ({"type": "text", "to": GROUP, "text": "x", "mentions": ["not a phone"]}, 400, "invalid_recipient"),
        ({"type": "text", "to": "+14155552671", "text": "x", "mention_all": True}, 422, "mention_all_needs_group"),
        ({"type": "text", "to": GROUP, "text": "x", "mentions": ["+14155552671"] * 1025}, 400, "validation_error"),
        ({"type": "audio", "to": GROUP, "media": {"url": "https://example.com/a.ogg"}, "mentions": ["+14155552671"]},
         400, "validation_error"),
    ]
    for body, status, code in cases:
        reply = _send(api, connected_line, body)
        assert (reply.status, reply.body["error"]["code"]) == (status, code), body
    assert MessageRepository().pending(connected_line.session_id) == []
