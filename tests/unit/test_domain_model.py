"""SessionCard.request_connect and the tier table."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from whatsam.domain.model import SessionCard, SessionStatus
from whatsam.domain.tiers import LIMITS, Tier, TierLimits, limits_for
from whatsam.errors import Conflict

NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def _card(status: SessionStatus, *, version: int = 3, updated: datetime = NOW) -> SessionCard:
    return SessionCard(session_id="ses_1", tenant_id="usr_1", name="n", status=status, status_version=version,
                       created_at=NOW - timedelta(days=1), updated_at=updated)


@pytest.mark.parametrize("status", [SessionStatus.DISCONNECTED, SessionStatus.LOGGED_OUT, SessionStatus.FAILED])
def test_connect_from_idle_moves_to_connecting(status: SessionStatus) -> None:
    card = _card(status, updated=NOW - timedelta(hours=1))
    after = card.request_connect(now=NOW)
    assert after is not None
    assert after.status is SessionStatus.CONNECTING
    assert after.status_version == 4
    assert after.updated_at == NOW
    assert (after.session_id, after.tenant_id, after.name) == (card.session_id, card.tenant_id, card.name)
    assert card.status is status and card.status_version == 3  # the original is untouched


@pytest.mark.parametrize("status", [SessionStatus.CONNECTING, SessionStatus.QR, SessionStatus.CONNECTED])
def test_connect_is_a_no_op_while_in_progress(status: SessionStatus) -> None:
    assert _card(status, updated=NOW - timedelta(seconds=30)).request_connect(now=NOW) is None


@pytest.mark.parametrize("status", [SessionStatus.QR, SessionStatus.CONNECTED])
def test_old_qr_or_connected_is_still_a_no_op(status: SessionStatus) -> None:
    assert _card(status, updated=NOW - timedelta(hours=5)).request_connect(now=NOW) is None


def test_stale_connecting_re_requests() -> None:
    card = _card(SessionStatus.CONNECTING, version=7, updated=NOW - timedelta(minutes=2, seconds=1))
    after = card.request_connect(now=NOW)
    assert after is not None
    assert after.status is SessionStatus.CONNECTING
    assert after.status_version == 8
    assert after.updated_at == NOW


def test_connecting_at_exactly_two_minutes_is_not_yet_stale() -> None:
    assert _card(SessionStatus.CONNECTING, updated=NOW - timedelta(minutes=2)).request_connect(now=NOW) is None


def test_banned_is_a_conflict() -> None:
    with pytest.raises(Conflict) as caught:
        _card(SessionStatus.BANNED).request_connect(now=NOW)
    assert caught.value.code == "session_banned"
    assert caught.value.status == 409
    assert caught.value.to_body()["error"]["code"] == "session_banned"


def test_default_now_is_the_clock() -> None:
    card = replace(_card(SessionStatus.DISCONNECTED), updated_at=datetime.now(UTC) - timedelta(days=1))
    before = datetime.now(UTC)
    after = card.request_connect()
    assert after is not None and before <= after.updated_at <= datetime.now(UTC)


def test_tier_limits_table() -> None:
    assert limits_for(Tier.BASIC) == TierLimits(sessions=1, messages_per_hour=100, api_calls_per_hour=1_000)
    assert limits_for(Tier.PRO) == TierLimits(sessions=5, messages_per_hour=1_000, api_calls_per_hour=10_000)
    assert limits_for(Tier.MAX) == TierLimits(sessions=20, messages_per_hour=10_000, api_calls_per_hour=100_000)
    assert set(LIMITS) == set(Tier)
    assert limits_for("PRO") == limits_for(Tier.PRO)


def test_unknown_tier_is_rejected() -> None:
    with pytest.raises(ValueError):
        limits_for("GOLD")
