"""Access tokens: HS256 pinned, audience/issuer/secret checked, ttl capped at 15 minutes."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from whatsam.config import Settings
from whatsam.errors import Unauthorized
from whatsam.security import tokens

SECRET = "s" * 64


def _settings(*, jwt_secret: str = SECRET, refresh_token_key: str = "r" * 48, **overrides: object) -> Settings:
    values = {"jwt-secret": jwt_secret, "refresh-token-key": refresh_token_key, "api-key-pepper": "p" * 48}
    return Settings(secret_values=values, **overrides)  # type: ignore[arg-type]


def _claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    return {"iss": "whatsam", "aud": "whatsam-api", "sub": "usr_x", "role": "user", "fam": "fam_x",
            "iat": now, "nbf": now, "exp": now + 300, **overrides}


def _code(settings: Settings, token: str) -> str:
    with pytest.raises(Unauthorized) as caught:
        tokens.verify_access_token(settings, token)
    assert caught.value.status == 401
    return caught.value.code


def test_round_trip() -> None:
    settings = _settings()
    before = int(time.time())
    token, ttl = tokens.issue_access_token(settings, user_id="usr_abc", role="admin", family_id="fam_1")
    claims = tokens.verify_access_token(settings, token)
    assert claims.user_id == "usr_abc"
    assert claims.role == "admin"
    assert claims.family_id == "fam_1"
    assert ttl == 900
    assert before + 900 <= claims.expires_at <= int(time.time()) + 900
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "HS256"


def test_each_token_is_unique() -> None:
    settings = _settings()
    first, _ = tokens.issue_access_token(settings, user_id="u", role="user", family_id="f")
    second, _ = tokens.issue_access_token(settings, user_id="u", role="user", family_id="f")
    assert first != second


def test_expired_token_is_token_expired() -> None:
    past = int(time.time()) - 3600
    token = jwt.encode(_claims(iat=past, nbf=past, exp=past + 900), SECRET, algorithm="HS256")
    assert _code(_settings(), token) == "token_expired"


@pytest.mark.parametrize("signer", [
    _settings(jwt_audience="someone-else"),
    _settings(jwt_issuer="evil"),
    _settings(jwt_secret="t" * 64),
], ids=["audience", "issuer", "secret"])
def test_wrong_audience_issuer_or_secret_is_invalid(signer: Settings) -> None:
    token, _ = tokens.issue_access_token(signer, user_id="usr_x", role="user", family_id="fam")
    assert _code(_settings(), token) == "invalid_token"


def test_alg_none_is_refused() -> None:
    token = jwt.encode(_claims(), None, algorithm="none")  # type: ignore[arg-type]
    assert _code(_settings(), token) == "invalid_token"
    # Hand-built too, in case a library refuses to emit it.
    seg = lambda obj: base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()  # noqa: E731
    hand = f"{seg({'alg': 'none', 'typ': 'JWT'})}.{seg(_claims())}."
    assert _code(_settings(), hand) == "invalid_token"


def test_hs512_with_the_right_secret_is_refused_algorithm_is_pinned() -> None:
    token = jwt.encode(_claims(), SECRET, algorithm="HS512")
    assert jwt.decode(token, SECRET, algorithms=["HS512"], audience="whatsam-api")["sub"] == "usr_x"
    assert _code(_settings(), token) == "invalid_token"


@pytest.mark.parametrize("missing", ["exp", "iat", "sub", "iss", "aud"])
def test_required_claims(missing: str) -> None:
    claims = _claims()
    del claims[missing]
    assert _code(_settings(), jwt.encode(claims, SECRET, algorithm="HS256")) == "invalid_token"


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "Bearer x"])
def test_garbage_is_invalid(garbage: str) -> None:
    assert _code(_settings(), garbage) == "invalid_token"


def test_tampered_payload_is_invalid() -> None:
    settings = _settings()
    token, _ = tokens.issue_access_token(settings, user_id="usr_abc", role="user", family_id="f")
    head, payload, sig = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data["role"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    assert _code(settings, f"{head}.{forged}.{sig}") == "invalid_token"


def test_ttl_is_capped_at_900_seconds() -> None:
    settings = _settings(access_token_ttl_seconds=86400)
    token, ttl = tokens.issue_access_token(settings, user_id="u", role="user", family_id="f")
    payload = jwt.decode(token, SECRET, algorithms=["HS256"], audience="whatsam-api")
    assert ttl == 900
    assert payload["exp"] - payload["iat"] == 900


def test_shorter_ttl_is_honoured() -> None:
    token, ttl = tokens.issue_access_token(_settings(access_token_ttl_seconds=60), user_id="u", role="user",
                                           family_id="f")
    payload = jwt.decode(token, SECRET, algorithms=["HS256"], audience="whatsam-api")
    assert ttl == 60
    assert payload["exp"] - payload["iat"] == 60


def test_env_ttl_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WHATSAM_ACCESS_TOKEN_TTL", "7200")
    assert Settings.from_env().access_token_ttl_seconds == 900


def test_refresh_tokens_are_prefixed_random_and_hash_is_keyed() -> None:
    first, second = tokens.new_refresh_token(), tokens.new_refresh_token()
    assert first.startswith("wrt_") and second.startswith("wrt_")
    assert first != second
    assert len(first) >= 40
    digest = tokens.refresh_token_hash(_settings(), first)
    assert digest == tokens.refresh_token_hash(_settings(), first)
    assert digest != tokens.refresh_token_hash(_settings(refresh_token_key="x" * 64), first)
    assert first not in digest


def test_the_refresh_hash_key_is_not_the_access_token_signing_key() -> None:
    token = tokens.new_refresh_token()
    digest = tokens.refresh_token_hash(_settings(), token)
    assert digest == tokens.refresh_token_hash(_settings(jwt_secret="x" * 64), token), "the signing key plays no part"
    same_key = _settings(refresh_token_key=SECRET)
    assert tokens.refresh_token_hash(same_key, token) != tokens.refresh_token_hash(_settings(), token)


def test_a_short_or_missing_key_is_refused_rather_than_used() -> None:
    with pytest.raises(RuntimeError, match="jwt-secret"):
        tokens.issue_access_token(_settings(jwt_secret="short"), user_id="usr_x", role="user", family_id="fam")
