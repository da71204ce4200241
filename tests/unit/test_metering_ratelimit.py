"""The limiter's maths outside Redis, the policy table (the real tier numbers, overrides), and
how a call's charges and headers are derived."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pytest

from whatsam.domain.model import ApiKey, User
from whatsam.domain.tiers import Tier
from whatsam.errors import TooManyRequests
from whatsam.http.rate_limits import Gate, account_subject, charges_for, client_ip, headers_for
from whatsam.metering.policies import MICROS, Policy, PolicyTable, RatePolicy, default_policy, parse_overrides
from whatsam.metering.ratelimit import Charge, Decision, Verdict, verdict
from whatsam.services.principals import KeyPrincipal, UserPrincipal

NOW = 1_700_000_000 * MICROS
TEN_PER_MINUTE = RatePolicy(Policy.LOGIN_IP, limit=10, window=60, burst=10)
T = TEN_PER_MINUTE.emission_interval_us  # 6 s


def _charge(policy: RatePolicy = TEN_PER_MINUTE, cost: int = 1) -> Charge:
    return Charge(policy, "subject", cost)


# ---------------------------------------------------------------- GCRA maths


def test_emission_interval_is_window_over_limit() -> None:
    assert T == 6 * MICROS
    assert RatePolicy(Policy.API_USER, 100_000, 3600, 100_000).emission_interval_us == 36_000


def test_a_fresh_take_leaves_burst_minus_one_and_is_whole_again_after_one_interval() -> None:
    v = verdict(_charge(), NOW + T, NOW, taken=True)
    assert (v.allowed, v.remaining, v.reset_after, v.retry_after) == (True, 9, 6, 0)


def test_an_empty_bucket_refuses_until_one_interval_has_passed() -> None:
    full_tat = NOW + 10 * T  # ten taken just now
    taken = verdict(_charge(), full_tat, NOW, taken=True)
    assert (taken.remaining, taken.reset_after) == (0, 60)
    refused = verdict(_charge(), full_tat, NOW, taken=False)
    assert (refused.allowed, refused.remaining, refused.retry_after) == (False, 0, 6)
    # 2.5 s later: 3.5 s to wait, rounded up to whole seconds (never 0 for a refusal).
    later = verdict(_charge(), full_tat, NOW + 2_500_000, taken=False)
    assert (later.allowed, later.retry_after, later.reset_after) == (False, 4, 58)
    assert verdict(_charge(), full_tat, NOW + T - 1, taken=False).retry_after == 1
    assert verdict(_charge(), full_tat, NOW + T, taken=False).allowed


def test_remaining_counts_whole_units_that_have_come_back() -> None:
    tat = NOW + 25 * T // 10  # 2.5 units in use
    v = verdict(_charge(), tat, NOW, taken=True)
    assert (v.remaining, v.reset_after) == (7, 15)


def test_a_bigger_charge_needs_room_for_all_of_it() -> None:
    tat = NOW + 8 * T  # two units left
    assert verdict(_charge(cost=2), tat, NOW, taken=False).allowed
    refused = verdict(_charge(cost=3), tat, NOW, taken=False)
    assert (refused.allowed, refused.retry_after) == (False, 6)


def test_refunds_always_fit() -> None:
    assert verdict(_charge(cost=-1), NOW + 10 * T, NOW, taken=False).allowed


def test_burst_smaller_than_limit_caps_what_passes_at_once() -> None:
    policy = RatePolicy(Policy.MESSAGES_KEY, limit=100, window=3600, burst=10)
    interval = policy.emission_interval_us
    assert verdict(_charge(policy), NOW + 10 * interval, NOW, taken=True).remaining == 0
    assert verdict(_charge(policy), NOW + 10 * interval, NOW, taken=False).retry_after == 36
    # Never more remaining than the burst, however long the client was idle.
    assert verdict(_charge(policy), NOW, NOW, taken=True).remaining == 10


def test_decision_retry_after_is_the_longest_wait_of_the_refusing_limits() -> None:
    def v(allowed: bool, retry: int) -> Verdict:
        return Verdict(TEN_PER_MINUTE, allowed, 0, 60, retry)

    decision = Decision(False, (v(True, 0), v(False, 6), v(False, 40)))
    assert decision.retry_after == 40 and len(decision.denied_by) == 2
    assert Decision(True, (v(True, 0),)).retry_after == 0


# ---------------------------------------------------------------- policies


@pytest.mark.parametrize(("tier", "messages", "api_calls"), [
    (Tier.BASIC, 100, 1_000), (Tier.PRO, 1_000, 10_000), (Tier.MAX, 10_000, 100_000)])
def test_tier_policies_are_the_spec_numbers(tier: Tier, messages: int, api_calls: int) -> None:
    table = PolicyTable()
    for name in (Policy.MESSAGES_KEY, Policy.MESSAGES_USER):
        assert table.get(name, tier) == RatePolicy(name, messages, 3600, messages)
    for name in (Policy.API_KEY, Policy.API_USER):
        assert table.get(name, tier) == RatePolicy(name, api_calls, 3600, api_calls)
    assert table.get(Policy.SESSION_OPS, tier) == RatePolicy(Policy.SESSION_OPS, 60, 60, 60)


def test_login_and_register_policies() -> None:
    table = PolicyTable()
    assert table.get(Policy.LOGIN_IP) == RatePolicy(Policy.LOGIN_IP, 10, 60, 10)
    assert table.get(Policy.LOGIN_ACCOUNT) == RatePolicy(Policy.LOGIN_ACCOUNT, 100, 3600, 100)
    # One account from one address: 5 at once, then one per 12 s, per 3 min after 10, per 36 min after 20.
    pair = [table.get(name) for name in (Policy.LOGIN_PAIR, Policy.LOGIN_PAIR_HOUR, Policy.LOGIN_PAIR_DAY)]
    assert [(p.burst, p.emission_interval_us // MICROS) for p in pair] == [(5, 12), (10, 180), (20, 2160)]
    assert table.get(Policy.REGISTER_IP) == RatePolicy(Policy.REGISTER_IP, 20, 3600, 20)
    # Tier-free policies ignore the tier they are asked with.
    assert table.get(Policy.LOGIN_IP, Tier.MAX) == table.get(Policy.LOGIN_IP)


def test_overrides_per_tier_win_over_overrides_for_every_tier() -> None:
    table = PolicyTable.from_text(" messages-key=50/600 , messages-key.PRO=7/60/3,login-ip=1000/60")
    assert table.get(Policy.MESSAGES_KEY, Tier.BASIC) == RatePolicy(Policy.MESSAGES_KEY, 50, 600, 50)
    assert table.get(Policy.MESSAGES_KEY, Tier.PRO) == RatePolicy(Policy.MESSAGES_KEY, 7, 60, 3)
    assert table.get(Policy.MESSAGES_USER, Tier.PRO) == default_policy(Policy.MESSAGES_USER, Tier.PRO)
    assert table.get(Policy.LOGIN_IP).limit == 1000
    assert PolicyTable.from_text("").get(Policy.API_KEY, Tier.MAX).limit == 100_000


@pytest.mark.parametrize("text", ["messages-key", "nope=1/60", "login-ip=1", "login-ip=a/60", "login-ip=0/60",
                                  "login-ip=5/60/0", "messages-key.GOLD=5/60", "login-ip.PRO=5/60",
                                  "login-ip=1/2/3/4"])
def test_malformed_overrides_are_refused_at_start_up(text: str) -> None:
    with pytest.raises(ValueError):
        parse_overrides(text)


# ---------------------------------------------------------------- charges and headers


USER = User(user_id="usr_1", email="a@example.com", name="", password_hash="x", tier=Tier.PRO)
KEY = ApiKey(key_id="key_1", session_id="ses_1", tenant_id="usr_1", key_hash="h", prefix="wsk_")


def _request(ip: str | None = "203.0.113.9") -> Any:
    return SimpleNamespace(context={"identity": {"sourceIp": ip}} if ip else {})


def _names(charges: list[Charge]) -> list[tuple[str, str]]:
    return [(c.policy.name.value, c.subject) for c in charges]


def test_api_key_calls_are_charged_per_key_and_per_user_and_sends_also_the_message_limits() -> None:
    principal = KeyPrincipal(user=USER, api_key=KEY)
    table = PolicyTable()
    assert _names(charges_for((), principal, _request(), None, table)) == [("api-key", "key_1"), ("api-user", "usr_1")]
    sent = charges_for(("messages",), principal, _request(), None, table)
    assert _names(sent) == [("messages-key", "key_1"), ("messages-user", "usr_1"), ("api-key", "key_1"),
                            ("api-user", "usr_1")]
    assert sent[0].policy.limit == 1_000, "the caller's tier (PRO) decides"


def test_user_calls_are_charged_per_user_and_session_ops_on_top() -> None:
    principal = UserPrincipal(user=USER, family_id="fam")
    table = PolicyTable()
    assert _names(charges_for((), principal, _request(), None, table)) == [("api-user", "usr_1")]
    assert _names(charges_for(("session_ops",), principal, _request(), None, table)) == [
        ("session-ops", "usr_1"), ("api-user", "usr_1")]


def test_login_is_charged_per_account_and_per_source_ip_register_per_ip() -> None:
    body = SimpleNamespace(email="someone@example.com")
    login = charges_for(("login",), None, _request(), body, PolicyTable())
    account = account_subject("someone@example.com")
    assert _names(login) == [("login-pair", f"{account}:203.0.113.9"), ("login-pair-hour", f"{account}:203.0.113.9"),
                             ("login-pair-day", f"{account}:203.0.113.9"), ("login-account", account),
                             ("login-ip", "203.0.113.9")]
    assert all("someone" not in charge.key for charge in login), "the account is keyed by a digest, not the address"
    assert account_subject(" SomeOne@Example.com") == account_subject("someone@example.com")
    assert _names(charges_for(("register",), None, _request(), None, PolicyTable())) == [
        ("register-ip", "203.0.113.9")]
    assert client_ip(_request(None)) == "unknown"


def test_headers_are_structured_field_lists_in_charge_order() -> None:
    api = RatePolicy(Policy.API_USER, 1000, 3600, 1000)
    headers = headers_for([Verdict(TEN_PER_MINUTE, True, 9, 6, 0), Verdict(api, True, 997, 11, 0)])
    assert headers == {"RateLimit-Policy": '"login-ip";q=10;w=60, "api-user";q=1000;w=3600',
                       "RateLimit": '"login-ip";r=9;t=6, "api-user";r=997;t=11'}
    assert headers_for([]) == {}


class ScriptedLimiter:
    """Answers `apply` with decisions it was given, and records what it was asked."""

    def __init__(self, *decisions: Decision):
        self.decisions = list(decisions)
        self.asked: list[list[Charge]] = []

    def apply(self, charges: list[Charge]) -> Decision:
        self.asked.append(list(charges))
        return self.decisions.pop(0)


def test_a_refused_gate_raises_429_carrying_the_headers_and_the_longest_wait() -> None:
    api = RatePolicy(Policy.API_USER, 1000, 3600, 1000)
    decision = Decision(False, (Verdict(TEN_PER_MINUTE, False, 0, 60, 6), Verdict(api, True, 5, 3000, 0)))
    gate = Gate(ScriptedLimiter(decision), [_charge(), Charge(api, "usr_1")])  # type: ignore[arg-type]
    with pytest.raises(TooManyRequests) as raised:
        gate.admit()
    error = raised.value
    assert (error.status, error.code, error.retry_after) == (429, "rate_limited", 6)
    assert error.details["policies"] == ["login-ip"]
    assert error.headers["RateLimit"] == '"login-ip";r=0;t=60, "api-user";r=5;t=3000'


def test_a_successful_login_gives_back_the_login_units_only() -> None:
    api = RatePolicy(Policy.API_USER, 1000, 3600, 1000)
    account = replace(TEN_PER_MINUTE, name=Policy.LOGIN_ACCOUNT)
    taken = Decision(True, (Verdict(account, True, 4, 9, 0), Verdict(TEN_PER_MINUTE, True, 9, 6, 0),
                            Verdict(api, True, 999, 4, 0)))
    refunded = Decision(True, (Verdict(account, True, 5, 0, 0), Verdict(TEN_PER_MINUTE, True, 10, 0, 0)))
    limiter = ScriptedLimiter(taken, refunded)
    gate = Gate(limiter, [Charge(account, "a"), Charge(TEN_PER_MINUTE, "ip"), Charge(api, "u")])  # type: ignore[arg-type]
    gate.admit()
    gate.succeeded()
    assert [(c.policy.name, c.cost) for c in limiter.asked[1]] == [(Policy.LOGIN_ACCOUNT, -1), (Policy.LOGIN_IP, -1)]
    assert gate.headers["RateLimit"] == '"login-account";r=5;t=0, "login-ip";r=10;t=0, "api-user";r=999;t=4'


def _login_gate(*decisions: Decision) -> tuple[Gate, ScriptedLimiter]:
    limiter = ScriptedLimiter(*decisions)
    body = SimpleNamespace(email="someone@example.com")
    return Gate(limiter, charges_for(("login",), None, _request(), body, PolicyTable())), limiter  # type: ignore[arg-type]


def _login_verdicts(pair_failures: int, *, ceiling_allows: bool) -> tuple[Verdict, ...]:
    table = PolicyTable()
    pair = [Verdict(table.get(name), True, table.get(name).burst - pair_failures, 0, 0)
            for name in (Policy.LOGIN_PAIR, Policy.LOGIN_PAIR_HOUR, Policy.LOGIN_PAIR_DAY)]
    ceiling = Verdict(table.get(Policy.LOGIN_ACCOUNT), ceiling_allows, 0, 3600, 0 if ceiling_allows else 36)
    return (*pair, ceiling, Verdict(table.get(Policy.LOGIN_IP), True, 10, 0, 0))


def test_the_account_ceiling_yields_to_an_address_with_no_failures_on_the_account() -> None:
    refused = Decision(False, _login_verdicts(0, ceiling_allows=False))
    gate, limiter = _login_gate(refused, Decision(True, ()))
    gate.admit()
    assert [c.policy.name for c in limiter.asked[1]] == [
        Policy.LOGIN_PAIR, Policy.LOGIN_PAIR_HOUR, Policy.LOGIN_PAIR_DAY, Policy.LOGIN_IP]


def test_the_account_ceiling_holds_against_an_address_that_failed() -> None:
    gate, limiter = _login_gate(Decision(False, _login_verdicts(1, ceiling_allows=False)))
    with pytest.raises(TooManyRequests) as raised:
        gate.admit()
    assert (raised.value.details["policies"], raised.value.retry_after) == (["login-account"], 36)
    assert len(limiter.asked) == 1


def test_a_gate_without_charges_never_calls_redis() -> None:
    limiter = ScriptedLimiter()
    gate = Gate(limiter, [])  # type: ignore[arg-type]
    gate.admit()
    gate.succeeded()
    assert limiter.asked == [] and gate.headers == {}
