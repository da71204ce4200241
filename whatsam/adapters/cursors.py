"""Opaque page cursors: the DynamoDB key a page stopped at, handed to the client and checked
when it comes back, so a forged or mangled cursor is a 400 and never a DynamoDB error."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Collection, Mapping

from whatsam.errors import ValidationFailed

_MAX_PART = 128


def encode_cursor(key: Mapping[str, str]) -> str:
    """A cursor for a key of string attributes."""
    return base64.urlsafe_b64encode(json.dumps(dict(key), sort_keys=True).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, names: Collection[str]) -> dict[str, str]:
    """The key attributes of a cursor this API issued, with exactly `names`; else a 400."""
    bad = ValidationFailed("`cursor` is not a cursor this list returned.", code="invalid_cursor")
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error) as exc:
        raise bad from exc
    if not (isinstance(data, dict) and set(data) == set(names)
            and all(isinstance(value, str) and 0 < len(value) <= _MAX_PART for value in data.values())):
        raise bad
    return data


def start_key(key: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """The key as DynamoDB's `ExclusiveStartKey` (string attributes)."""
    return {name: {"S": value} for name, value in key.items()}


def from_last_key(key: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """The string attributes of a `LastEvaluatedKey`."""
    return {name: value["S"] for name, value in key.items()}
