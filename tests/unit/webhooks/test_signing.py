"""Signatures as Standard Webhooks defines them, checked by the third-party
`standardwebhooks` package: a good one verifies; a tampered body, a stale or future
timestamp, another id or another secret do not; during a rotation either secret verifies."""

from __future__ import annotations

import base64
import time

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from whatsam.webhooks.signing import SECRET_PREFIX, generate_secret, sign, signature_headers

BODY = b'{"type":"message.received","timestamp":"2024-05-01T10:00:00Z","data":{"session_id":"ses_1","text":"hi"}}'


def _headers(secrets: list[str], *, msg_id: str = "msg_abc", at: int | None = None, body: bytes = BODY) -> dict:
    return signature_headers(secrets, msg_id, int(time.time()) if at is None else at, body)


def test_secret_format() -> None:
    secret = generate_secret()
    assert secret.startswith(SECRET_PREFIX)
    assert len(base64.b64decode(secret[len(SECRET_PREFIX):])) == 32
    assert generate_secret() != secret


def test_a_delivery_verifies_with_standardwebhooks() -> None:
    secret = generate_secret()
    headers = _headers([secret])
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(BODY, headers)["data"]["text"] == "hi"


def test_signature_is_hmac_of_id_timestamp_body() -> None:
    secret = generate_secret()
    ours = sign(secret, "msg_x", 1714557600, BODY)
    from datetime import UTC, datetime

    theirs = Webhook(secret).sign("msg_x", datetime.fromtimestamp(1714557600, tz=UTC), BODY.decode())
    assert ours == theirs


def test_a_tampered_body_fails() -> None:
    secret = generate_secret()
    headers = _headers([secret])
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace(b'"hi"', b'"ho"'), headers)


@pytest.mark.parametrize("offset", [-6 * 60, -3600, 6 * 60])
def test_a_stale_or_future_timestamp_fails(offset: int) -> None:
    secret = generate_secret()
    headers = _headers([secret], at=int(time.time()) + offset)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, headers)


def test_another_id_or_secret_fails() -> None:
    secret = generate_secret()
    headers = _headers([secret])
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, {**headers, "webhook-id": "msg_other"})
    with pytest.raises(WebhookVerificationError):
        Webhook(generate_secret()).verify(BODY, headers)


def test_during_rotation_both_secrets_verify() -> None:
    new, old = generate_secret(), generate_secret()
    headers = _headers([new, old])
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(new).verify(BODY, headers)
    assert Webhook(old).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(generate_secret()).verify(BODY, headers)


def test_signing_needs_a_secret() -> None:
    with pytest.raises(ValueError):
        signature_headers([], "msg_x", 1, BODY)
    with pytest.raises(ValueError):
        sign("not-a-secret", "msg_x", 1, BODY)
