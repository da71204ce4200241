"""Billing after a scripted month of traffic matches a statement computed by hand; statements
are immutable; GET /v1/usage and GET /v1/billing over HTTP (the Chalice app in process)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.integration.billing.conftest import Traffic, utc
from whatsam.bootstrap import Container
from whatsam.domain.ids import new_id
from whatsam.domain.model import User
from whatsam.domain.pricing import TierPrice
from whatsam.domain.tiers import Tier
from whatsam.errors import Conflict
from whatsam.metering.counters import Metric
from whatsam.metering.periods import Month
from whatsam.security import passwords

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery"


def _customer_since(services: Container, created_at: datetime, tier: Tier) -> User:
    """A user who signed up back then (the API only creates users now)."""
    user = User(user_id=new_id("usr"), email=f"{uuid.uuid4().hex[:10]}@example.com", name="Scripted",
                password_hash=passwords.hash_password(PASSWORD), tier=tier, created_at=created_at)
    services.users.add(user)
    return user


def _login(api: Any, email: str) -> str:
    reply = api.call("POST", "/v1/auth/login", json_body={"email": email, "password": PASSWORD})
    assert reply.status == 200, reply.body
    return str(reply.body["access_token"])


def _script_february_2024(traffic: Traffic, user_id: str) -> None:
    """The month, by hand (UTC):
    - ses_a, every day of February 2024 (29 days), at 08:15, 12:15 and 20:15: 250 sent and
      60 connected minutes each time -> 29 x 3 x 250 = 21,750 sent; 29 x 3 x 60 = 5,220 minutes;
    - ses_b, on the 1st to the 10th at 15:40: 40 sent, 100 received -> 400 sent, 1,000 received;
    - no session (dashboard calls), every day at 09:05: 120 API calls -> 3,480;
    - just outside the month: 1,000 sent on 31 January 23:59:59 and 500 on 1 March 00:00:00.
    Sent in February: 21,750 + 400 = 22,150."""
    for day in range(1, 30):
        for hour in (8, 12, 20):
            at = utc(2024, 2, day, hour, 15)
            traffic.add(user_id, Metric.MESSAGES_SENT, 250, session_id="ses_a", at=at)
            traffic.add(user_id, Metric.SESSION_MINUTES, 60, session_id="ses_a", at=at)
        traffic.add(user_id, Metric.API_CALLS, 120, session_id=None, at=utc(2024, 2, day, 9, 5))
        if day <= 10:
            traffic.add(user_id, Metric.MESSAGES_SENT, 40, session_id="ses_b", at=utc(2024, 2, day, 15, 40))
            traffic.add(user_id, Metric.MESSAGES_RECEIVED, 100, session_id="ses_b", at=utc(2024, 2, day, 15, 40))
    traffic.add(user_id, Metric.MESSAGES_SENT, 1_000, session_id="ses_a", at=utc(2024, 1, 31, 23, 59, 59))
    traffic.add(user_id, Metric.MESSAGES_SENT, 500, session_id="ses_a", at=utc(2024, 3, 1, 0, 0, 0))


# PRO: 29.00 a month, 20,000 messages included, 0.005 per message beyond.
# 22,150 sent - 20,000 included = 2,150 x 0.005 = 10.75; total 29.00 + 10.75 = 39.75.
FEBRUARY_2024_STATEMENT = {
    "month": "2024-02",
    "period": {"from": "2024-02-01", "to": "2024-02-29"},
    "plan": {"tier": "PRO", "monthly_base": "29.00", "included_messages": 20000, "overage_per_message": "0.005",
             "currency": "USD"},
    "usage": {"messages_sent": 22150, "messages_received": 1000, "api_calls": 3480, "session_minutes": 5220},
    "billable_messages": 22150,
    "charges": {
        "currency": "USD",
        "line_items": [
            {"code": "base", "description": "PRO plan, monthly base", "quantity": 1, "unit_price": "29.00",
             "amount": "29.00", "amount_cents": 2900},
            {"code": "included_messages", "description": "Messages sent, 20,000 included in the plan",
             "quantity": 20000, "unit_price": "0", "amount": "0.00", "amount_cents": 0},
            {"code": "overage_messages", "description": "Messages sent beyond the 20,000 included",
             "quantity": 2150, "unit_price": "0.005", "amount": "10.75", "amount_cents": 1075},
        ],
        "total": "39.75",
        "total_cents": 3975,
    },
}


def test_the_price_table_is_the_one_the_statements_below_were_computed_with(services: Container) -> None:
    prices = services.settings.prices
    assert prices.currency == "USD"
    assert prices.for_tier(Tier.BASIC) == TierPrice(Decimal("0.00"), 1_000, Decimal("0.01"))
    assert prices.for_tier(Tier.PRO) == TierPrice(Decimal("29.00"), 20_000, Decimal("0.005"))


def test_a_scripted_month_closes_into_the_hand_computed_statement(api: Any, services: Container, traffic: Traffic,
                                                                  check_error: Any) -> None:
    billing = services.billing
    user = _customer_since(services, utc(2024, 1, 15, 10), Tier.PRO)
    _script_february_2024(traffic, user.user_id)
    february = Month(2024, 2)

    # Before the sync the counts are only in Redis: the month cannot be closed on them.
    with pytest.raises(Conflict) as refused:
        billing.close.close(february)
    assert refused.value.code == "usage_not_folded"
    token = _login(api, user.email)
    check_error(api.call("GET", "/v1/billing/statements/2024-02", token=token), 404, "statement_not_found")

    billing.sync.run()
    assert billing.billing.summary(user, february, include_live=False).to_dict() == FEBRUARY_2024_STATEMENT
    report = billing.close.close(february)
    assert report.closed >= 1

    reply = api.call("GET", "/v1/billing/statements/2024-02", token=token)
    assert reply.status == 200, reply.body
    statement = reply.body
    closed_at = statement.pop("closed_at")
    assert statement == {**FEBRUARY_2024_STATEMENT, "user_id": user.user_id, "status": "closed"}
    listed = api.call("GET", "/v1/billing/statements", token=token)
    assert listed.status == 200 and [s["month"] for s in listed.body["statements"]] == ["2024-02"]

    # Daily usage of the month, from the same records: 29 days, summing to the statement's usage.
    usage = api.call("GET", "/v1/usage?from=2024-02-01&to=2024-02-29", token=token)
    assert usage.status == 200, usage.body
    assert len(usage.body["days"]) == 29
    assert usage.body["totals"] == FEBRUARY_2024_STATEMENT["usage"]
    assert usage.body["days"][0] == {"date": "2024-02-01", "messages_sent": 790, "messages_received": 100,
                                     "api_calls": 120, "session_minutes": 180}
    assert usage.body["days"][-1] == {"date": "2024-02-29", "messages_sent": 750, "messages_received": 0,
                                      "api_calls": 120, "session_minutes": 180}

    # Immutable: late counts for February reach the usage records, never the closed statement.
    traffic.add(user.user_id, Metric.MESSAGES_SENT, 5_000, session_id="ses_a", at=utc(2024, 2, 20, 11))
    with pytest.raises(Conflict):
        billing.close.close(february)
    billing.sync.run()
    again = billing.close.close(february)
    assert (again.closed, again.already_closed) == (0, 1)
    after = api.call("GET", "/v1/billing/statements/2024-02", token=token).body
    assert after["closed_at"] == closed_at and after["charges"]["total"] == "39.75"
    assert api.call("GET", "/v1/usage?from=2024-02-01&to=2024-02-29",
                    token=token).body["totals"]["messages_sent"] == 27150


def test_a_month_not_over_cannot_be_closed(services: Container) -> None:
    with pytest.raises(Conflict) as refused:
        services.billing.close.close(Month.of(datetime.now(UTC)))
    assert refused.value.code == "month_not_over"


def test_closing_writes_no_statement_for_users_who_signed_up_later(services: Container, api: Any) -> None:
    services.billing.sync.run()
    user = _customer_since(services, utc(2024, 5, 2), Tier.BASIC)
    report = services.billing.close.close(Month(2024, 4))
    assert report.not_yet_customers >= 1
    token = _login(api, user.email)
    assert api.call("GET", "/v1/billing/statements/2024-04", token=token).status == 404
    assert api.call("GET", "/v1/billing/statements", token=token).body == {"statements": []}


def test_month_to_date_billing_adds_live_and_folded_usage(api: Any, services: Container, traffic: Traffic,
                                                         new_account: Any) -> None:
    account = new_account()
    user = services.users.get(account.user_id)
    assert user is not None
    card = api.call("POST", "/v1/sessions", json_body={"name": "mtd"}, token=account.access_token).body
    now = datetime.now(UTC)
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    # BASIC: 0.00 base, 1,000 included, 0.01 each beyond. 700 + 450 = 1,150 sent:
    # 150 x 0.01 = 1.50.
    traffic.add(user.user_id, Metric.MESSAGES_SENT, 700, session_id=card["id"], at=month_start)
    traffic.add(user.user_id, Metric.MESSAGES_SENT, 450, session_id=card["id"], at=now)
    traffic.add(user.user_id, Metric.MESSAGES_RECEIVED, 30, session_id=card["id"], at=now)
    traffic.add(user.user_id, Metric.MESSAGES_SENT, 9_999, session_id=card["id"], at=month_start - timedelta(seconds=1))

    def billing() -> dict[str, Any]:
        reply = api.call("GET", "/v1/billing", token=account.access_token)
        assert reply.status == 200, reply.body
        return dict(reply.body)

    first = billing()
    assert first["status"] == "open" and first["month"] == f"{now:%Y-%m}"
    assert first["plan"] == {"tier": "BASIC", "monthly_base": "0.00", "included_messages": 1000,
                             "overage_per_message": "0.01", "currency": "USD"}
    assert first["limits"] == {"sessions": 1, "messages_per_hour": 100, "api_calls_per_hour": 1000}
    assert (first["usage"]["messages_sent"], first["usage"]["messages_received"]) == (1150, 30)
    assert first["charges"]["line_items"][2] == {
        "code": "overage_messages", "description": "Messages sent beyond the 1,000 included", "quantity": 150,
        "unit_price": "0.01", "amount": "1.50", "amount_cents": 150}
    assert (first["charges"]["total"], first["charges"]["total_cents"]) == ("1.50", 150)

    services.billing.sync.run()   # folds what is closed (the month's first hour, unless that is now)
    second = billing()
    assert second["usage"]["messages_sent"] == 1150 and second["charges"]["total"] == "1.50"


def test_usage_by_session_and_tenant_isolation(api: Any, services: Container, traffic: Traffic, new_account: Any,
                                               check_error: Any) -> None:
    owner, other = new_account(), new_account()
    card = api.call("POST", "/v1/sessions", json_body={"name": "usage"}, token=owner.access_token).body
    foreign = api.call("POST", "/v1/sessions", json_body={"name": "theirs"}, token=other.access_token).body
    at = utc(2025, 3, 3, 10)
    traffic.add(owner.user_id, Metric.MESSAGES_SENT, 11, session_id=card["id"], at=at)
    traffic.add(owner.user_id, Metric.MESSAGES_SENT, 5, session_id="ses_deleted_long_ago", at=at)
    traffic.add(owner.user_id, Metric.API_CALLS, 3, session_id=None, at=at + timedelta(days=1))
    services.billing.sync.run()

    whole = api.call("GET", "/v1/usage?from=2025-03-02&to=2025-03-04", token=owner.access_token)
    assert whole.status == 200, whole.body
    assert [d["date"] for d in whole.body["days"]] == ["2025-03-02", "2025-03-03", "2025-03-04"]
    assert [d["messages_sent"] for d in whole.body["days"]] == [0, 16, 0]
    assert [d["api_calls"] for d in whole.body["days"]] == [0, 0, 3]

    one = api.call("GET", f"/v1/usage?from=2025-03-02&to=2025-03-04&session_id={card['id']}",
                   token=owner.access_token)
    assert one.status == 200 and one.body["session_id"] == card["id"]
    assert one.body["totals"] == {"messages_sent": 11, "messages_received": 0, "api_calls": 0, "session_minutes": 0}

    for session_id in (foreign["id"], "ses_nope"):
        check_error(api.call("GET", f"/v1/usage?session_id={session_id}", token=owner.access_token), 404,
                    "session_not_found")
    # The other tenant sees none of the owner's usage.
    theirs = api.call("GET", "/v1/usage?from=2025-03-02&to=2025-03-04", token=other.access_token)
    assert theirs.body["totals"]["messages_sent"] == 0

    default = api.call("GET", "/v1/usage", token=owner.access_token)
    assert default.status == 200 and len(default.body["days"]) == 30
    assert default.body["to"] == datetime.now(UTC).date().isoformat()


@pytest.mark.parametrize("query", [
    "from=2024-13-01", "from=2024-02-30", "to=2024-1-1", "from=yesterday", "to=20240101", "from=2024-02-01T00:00",
    "from=2024-03-02&to=2024-03-01", "from=2024-01-01&to=2024-04-04", "from=%00",
])
def test_bad_usage_ranges_are_400(api: Any, new_account: Any, check_error: Any, query: str) -> None:
    owner = new_account()
    check_error(api.call("GET", f"/v1/usage?{query}", token=owner.access_token), 400, "invalid_query")


def test_bad_statement_months_and_no_token(api: Any, new_account: Any, check_error: Any) -> None:
    owner = new_account()
    for month in ("2024-13", "24-02", "2024-2", "february", "1999-12"):
        check_error(api.call("GET", f"/v1/billing/statements/{month}", token=owner.access_token), 400,
                    "invalid_month")
    check_error(api.call("GET", "/v1/billing/statements/2024-01", token=owner.access_token), 404,
                "statement_not_found")
    for path in ("/v1/usage", "/v1/billing", "/v1/billing/statements", "/v1/billing/statements/2024-01"):
        check_error(api.call("GET", path), 401)
