"""Accounts over HTTP: register, login, /me, refresh rotation with reuse detection, logout."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import jwt
import pytest

from whatsam.adapters.repositories import RefreshTokenRepository
from whatsam.domain.ids import is_id
from whatsam.domain.tiers import Tier
from whatsam.security import tokens

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery"


def _email(tag: str = "acc") -> str:
    return f"{tag}-{uuid.uuid4().hex[:12]}@example.com"


def _refresh(api: Any, refresh_token: str) -> Any:
    return api.call("POST", "/v1/auth/refresh", json_body={"refresh_token": refresh_token})


def _login(api: Any, email: str, password: str = PASSWORD) -> Any:
    return api.call("POST", "/v1/auth/login", json_body={"email": email, "password": password})


def test_register_returns_user_and_tokens(api: Any, services: Any) -> None:
    local = f"Ada.{uuid.uuid4().hex[:10]}"
    reply = api.call("POST", "/v1/auth/register",
                     json_body={"email": f"{local}@Example.COM", "password": PASSWORD, "name": "Ada"})
    assert reply.status == 201, reply.body
    body = reply.body
    user = body["user"]
    assert user["email"] == f"{local}@example.com".lower()
    assert user["name"] == "Ada"
    assert user["role"] == "user"
    assert user["tier"] == "BASIC"
    assert user["active"] is True
    assert is_id(user["id"], "usr")
    assert body["token_type"] == "Bearer"
    assert 0 < body["expires_in"] <= 900
    assert body["refresh_token"].startswith("wrt_")
    assert body["refresh_expires_in"] > 900
    # No secret material about the password ever goes back.
    text = json.dumps(body)
    assert "password" not in text and "argon2" not in text and PASSWORD not in text
    # Stored hashed, under the lower-cased email.
    stored = services.users.get_by_email(user["email"])
    assert stored is not None and stored.user_id == user["id"]
    assert stored.password_hash.startswith("$argon2id$") and PASSWORD not in stored.password_hash
    # The access token works right away.
    me = api.call("GET", "/v1/me", token=body["access_token"])
    assert me.status == 200 and me.body["id"] == user["id"]


@pytest.mark.parametrize("variant", [str.upper, str.title, lambda e: f"  {e.upper()} "])
def test_duplicate_email_in_any_case_is_email_taken(api: Any, services: Any, check_error: Any, variant: Any) -> None:
    email = _email("dup")
    first = api.register(email=email)
    reply = api.call("POST", "/v1/auth/register", json_body={"email": variant(email), "password": "another pass"})
    check_error(reply, 409, "email_taken")
    # The original account is untouched and still logs in with its own password.
    assert services.users.get_by_email(email).user_id == first["user"]["id"]
    assert _login(api, email).status == 200
    assert _login(api, email, "another pass").status == 401


def test_login(api: Any, check_error: Any) -> None:
    email = _email("login")
    registered = api.register(email=email)
    reply = _login(api, email.upper())
    assert reply.status == 200, reply.body
    assert reply.body["user"]["id"] == registered["user"]["id"]
    assert reply.body["refresh_token"] != registered["refresh_token"]
    assert api.call("GET", "/v1/me", token=reply.body["access_token"]).status == 200

    wrong = check_error(_login(api, email, "not the password"), 401, "invalid_credentials")
    unknown = check_error(_login(api, _email("nobody")), 401, "invalid_credentials")
    # Same answer for both: the response does not tell which emails exist.
    assert wrong["message"] == unknown["message"]
    # The dummy hash used for unknown emails must not let its own password in.
    check_error(_login(api, _email("nobody"), "not-a-real-password"), 401, "invalid_credentials")


def test_me_shows_tier_and_limits(api: Any, services: Any) -> None:
    registered = api.register()
    me = api.call("GET", "/v1/me", token=registered["access_token"])
    assert me.status == 200
    assert me.body["tier"] == "BASIC"
    assert me.body["limits"] == {"sessions": 1, "messages_per_hour": 100, "api_calls_per_hour": 1000}
    assert me.body["email"] == registered["user"]["email"]
    assert "password_hash" not in me.body

    services.users.update_plan(registered["user"]["id"], tier=Tier.MAX)
    me = api.call("GET", "/v1/me", token=registered["access_token"])
    assert me.body["tier"] == "MAX"
    assert me.body["limits"] == {"sessions": 20, "messages_per_hour": 10000, "api_calls_per_hour": 100000}


def test_refresh_rotates_and_old_access_stays_valid(api: Any, check_error: Any) -> None:
    first = api.register()
    second = _refresh(api, first["refresh_token"])
    assert second.status == 200, second.body
    pair = second.body
    assert pair["refresh_token"].startswith("wrt_")
    assert pair["refresh_token"] != first["refresh_token"]
    assert pair["access_token"] != first["access_token"]
    assert pair["token_type"] == "Bearer" and 0 < pair["expires_in"] <= 900
    # The chain's lifetime does not grow with rotation.
    assert pair["refresh_expires_in"] <= first["refresh_expires_in"]
    assert api.call("GET", "/v1/me", token=pair["access_token"]).status == 200
    assert api.call("GET", "/v1/me", token=first["access_token"]).status == 200
    # The new refresh token rotates again.
    third = _refresh(api, pair["refresh_token"])
    assert third.status == 200
    assert third.body["refresh_token"] not in {first["refresh_token"], pair["refresh_token"]}


def test_reusing_a_spent_refresh_token_revokes_the_whole_chain(api: Any, check_error: Any) -> None:
    email = _email("reuse")
    first = api.register(email=email)
    other_login = _login(api, email).body  # a separate chain (another device)
    newer = _refresh(api, first["refresh_token"]).body

    check_error(_refresh(api, first["refresh_token"]), 401, "refresh_token_reused")
    # The newer token of the same chain is now dead too ...
    check_error(_refresh(api, newer["refresh_token"]), 401)
    # ... and stays dead on a second try (no resurrection, no 500).
    check_error(_refresh(api, newer["refresh_token"]), 401)
    # The other login's chain is not affected.
    assert _refresh(api, other_login["refresh_token"]).status == 200


def test_logout_revokes_the_chain(api: Any, check_error: Any) -> None:
    email = _email("logout")
    first = api.register(email=email)
    other_login = _login(api, email).body
    rotated = _refresh(api, first["refresh_token"]).body

    reply = api.call("POST", "/v1/auth/logout", token=rotated["access_token"])
    assert reply.status == 204, reply.body
    check_error(_refresh(api, rotated["refresh_token"]), 401, "invalid_refresh_token")
    # Logging out ends this chain only.
    assert _refresh(api, other_login["refresh_token"]).status == 200
    check_error(api.call("POST", "/v1/auth/logout"), 401, "missing_token")


@pytest.mark.parametrize("ending", ["logout", "refresh_token_reuse"])
def test_ending_a_chain_ends_its_access_tokens_at_once(api: Any, check_error: Any, ending: str) -> None:
    email = _email(ending.replace("_", "-"))
    first = api.register(email=email)
    other_login = _login(api, email).body
    rotated = _refresh(api, first["refresh_token"]).body
    assert api.call("GET", "/v1/me", token=first["access_token"]).status == 200

    if ending == "logout":
        assert api.call("POST", "/v1/auth/logout", token=rotated["access_token"]).status == 204
    else:
        check_error(_refresh(api, first["refresh_token"]), 401, "refresh_token_reused")
    # Every access token the chain issued, before and after rotation, is dead now, not in 15 minutes.
    for access in (first["access_token"], rotated["access_token"]):
        check_error(api.call("GET", "/v1/me", token=access), 401, "token_revoked")
        check_error(api.call("GET", "/v1/sessions", token=access), 401, "token_revoked")
    # The other login goes on.
    assert api.call("GET", "/v1/me", token=other_login["access_token"]).status == 200


def test_a_new_login_is_checked_in_redis_alone(api: Any, services: Any, monkeypatch: Any) -> None:
    """The chain's state is cached when the login starts: its calls read no family row."""
    first = api.register()
    family_id = jwt.decode(first["access_token"], options={"verify_signature": False})["fam"]
    assert services.redis.get(f"whatsam:chain:{family_id}") == "active"
    read = []
    monkeypatch.setattr(RefreshTokenRepository, "family_revoked", lambda self, family: read.append(family))
    assert api.call("GET", "/v1/me", token=first["access_token"]).status == 200
    assert read == []


def test_revocation_survives_a_redis_that_forgot_it(api: Any, services: Any, check_error: Any) -> None:
    """Redis only caches the chain's state: the record of truth is DynamoDB."""
    first = api.register()
    family_id = jwt.decode(first["access_token"], options={"verify_signature": False})["fam"]
    assert api.call("POST", "/v1/auth/logout", token=first["access_token"]).status == 204
    assert services.redis.delete(f"whatsam:chain:{family_id}") == 1
    check_error(api.call("GET", "/v1/me", token=first["access_token"]), 401, "token_revoked")
    assert services.redis.get(f"whatsam:chain:{family_id}") == "revoked", "read through and cached again"

    # A live chain read through after the cache lost it still works.
    second = api.register()
    live_family = jwt.decode(second["access_token"], options={"verify_signature": False})["fam"]
    services.redis.delete(f"whatsam:chain:{live_family}")
    assert api.call("GET", "/v1/me", token=second["access_token"]).status == 200


def test_a_revocation_wins_over_a_read_that_raced_it(services: Any) -> None:
    """A read of DynamoDB from before the revocation must not cache the chain as active again."""
    from whatsam.adapters.token_chains import TokenChains

    family_id = f"fam_{uuid.uuid4().hex}"
    families = RefreshTokenRepository()
    families.start_family(family_id, "usr_race", int(time.time()) + 900)
    chains = TokenChains(services.redis, families, 900)

    class RevokedWhileReading(RefreshTokenRepository):
        """DynamoDB answers "not revoked", then the revocation lands before that answer is cached."""

        def family_revoked(self, family_id: str) -> bool:
            answer = super().family_revoked(family_id)
            chains.revoke(family_id)
            return answer

    assert TokenChains(services.redis, RevokedWhileReading(), 900).is_revoked(family_id) is False
    assert chains.is_revoked(family_id) is True
    assert services.redis.get(f"whatsam:chain:{family_id}") == "revoked"


def test_tampered_or_garbage_tokens_are_401(api: Any, settings: Any, check_error: Any) -> None:
    registered = api.register()
    access = registered["access_token"]
    head, payload, signature = access.split(".")
    flipped_sig = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    claims = jwt.decode(access, options={"verify_signature": False})
    forged_payload = jwt.encode({**claims, "role": "admin"}, "guessed-secret-" * 4, algorithm="HS256").split(".")[1]
    for bad in (f"{head}.{payload}.{flipped_sig}", f"{head}.{forged_payload}.{signature}", "garbage",
                "a.b.c", access + "x"):
        check_error(api.call("GET", "/v1/me", token=bad), 401, "invalid_token")
    # Right secret, but for a user that does not exist (on a chain that does).
    family_id = f"fam_{uuid.uuid4().hex}"
    RefreshTokenRepository().start_family(family_id, "usr_doesnotexist", int(time.time()) + 900)
    ghost, _ = tokens.issue_access_token(settings, user_id="usr_doesnotexist", role="admin", family_id=family_id)
    check_error(api.call("GET", "/v1/me", token=ghost), 401, "invalid_token")
    # Right secret, but a chain that never existed.
    stray, _ = tokens.issue_access_token(settings, user_id=registered["user"]["id"], role="user", family_id="fam_x")
    check_error(api.call("GET", "/v1/me", token=stray), 401, "token_revoked")
    # Expired.
    past = int(time.time()) - 2000
    expired = jwt.encode({**claims, "iat": past, "nbf": past, "exp": past + 900}, settings.jwt_secret,
                         algorithm="HS256")
    check_error(api.call("GET", "/v1/me", token=expired), 401, "token_expired")
    # Refresh tokens: garbage, wrong prefix, a well-formed but unknown one, and an access token.
    refresh = registered["refresh_token"]
    altered = refresh[:-1] + ("Q" if refresh[-1] != "Q" else "R")
    for bad in ("garbage", "wrt_" + "A" * 43, altered, access):
        check_error(_refresh(api, bad), 401, "invalid_refresh_token")
    assert _refresh(api, registered["refresh_token"]).status == 200


def test_deactivated_account(api: Any, services: Any, check_error: Any) -> None:
    email = _email("inactive")
    registered = api.register(email=email)
    services.users.update_plan(registered["user"]["id"], active=False)
    check_error(_login(api, email), 403, "account_inactive")
    check_error(api.call("GET", "/v1/me", token=registered["access_token"]), 403, "account_inactive")
    check_error(_refresh(api, registered["refresh_token"]), 401)
    # Every login of the account is refused, not just the first one's tokens.
    services.users.update_plan(registered["user"]["id"], active=True)
    second = _login(api, email).body
    services.users.update_plan(registered["user"]["id"], active=False)
    check_error(api.call("GET", "/v1/sessions", token=second["access_token"]), 403, "account_inactive")
    check_error(_refresh(api, second["refresh_token"]), 401)
