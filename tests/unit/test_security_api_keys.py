"""Session API key format: `wsk_` + 32 base62 + 6-character CRC32 checksum, keyed hash."""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable

import pytest

from whatsam.security import api_keys

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _independent_checksum(body: str) -> str:
    value, out = zlib.crc32(body.encode()), ""
    for _ in range(6):
        value, rem = divmod(value, 62)
        out = BASE62[rem] + out
    return out


def test_generated_keys_are_well_formed_and_distinct() -> None:
    keys = {api_keys.generate_api_key() for _ in range(200)}
    assert len(keys) == 200
    for key in keys:
        assert re.fullmatch(r"wsk_[0-9A-Za-z]{38}", key), key
        assert len(key) == api_keys.KEY_LENGTH == 42
        assert api_keys.is_well_formed(key)
        # The checksum is CRC32 of the body, base62, 6 characters (computed here independently).
        assert key[-6:] == _independent_checksum(key[4:-6])


def test_a_hand_built_key_with_a_correct_crc_is_accepted() -> None:
    body = "A" * 16 + "z" * 16
    assert api_keys.is_well_formed(f"wsk_{body}{_independent_checksum(body)}")


@pytest.mark.parametrize("position", [4, 10, 20, 35, 36, 41])
def test_any_single_flipped_character_fails_the_checksum(position: int) -> None:
    key = api_keys.generate_api_key()
    for replacement in ("0", "Z", "q"):
        if key[position] == replacement:
            continue
        flipped = key[:position] + replacement + key[position + 1:]
        assert not api_keys.is_well_formed(flipped), (key, flipped)


@pytest.mark.parametrize("mutate", [
    lambda k: "wsx_" + k[4:],            # wrong prefix
    lambda k: "WSK_" + k[4:],            # prefix is case sensitive
    lambda k: "sk_" + k[4:],             # prefix too short (length off by one too)
    lambda k: k[:-1],                    # one short
    lambda k: k + "0",                   # one long
    lambda k: k[:4] + k[5:] + "0",       # same length, checksum no longer lines up
    lambda k: "",
    lambda k: "wsk_",
    lambda k: k[:10] + "-" + k[11:],     # not base62
    lambda k: k[:10] + "é" + k[11:],
    lambda k: k.upper(),
    lambda k: " " + k[:-1],
], ids=["prefix", "prefix-case", "short-prefix", "short", "long", "shifted", "empty", "prefix-only",
        "dash", "non-ascii", "upper", "leading-space"])
def test_malformed_keys_are_rejected(mutate: Callable[[str], str]) -> None:
    key = api_keys.generate_api_key()
    bad = mutate(key)
    assert bad != key
    assert not api_keys.is_well_formed(bad)


def test_display_prefix_is_the_first_ten_characters_and_reveals_little() -> None:
    key = api_keys.generate_api_key()
    prefix = api_keys.display_prefix(key)
    assert prefix == key[:10]
    assert prefix.startswith("wsk_")
    assert len(prefix) == 10


def test_keyed_hash_depends_on_pepper_and_key() -> None:
    key = api_keys.generate_api_key()
    other = api_keys.generate_api_key()
    pepper_a, pepper_b = "a" * 40, "b" * 40
    hashed = api_keys.hash_api_key(pepper_a, key)
    assert re.fullmatch(r"[0-9a-f]{64}", hashed)
    assert hashed == api_keys.hash_api_key(pepper_a, key)
    assert hashed != api_keys.hash_api_key(pepper_b, key)
    assert hashed != api_keys.hash_api_key(pepper_a, other)
    assert key not in hashed and key[4:] not in hashed
