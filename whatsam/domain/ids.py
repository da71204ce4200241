"""Prefixed, time-ordered identifiers (`ses_…`, `usr_…`): readable in logs, sortable by creation."""

from __future__ import annotations

import os
import time

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def _base36(number: int, width: int) -> str:
    chars = []
    for _ in range(width):
        number, rem = divmod(number, 36)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    # 9 base36 chars of milliseconds last until the year 5188; 16 random chars ≈ 82 bits.
    millis = int(time.time() * 1000)
    return f"{prefix}_{_base36(millis, 9)}{_base36(int.from_bytes(os.urandom(11), 'big'), 16)}"


def is_id(value: str, prefix: str) -> bool:
    head, _, tail = value.partition("_")
    return head == prefix and len(tail) == 25 and all(c in _ALPHABET for c in tail)
