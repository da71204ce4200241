"""Client-side envelope encryption: a fresh KMS data key per object, AES-256-GCM, and the
encryption context bound both into KMS (the key only unwraps for the same context) and
into the ciphertext as associated data."""

from __future__ import annotations

import base64
import json
import os
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT_VERSION = 1


def _aad(context: dict[str, str]) -> bytes:
    return json.dumps(context, sort_keys=True, separators=(",", ":")).encode()


def seal(kms: Any, key_id: str, plaintext: bytes, context: dict[str, str]) -> bytes:
    data_key = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256", EncryptionContext=context)
    nonce = os.urandom(12)
    ciphertext = AESGCM(data_key["Plaintext"]).encrypt(nonce, plaintext, _aad(context))
    header = {
        "v": FORMAT_VERSION,
        "key": base64.b64encode(data_key["CiphertextBlob"]).decode(),
        "nonce": base64.b64encode(nonce).decode(),
    }
    return json.dumps(header).encode() + b"\n" + ciphertext


def open_sealed(kms: Any, blob: bytes, context: dict[str, str]) -> bytes:
    header_raw, _, ciphertext = blob.partition(b"\n")
    header = json.loads(header_raw)
    if header.get("v") != FORMAT_VERSION:
        raise ValueError(f"unknown envelope version {header.get('v')!r}")
    data_key = kms.decrypt(CiphertextBlob=base64.b64decode(header["key"]), EncryptionContext=context)["Plaintext"]
    return AESGCM(data_key).decrypt(base64.b64decode(header["nonce"]), ciphertext, _aad(context))
