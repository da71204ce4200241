"""Admin routes: stats, users (tier, active), sessions by worker, the on-demand usage sync.
Only role `admin` gets in; a deactivated user's tokens, API keys and refresh tokens stop working."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from tests.integration.billing.conftest import Traffic, new_user_id, utc
from whatsam.adapters.repositories import SessionRepository
from whatsam.adapters.workers import WorkerInfo
from whatsam.bootstrap import Container
from whatsam.domain.model import utcnow
from whatsam.domain.tiers import Tier
from whatsam.errors import Conflict
from whatsam.metering.counters import Metric
from whatsam.metering.periods import hour_of
from whatsam.metering.usage_sync import UsageSync
from whatsam.services.admin import create_admin_user

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery"


@pytest.fixture
def admin_token(api: Any, services: Container) -> str:
    email = f"admin-{uuid.uuid4().hex[:8]}@example.com"
    create_admin_user(services.users, email=email, password=PASSWORD, name="Ops")
    reply = api.call("POST", "/v1/auth/login", json_body={"email": email, "password": PASSWORD})
    assert reply.status == 200 and reply.body["user"]["role"] == "admin", reply.body
    return str(reply.body["access_token"])


def _register_worker(services: Container, status: str = "online") -> str:
    worker_id = f"w-admin-{uuid.uuid4().hex[:8]}"
    now = utcnow()
    services.workers.register(WorkerInfo(worker_id=worker_id, status=status, endpoint="http://10.0.0.9:8080",
                                         inbox_url="", capacity=5, version="test", engine="simulated",
                                         started_at=now, last_heartbeat=now))
    return worker_id


ADMIN_ROUTES = [("GET", "/v1/admin/stats", None), ("GET", "/v1/admin/users", None),
                ("PATCH", "/v1/admin/users/usr_x", {"tier": "PRO"}), ("GET", "/v1/admin/sessions", None),
                ("POST", "/v1/admin/usage/sync", None)]


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES)
def test_admin_routes_refuse_customers_and_strangers(api: Any, new_account: Any, check_error: Any, method: str,
                                                     path: str, body: Any) -> None:
    customer = new_account()
    check_error(api.call(method, path, json_body=body, token=customer.access_token), 403, "admin_required")
    check_error(api.call(method, path, json_body=body), 401)


def test_a_duplicate_admin_email_is_refused_and_changes_nothing(services: Container) -> None:
    email = f"dup-{uuid.uuid4().hex[:8]}@example.com"
    first = create_admin_user(services.users, email=email, password=PASSWORD)
    with pytest.raises(Conflict) as refused:
        create_admin_user(services.users, email=email, password="another password", tier=Tier.MAX)
    assert refused.value.code == "email_taken"
    assert services.users.get_by_email(email) == first


def test_stats(api: Any, services: Container, admin_token: str, new_account: Any, traffic: Traffic) -> None:
    owner = new_account()
    api.call("POST", "/v1/sessions", json_body={"name": "stats"}, token=owner.access_token)
    _register_worker(services, "online")
    _register_worker(services, "draining")

    def stats() -> dict[str, Any]:
        reply = api.call("GET", "/v1/admin/stats", token=admin_token)
        assert reply.status == 200, reply.body
        return dict(reply.body)

    before = stats()
    assert before["users"]["total"] >= 2 and before["users"]["admins"] >= 1
    assert before["users"]["total"] == before["users"]["active"] + before["users"]["inactive"]
    assert sum(before["users"]["by_tier"].values()) == before["users"]["total"]
    assert before["sessions"]["by_status"].get("disconnected", 0) >= 1
    assert sum(before["sessions"]["by_status"].values()) == before["sessions"]["total"]
    assert before["workers"]["by_status"].get("online", 0) >= 1
    assert before["workers"]["by_status"].get("draining", 0) >= 1
    assert before["messages_today"]["date"] == utcnow().date().isoformat()

    traffic.add(owner.user_id, Metric.MESSAGES_SENT, 7, session_id="ses_s", at=utcnow())
    traffic.add(owner.user_id, Metric.MESSAGES_RECEIVED, 3, session_id="ses_s", at=utcnow())
    after = stats()
    assert after["messages_today"]["sent"] - before["messages_today"]["sent"] == 7
    assert after["messages_today"]["received"] - before["messages_today"]["received"] == 3


def test_messages_of_a_day_count_folded_claimed_and_live_usage_once(services: Container, traffic: Traffic) -> None:
    """The platform's day = its folded records + the platform bucket + unclaimed buckets, at
    every stage of a sync: before, with an hour folded and one still open, and after."""
    day = utc(2025, 2, 20)
    user_a, user_b = new_user_id(), new_user_id()
    traffic.add(user_a, Metric.MESSAGES_SENT, 10, session_id="ses_1", at=day + timedelta(hours=3))
    traffic.add(user_b, Metric.MESSAGES_SENT, 20, session_id=None, at=day + timedelta(hours=3, minutes=9))
    traffic.add(user_a, Metric.MESSAGES_RECEIVED, 4, session_id="ses_1", at=day + timedelta(hours=5))
    traffic.add(user_a, Metric.MESSAGES_SENT, 1, session_id="ses_1", at=day + timedelta(days=1))   # another day
    admin, counters, records = services.admin, services.billing.counters, services.billing.records

    def today() -> tuple[int, int]:
        totals = admin.messages_on(day.date())
        return totals.messages_sent, totals.messages_received

    assert today() == (30, 4)
    # Claimed but not folded yet (its run died): counted once, through the platform bucket.
    later = (day + timedelta(hours=5, minutes=30)).timestamp()
    assert counters.claim(hour_of(day) + 3, f"{user_a}:ses_1", lease_until=later - 1)
    assert today() == (30, 4)
    # Hour 3 folded (the dead run's lease is over by then), hour 5 not yet closed at that moment.
    UsageSync(counters, records, grace_seconds=300, clock=lambda: later).run()
    assert counters.pending_claims(hour_of(day) + 3) == []
    assert counters.members(hour_of(day) + 5) == [f"{user_a}:ses_1"]
    assert today() == (30, 4)
    services.billing.sync.run()
    assert today() == (30, 4)
    assert records.platform_day(day.date()).messages_sent == 30


def test_patch_user_tier_and_validation(api: Any, admin_token: str, new_account: Any, check_error: Any) -> None:
    customer = new_account()
    reply = api.call("PATCH", f"/v1/admin/users/{customer.user_id}", json_body={"tier": "PRO"}, token=admin_token)
    assert reply.status == 200, reply.body
    assert (reply.body["tier"], reply.body["limits"]["sessions"], reply.body["active"]) == ("PRO", 5, True)
    me = api.call("GET", "/v1/me", token=customer.access_token).body
    assert me["tier"] == "PRO"
    billing = api.call("GET", "/v1/billing", token=customer.access_token).body
    assert billing["plan"]["tier"] == "PRO" and billing["plan"]["monthly_base"] == "29.00"

    for body in ({}, {"tier": "GOLD"}, {"tier": "pro"}, {"active": "false"}, {"active": 0}, {"tier": None},
                 {"role": "admin"}, {"tier": "MAX", "extra": 1}):
        check_error(api.call("PATCH", f"/v1/admin/users/{customer.user_id}", json_body=body, token=admin_token),
                    400, "validation_error")
    check_error(api.call("PATCH", f"/v1/admin/users/{customer.user_id}", raw="{", token=admin_token), 400,
                "invalid_json")
    assert api.call("GET", "/v1/me", token=customer.access_token).body["tier"] == "PRO", "nothing half-written"
    check_error(api.call("PATCH", "/v1/admin/users/usr_nobody", json_body={"tier": "MAX"}, token=admin_token), 404,
                "user_not_found")


def test_an_admin_cannot_deactivate_themselves(api: Any, admin_token: str, check_error: Any) -> None:
    me = api.call("GET", "/v1/me", token=admin_token).body
    check_error(api.call("PATCH", f"/v1/admin/users/{me['id']}", json_body={"active": False}, token=admin_token),
                409, "cannot_deactivate_self")
    assert api.call("GET", "/v1/me", token=admin_token).status == 200


def test_a_deactivated_users_tokens_keys_and_refresh_stop_working(api: Any, admin_token: str, new_account: Any,
                                                                  check_error: Any) -> None:
    customer = new_account()
    card = api.call("POST", "/v1/sessions", json_body={"name": "to stop"}, token=customer.access_token).body
    key = card["api_key"]["key"]
    assert api.call("GET", "/v1/session", api_key=key).status == 200

    off = api.call("PATCH", f"/v1/admin/users/{customer.user_id}", json_body={"active": False}, token=admin_token)
    assert off.status == 200 and off.body["active"] is False
    check_error(api.call("GET", "/v1/me", token=customer.access_token), 403, "account_inactive")
    check_error(api.call("GET", "/v1/sessions", token=customer.access_token), 403, "account_inactive")
    check_error(api.call("GET", "/v1/session", api_key=key), 403, "account_inactive")
    check_error(api.call("POST", "/v1/auth/refresh", json_body={"refresh_token": customer.refresh_token}), 401,
                "invalid_refresh_token")
    check_error(api.call("POST", "/v1/auth/login", json_body={"email": customer.email,
                                                               "password": "correct horse battery"}),
                403, "account_inactive")

    on = api.call("PATCH", f"/v1/admin/users/{customer.user_id}", json_body={"active": True}, token=admin_token)
    assert on.status == 200 and on.body["active"] is True
    assert api.call("GET", "/v1/session", api_key=key).status == 200
    # The refresh chain tried while deactivated stays revoked, and with it that chain's access
    # tokens: a deactivation is never undone for a token issued before it. A new login works.
    check_error(api.call("POST", "/v1/auth/refresh", json_body={"refresh_token": customer.refresh_token}), 401)
    check_error(api.call("GET", "/v1/me", token=customer.access_token), 401, "token_revoked")
    again = api.call("POST", "/v1/auth/login", json_body={"email": customer.email, "password": "correct horse battery"})
    assert again.status == 200
    assert api.call("GET", "/v1/me", token=again.body["access_token"]).status == 200


def test_users_are_paged(api: Any, admin_token: str, new_account: Any, check_error: Any) -> None:
    created = {new_account().user_id for _ in range(3)}
    seen: list[str] = []
    cursor = None
    for _ in range(500):
        path = "/v1/admin/users?limit=2" + (f"&cursor={cursor}" if cursor else "")
        reply = api.call("GET", path, token=admin_token)
        assert reply.status == 200, reply.body
        assert len(reply.body["users"]) <= 2
        seen += [u["id"] for u in reply.body["users"]]
        cursor = reply.body["next_cursor"]
        if cursor is None:
            break
    assert created <= set(seen) and len(seen) == len(set(seen))
    assert all("password_hash" not in u for u in api.call("GET", "/v1/admin/users", token=admin_token).body["users"])
    for query in ("limit=0", "limit=201", "limit=x", "cursor=not-a-cursor", "cursor=eyJ4IjogMX0"):
        check_error(api.call("GET", f"/v1/admin/users?{query}", token=admin_token), 400)


def test_sessions_by_worker(api: Any, services: Container, admin_token: str, new_account: Any,
                            check_error: Any) -> None:
    owner = new_account()
    card = api.call("POST", "/v1/sessions", json_body={"name": "hosted"}, token=owner.access_token).body
    other = api.call("POST", "/v1/sessions", json_body={"name": "elsewhere"}, token=new_account().access_token).body
    worker_id = _register_worker(services)
    # The worker takes the session, as its `session.status` event would record it.
    cards = SessionRepository()
    before = cards.get(card["id"])
    assert before is not None
    hosted = replace(before, worker_id=worker_id, status_version=before.status_version + 1, updated_at=utcnow())
    assert cards.apply_event(before, hosted, seq=before.event_seq + 1)

    reply = api.call("GET", f"/v1/admin/sessions?worker={worker_id}", token=admin_token)
    assert reply.status == 200, reply.body
    assert [(s["id"], s["worker_id"], s["tenant_id"]) for s in reply.body["sessions"]] == [
        (card["id"], worker_id, owner.user_id)]
    assert reply.body["next_cursor"] is None

    everything: list[str] = []
    cursor = None
    for _ in range(500):
        page = api.call("GET", "/v1/admin/sessions?limit=3" + (f"&cursor={cursor}" if cursor else ""),
                        token=admin_token).body
        everything += [s["id"] for s in page["sessions"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert {card["id"], other["id"]} <= set(everything) and len(everything) == len(set(everything))

    check_error(api.call("GET", "/v1/admin/sessions?worker=w-nobody", token=admin_token), 404, "worker_not_found")
    check_error(api.call("GET", "/v1/admin/sessions?cursor=%%%", token=admin_token), 400, "invalid_cursor")


def test_usage_sync_on_demand(api: Any, admin_token: str, traffic: Traffic, services: Container) -> None:
    user_id = new_user_id()
    at = utc(2025, 2, 21, 8)
    traffic.add(user_id, Metric.MESSAGES_SENT, 12, session_id="ses_1", at=at)
    reply = api.call("POST", "/v1/admin/usage/sync", token=admin_token)
    assert reply.status == 200, reply.body
    assert reply.body["folded"] >= 1
    assert services.billing.records.platform_day(at.date()).messages_sent >= 12
    assert [h.totals.messages_sent for h in services.billing.records.hours(user_id, hour_of(at), hour_of(at) + 1)] \
        == [12]
