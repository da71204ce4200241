"""Usage, billing and admin through `whatsam dev`, as an operator and a customer would: the
admin created with the CLI against the running stack, admin routes over HTTP, traffic counted
in the stack's Redis, folded by an on-demand `whatsam usage sync`, then usage and billing."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis

from tests.e2e.conftest import DevProcess, module_stack
from whatsam.metering.counters import Metric, UsageCounters, epoch_hour

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery"


stack = module_stack("billing", "--workers", "0")


def _cli(stack: DevProcess, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """`whatsam …` in another terminal: same environment, no AWS_ENDPOINT_URL or WHATSAM_* of its own."""
    return subprocess.run([sys.executable, "-m", "whatsam.cli", *args], env=stack.env, input=stdin,
                          capture_output=True, text=True, timeout=120, check=False)


def _ok(reply: tuple[int, Any, dict[str, str]], status: int = 200) -> Any:
    assert reply[0] == status, reply[:2]
    return reply[1]


def test_operator_and_customer_walkthrough(stack: DevProcess) -> None:
    admin_email = f"ops-{uuid.uuid4().hex[:8]}@example.com"
    created = _cli(stack, "admin", "create-user", "--email", admin_email, "--name", "Ops", "--password-stdin",
                   stdin=PASSWORD + "\n")
    assert created.returncode == 0, created.stderr
    assert "the running `whatsam dev`" in created.stderr
    assert json.loads(created.stdout.strip().splitlines()[-1])["role"] == "admin"
    again = _cli(stack, "admin", "create-user", "--email", admin_email, "--password-stdin", stdin="other pass 123\n")
    assert again.returncode == 1 and "already exists" in again.stderr
    short = _cli(stack, "admin", "create-user", "--email", "x@example.com", "--password-stdin", stdin="short\n")
    assert short.returncode == 2 and "password" in short.stderr

    admin = _ok(stack.request("POST", "/v1/auth/login", {"email": admin_email, "password": PASSWORD}))
    assert admin["user"]["role"] == "admin"
    admin_token = admin["access_token"]

    customer = _ok(stack.request("POST", "/v1/auth/register",
                                 {"email": f"{uuid.uuid4().hex[:10]}@example.com", "password": PASSWORD}), 201)
    token, user_id = customer["access_token"], customer["user"]["id"]
    card = _ok(stack.request("POST", "/v1/sessions", {"name": "Sales"}, token=token), 201)
    assert stack.request("GET", "/v1/admin/stats", token=token)[0] == 403

    stats = _ok(stack.request("GET", "/v1/admin/stats", token=admin_token))
    assert stats["users"]["total"] >= 2 and stats["users"]["admins"] >= 1
    assert stats["sessions"]["by_status"].get("disconnected", 0) >= 1

    plan = _ok(stack.request("PATCH", f"/v1/admin/users/{user_id}", {"tier": "PRO"}, token=admin_token))
    assert plan["tier"] == "PRO"
    assert _ok(stack.request("GET", "/v1/me", token=token))["tier"] == "PRO"
    listed = _ok(stack.request("GET", "/v1/admin/sessions", token=admin_token))
    assert card["id"] in {s["id"] for s in listed["sessions"]}

    # Traffic, counted in the stack's Redis as the hot path counts it: two hours ago (a closed
    # hour the sync folds) and now (live until its hour closes).
    now = time.time()
    past = now - 2 * 3600
    counters = UsageCounters(redis.Redis.from_url(stack.banner["Redis"], decode_responses=True))
    counters.add(user_id, Metric.MESSAGES_SENT, 120, session_id=card["id"], at=past)
    counters.add(user_id, Metric.MESSAGES_RECEIVED, 15, session_id=card["id"], at=past)
    counters.add(user_id, Metric.MESSAGES_SENT, 30, session_id=card["id"], at=now)

    synced = _cli(stack, "usage", "sync")
    assert synced.returncode == 0, synced.stderr
    assert json.loads(synced.stdout)["folded"] >= 1
    assert "folded" not in synced.stderr, "the report is printed once, on stdout"
    assert counters.members(epoch_hour(past)) == [], "the closed hour was folded and forgotten"
    assert counters.members(epoch_hour(now)) != [], "the current hour stays in Redis"

    past_day = datetime.fromtimestamp(past, UTC).date()
    today = datetime.fromtimestamp(now, UTC).date()
    usage = _ok(stack.request("GET", f"/v1/usage?from={past_day}&to={today}&session_id={card['id']}", token=token))
    assert (usage["totals"]["messages_sent"], usage["totals"]["messages_received"]) == (150, 15)

    this_month = datetime.fromtimestamp(now, UTC).strftime("%Y-%m")
    in_month = 30 + (120 if datetime.fromtimestamp(past, UTC).strftime("%Y-%m") == this_month else 0)
    billing = _ok(stack.request("GET", "/v1/billing", token=token))
    assert billing["month"] == this_month and billing["plan"]["tier"] == "PRO"
    assert billing["usage"]["messages_sent"] == in_month
    # PRO: 29.00 base, 20,000 messages included: no overage.
    assert (billing["charges"]["total"], billing["charges"]["total_cents"]) == ("29.00", 2900)

    stats = _ok(stack.request("GET", "/v1/admin/stats", token=admin_token))
    assert stats["messages_today"]["sent"] >= (150 if past_day == today else 30)

    # The monthly close runs on demand too (customers who signed up this month get no
    # statement for the last one).
    closed = _cli(stack, "billing", "close")
    assert closed.returncode == 0, closed.stderr
    report = json.loads(closed.stdout)["close"]
    assert "folded" not in closed.stderr and "not_yet_customers" not in closed.stderr, "printed once, on stdout"
    last_month = (datetime.fromtimestamp(now, UTC).replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    assert report["month"] == last_month and report["closed"] == 0
    assert _ok(stack.request("GET", "/v1/billing/statements", token=token)) == {"statements": []}
