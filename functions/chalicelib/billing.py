"""Usage and billing (JWT, the caller's own only), and the scheduled usage sync and monthly close."""

from typing import Any

from chalice import Blueprint, Cron

from whatsam.bootstrap import container
from whatsam.domain.model import utcnow
from whatsam.http.endpoint import Call, endpoint
from whatsam.http.params import Query, id_query
from whatsam.metering.periods import parse_day_range, parse_month
from whatsam.metering.totals import total

bp = Blueprint(__name__)


@bp.schedule("rate(1 hour)")
def sync_usage(event: Any) -> dict:
    return container().billing.sync.run().to_dict()


# 00:30 UTC on the 1st: the previous month's last hour is closed (past the sync's grace) by
# then. The sync runs first, so every count of that month is folded before it is closed.
@bp.schedule(Cron(30, 0, 1, "*", "?", "*"))
def close_month(event: Any) -> dict:
    billing = container().billing
    synced = billing.sync.run()
    return {"sync": synced.to_dict(), "close": billing.close.close_previous_month().to_dict()}


_DAY = "[0-9]{4}-[0-9]{2}-[0-9]{2}"
USAGE_FROM = Query("from", "First day, YYYY-MM-DD (default: 30 days before `to`)", max_length=10, pattern=_DAY,
                   rule="a date written YYYY-MM-DD")
USAGE_TO = Query("to", "Last day, YYYY-MM-DD (default: today)", max_length=10, pattern=_DAY,
                 rule="a date written YYYY-MM-DD")
USAGE_SESSION = id_query("session_id", "Only this session's usage", "session_id")


@endpoint(bp, "GET", "/v1/usage", summary="Daily usage (`?from=&to=` YYYY-MM-DD, `&session_id=`)", tag="billing",
          auth="user", errors=(400, 404), query=(USAGE_FROM, USAGE_TO, USAGE_SESSION))
def get_usage(call: Call) -> dict:
    owner = call.user.user
    start, end = parse_day_range(USAGE_FROM.read(call.request), USAGE_TO.read(call.request), today=utcnow().date())
    session_id = USAGE_SESSION.read(call.request)
    days = container().billing.usage.daily(owner, start, end, session_id=session_id)
    return {"from": start.isoformat(), "to": end.isoformat(), "session_id": session_id, "timezone": "UTC",
            "days": [{"date": d.day.isoformat(), **d.totals.to_dict()} for d in days],
            "totals": total(d.totals for d in days).to_dict()}


@endpoint(bp, "GET", "/v1/billing", summary="Plan, limits, month-to-date usage and charges", tag="billing",
          auth="user")
def get_billing(call: Call) -> dict:
    return container().billing.billing.month_to_date(call.user.user)


@endpoint(bp, "GET", "/v1/billing/statements", summary="Closed monthly statements, newest first", tag="billing",
          auth="user")
def list_statements(call: Call) -> dict:
    return {"statements": container().billing.billing.statements(call.user.user)}


@endpoint(bp, "GET", "/v1/billing/statements/{month}", summary="One closed month (YYYY-MM)", tag="billing",
          auth="user", errors=(400, 404))
def get_statement(call: Call, month: str) -> dict:
    return container().billing.billing.statement(call.user.user, parse_month(month))


@endpoint(bp, "POST", "/v1/admin/usage/sync", summary="Run the usage sync now (what the hourly schedule runs)",
          tag="admin", auth="admin")
def run_usage_sync(call: Call) -> dict:
    return container().billing.sync.run().to_dict()
