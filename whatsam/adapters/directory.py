"""Operator-side reads across tenants: pages of users and sessions, counts by status, every
user for the monthly close. Scans: fine for admin screens and a monthly job, never on a
customer's hot path."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from pynamodb.expressions.condition import Condition

from whatsam.adapters.cursors import decode_cursor, encode_cursor, start_key
from whatsam.adapters.dynamo_models import SessionModel, UserModel
from whatsam.adapters.repositories import _card, _user
from whatsam.domain.model import SessionCard, User

_PAGE_SIZE = 100


def _start(cursor: str | None, key_name: str) -> dict[str, dict[str, str]] | None:
    return start_key(decode_cursor(cursor, (key_name,))) if cursor else None


def _page(items: Iterator[Any], limit: int, key_name: str) -> tuple[list[Any], str | None]:
    """Up to `limit` items, and a cursor when there are more. One item past the page is read
    so the last page never carries a cursor to an empty one."""
    taken: list[Any] = []
    for item in items:
        if len(taken) == limit:
            return taken, encode_cursor({key_name: getattr(taken[-1], key_name)})
        taken.append(item)
    return taken, None


class Directory:
    def users_page(self, *, limit: int, cursor: str | None) -> tuple[list[User], str | None]:
        items = UserModel.scan(page_size=_PAGE_SIZE, consistent_read=True,
                               last_evaluated_key=_start(cursor, "user_id"))
        page, next_cursor = _page(iter(items), limit, "user_id")
        return [_user(item) for item in page], next_cursor

    def all_users(self) -> Iterator[User]:
        for item in UserModel.scan(page_size=_PAGE_SIZE):
            yield _user(item)

    def sessions_page(self, *, worker_id: str | None, limit: int,
                      cursor: str | None) -> tuple[list[SessionCard], str | None]:
        condition: Condition | None = (SessionModel.worker_id == worker_id) if worker_id else None
        items = SessionModel.scan(filter_condition=condition, page_size=_PAGE_SIZE, consistent_read=True,
                                  last_evaluated_key=_start(cursor, "session_id"))
        page, next_cursor = _page(iter(items), limit, "session_id")
        return [_card(item) for item in page], next_cursor

    def user_counts(self) -> dict[str, Any]:
        total, active, admins = 0, 0, 0
        tiers: Counter[str] = Counter()
        for item in UserModel.scan(page_size=_PAGE_SIZE, attributes_to_get=["role", "tier", "active"]):
            total += 1
            active += bool(item.active)
            admins += item.role == "admin"
            tiers[item.tier] += 1
        return {"total": total, "active": active, "inactive": total - active, "admins": admins,
                "by_tier": dict(sorted(tiers.items()))}

    def session_counts(self) -> dict[str, Any]:
        statuses: Counter[str] = Counter(
            item.status for item in SessionModel.scan(page_size=_PAGE_SIZE, attributes_to_get=["status"]))
        return {"total": sum(statuses.values()), "by_status": dict(sorted(statuses.items()))}
