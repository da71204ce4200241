"""Page cursors: what the API hands out comes back as the same key; anything else is a 400."""

from __future__ import annotations

import base64
import json

import pytest

from whatsam.adapters.cursors import decode_cursor, encode_cursor, from_last_key, start_key
from whatsam.errors import ValidationFailed

KEY = {"endpoint_id": "whe_1", "created_at": "2024-05-01T00:00:00Z", "delivery_id": "msg_1"}


def _raw(data: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def test_a_cursor_round_trips_to_dynamodbs_start_key() -> None:
    cursor = encode_cursor(KEY)
    assert "=" not in cursor
    assert decode_cursor(cursor, KEY.keys()) == KEY
    assert start_key(KEY)["delivery_id"] == {"S": "msg_1"}
    assert from_last_key(start_key(KEY)) == KEY


@pytest.mark.parametrize("cursor", [
    "not base64 at all!", "", _raw([1, 2]), _raw({"endpoint_id": "whe_1"}),
    _raw({**KEY, "extra": "x"}), _raw({**KEY, "delivery_id": 5}), _raw({**KEY, "delivery_id": ""}),
    _raw({**KEY, "delivery_id": "x" * 129}), base64.urlsafe_b64encode(b"\xff\xfe").decode(),
])
def test_anything_but_an_issued_cursor_is_a_400(cursor: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        decode_cursor(cursor, KEY.keys())
    assert caught.value.code == "invalid_cursor"
