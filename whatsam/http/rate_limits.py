"""Rate limits at the HTTP edge: which limits a call is charged, the 429 when one refuses,
and the `RateLimit-Policy` / `RateLimit` headers every answer of a limited route carries
(draft-ietf-httpapi-ratelimit-headers, structured-field lists:
`RateLimit-Policy: "api-user";q=1000;w=3600` and `RateLimit: "api-user";r=997;t=11`).

Every authenticated call is charged the API-call limits of its caller (per user, and per key
for API-key calls); a route adds its own with `endpoint(..., limits=...)`."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, Literal

from chalice.app import Request

from whatsam.errors import TooManyRequests
from whatsam.metering.policies import LOGIN_PAIR_POLICIES, Policy, PolicyTable
from whatsam.metering.ratelimit import Charge, Decision, RateLimiter, Verdict
from whatsam.services.principals import KeyPrincipal, UserPrincipal

RouteLimit = Literal["messages", "session_ops", "login", "register"]

POLICY_HEADER = "RateLimit-Policy"
STATE_HEADER = "RateLimit"

# A successful login gives these back: the login limits count failed attempts. They are
# still taken up front, so parallel guesses cannot all slip past a check before any fails.
_REFUNDED_ON_SUCCESS = frozenset({*LOGIN_PAIR_POLICIES, Policy.LOGIN_IP, Policy.LOGIN_ACCOUNT})


def client_ip(request: Request) -> str:
    """The caller's address as API Gateway saw it (never a client-supplied header)."""
    identity = (request.context or {}).get("identity") or {}
    return str(identity.get("sourceIp") or "unknown")


def account_subject(email: str) -> str:
    # Keyed by a digest: Redis key names show up in monitoring, e-mail addresses need not.
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def charges_for(limits: Sequence[RouteLimit], principal: UserPrincipal | KeyPrincipal | None, request: Request,
                body: Any, policies: PolicyTable) -> list[Charge]:
    """The charges of one call, most specific first (the order the headers list them)."""
    charges: list[Charge] = []
    if isinstance(principal, KeyPrincipal):
        tier, user_id = principal.user.tier, principal.user.user_id
        if "messages" in limits:
            charges += [Charge(policies.get(Policy.MESSAGES_KEY, tier), principal.api_key.key_id),
                        Charge(policies.get(Policy.MESSAGES_USER, tier), user_id)]
        charges += [Charge(policies.get(Policy.API_KEY, tier), principal.api_key.key_id),
                    Charge(policies.get(Policy.API_USER, tier), user_id)]
    elif isinstance(principal, UserPrincipal):
        tier, user_id = principal.user.tier, principal.user.user_id
        if "session_ops" in limits:
            charges.append(Charge(policies.get(Policy.SESSION_OPS, tier), user_id))
        charges.append(Charge(policies.get(Policy.API_USER, tier), user_id))
    if "login" in limits:
        account, address = account_subject(body.email), client_ip(request)
        charges += [Charge(policies.get(name), f"{account}:{address}") for name in LOGIN_PAIR_POLICIES]
        charges += [Charge(policies.get(Policy.LOGIN_ACCOUNT), account),
                    Charge(policies.get(Policy.LOGIN_IP), address)]
    if "register" in limits:
        charges.append(Charge(policies.get(Policy.REGISTER_IP), client_ip(request)))
    return charges


def _ceiling_yields(refused: Decision) -> bool:
    """Whether an account's login ceiling, the only limit refusing, should let this address try:
    it has no failed login on that account left in any of its buckets. Someone guessing an
    account's password from many addresses must not lock its owner out; each new address costs
    the guesser one try, after which its own failures bring the ceiling back into force."""
    if [v.policy.name for v in refused.denied_by] != [Policy.LOGIN_ACCOUNT]:
        return False
    pair = [v for v in refused.verdicts if v.policy.name in LOGIN_PAIR_POLICIES]
    return bool(pair) and all(v.remaining == v.policy.burst for v in pair)


def headers_for(verdicts: Sequence[Verdict]) -> dict[str, str]:
    if not verdicts:
        return {}
    return {
        POLICY_HEADER: ", ".join(f'"{v.policy.name}";q={v.policy.limit};w={v.policy.window}' for v in verdicts),
        STATE_HEADER: ", ".join(f'"{v.policy.name}";r={v.remaining};t={v.reset_after}' for v in verdicts),
    }


def refusal(decision: Decision) -> TooManyRequests:
    first = decision.denied_by[0].policy
    error = TooManyRequests(
        f"Rate limit reached: {first.limit} per {first.window} s ({first.name}). "
        f"Retry in {decision.retry_after} s.",
        retry_after=decision.retry_after,
        details={"policies": [v.policy.name.value for v in decision.denied_by], "limit": first.limit,
                 "window": first.window, "retry_after": decision.retry_after})
    error.headers.update(headers_for(decision.verdicts))
    return error


class Gate:
    """One call's passage through its limits: `admit` takes the charges (or raises 429),
    `headers` go on whatever the call answers, `succeeded` gives back what success refunds."""

    def __init__(self, limiter: RateLimiter, charges: Sequence[Charge]):
        self._limiter = limiter
        self._charges = list(charges)
        self._verdicts: tuple[Verdict, ...] = ()

    @property
    def headers(self) -> dict[str, str]:
        return headers_for(self._verdicts)

    def admit(self) -> None:
        if not self._charges:
            return
        decision = self._limiter.apply(self._charges)
        if not decision.allowed and _ceiling_yields(decision):
            self._charges = [c for c in self._charges if c.policy.name != Policy.LOGIN_ACCOUNT]
            decision = self._limiter.apply(self._charges)
        if not decision.allowed:
            raise refusal(decision)
        self._verdicts = decision.verdicts

    def succeeded(self) -> None:
        refunds = [Charge(c.policy, c.subject, -c.cost) for c in self._charges
                   if c.policy.name in _REFUNDED_ON_SUCCESS]
        if not refunds:
            return
        after = {v.policy.name: v for v in self._limiter.apply(refunds).verdicts}
        self._verdicts = tuple(after.get(v.policy.name, v) for v in self._verdicts)
