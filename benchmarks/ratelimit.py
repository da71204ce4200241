"""Cost of rate limiting and usage counting on the hot path, against a local redis-server.

    .venv/bin/python benchmarks/ratelimit.py [--calls 5000] [--processes 4]

Starts a private redis-server (or uses REDIS_URL) and measures, one client at a time:
- one check of one limit (`RateLimiter.apply`, one EVALSHA);
- one check of the four limits of `POST /v1/messages` (messages and API calls, per key and
  per user) in the same single round trip;
- the whole per-call overhead the `endpoint` decorator adds to such a call: deriving the
  charges, the check, the headers, and counting the API call (a second round trip);
then the throughput of four-limit checks from several processes at once against one key.
Latencies are per call, wall clock, p50/p99 over `--calls` calls after a warm-up; limits are
set high so every check is admitted (a refusal costs the same round trip)."""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from whatsam.dev.processes import start_redis_server  # noqa: E402
from whatsam.domain.model import ApiKey, User  # noqa: E402
from whatsam.domain.tiers import Tier  # noqa: E402
from whatsam.http.rate_limits import Gate, charges_for  # noqa: E402
from whatsam.metering.counters import Metric, UsageCounters  # noqa: E402
from whatsam.metering.policies import Policy, PolicyTable, RatePolicy  # noqa: E402
from whatsam.metering.ratelimit import Charge, RateLimiter  # noqa: E402
from whatsam.services.principals import KeyPrincipal  # noqa: E402

# High enough that nothing is refused during the run: the check is the same work either way.
ROOMY = ",".join(f"{name.value}=1000000000/3600" for name in Policy)


def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, decode_responses=True)


def _principal() -> KeyPrincipal:
    user = User(user_id=f"usr_{uuid.uuid4().hex[:12]}", email="bench@example.com", name="", password_hash="x",  # noqa: S106
                tier=Tier.BASIC)
    key = ApiKey(key_id=f"key_{uuid.uuid4().hex[:12]}", session_id="ses_bench", tenant_id=user.user_id,
                 key_hash="h", prefix="wsk_")
    return KeyPrincipal(user=user, api_key=key)


def _timed(call: Callable[[], object], calls: int) -> list[float]:
    for _ in range(min(500, calls)):
        call()
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def _report(label: str, samples: list[float]) -> None:
    ordered = sorted(samples)
    p50 = statistics.median(ordered) * 1e6
    p99 = ordered[int(len(ordered) * 0.99) - 1] * 1e6
    print(f"{label:<44} p50 {p50:7.0f} µs   p99 {p99:7.0f} µs   {len(samples) / sum(samples):8.0f} calls/s")


def _endpoint_overhead(limiter: RateLimiter, counters: UsageCounters, table: PolicyTable) -> Callable[[], object]:
    principal = _principal()
    request = SimpleNamespace(context={"identity": {"sourceIp": "203.0.113.1"}})

    def call() -> dict[str, str]:
        gate = Gate(limiter, charges_for(("messages",), principal, request, None, table))  # type: ignore[arg-type]
        gate.admit()
        counters.add(principal.user.user_id, Metric.API_CALLS, session_id=principal.session_id)
        gate.succeeded()
        return gate.headers

    return call


def _hammer(url: str, charges: list[Charge], seconds: float, start_at: float, done: multiprocessing.Queue) -> None:
    limiter = RateLimiter(_client(url))
    while time.time() < start_at:
        time.sleep(0.001)
    calls = 0
    while time.time() < start_at + seconds:
        limiter.apply(charges)
        calls += 1
    done.put(calls)


def _parallel(url: str, processes: int, seconds: float) -> float:
    principal = _principal()
    charges = charges_for(("messages",), principal, SimpleNamespace(context={}), None,  # type: ignore[arg-type]
                          PolicyTable.from_text(ROOMY))
    context = multiprocessing.get_context("spawn")
    done = context.Queue()
    start_at = time.time() + 2.0
    workers = [context.Process(target=_hammer, args=(url, charges, seconds, start_at, done)) for _ in range(processes)]
    for worker in workers:
        worker.start()
    total = sum(done.get(timeout=seconds + 60) for _ in workers)
    for worker in workers:
        worker.join()
    return total / seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    server = None if os.environ.get("REDIS_URL") else start_redis_server()
    url = os.environ.get("REDIS_URL") or server.url  # type: ignore[union-attr]
    try:
        client = _client(url)
        limiter, counters, table = RateLimiter(client), UsageCounters(client), PolicyTable.from_text(ROOMY)
        print(f"redis {client.info('server')['redis_version']} at {url}, {args.calls} calls each, one client\n")
        one = [Charge(RatePolicy(Policy.API_USER, 10**9, 3600, 10**9), uuid.uuid4().hex)]
        _report("check, 1 limit", _timed(lambda: limiter.apply(one), args.calls))
        four = charges_for(("messages",), _principal(), SimpleNamespace(context={}), None, table)  # type: ignore[arg-type]
        _report("check, 4 limits (POST /v1/messages)", _timed(lambda: limiter.apply(four), args.calls))
        _report("usage count (one pipeline)",
                _timed(lambda: counters.add("usr_bench", Metric.API_CALLS, session_id="ses_bench"), args.calls))
        _report("endpoint overhead (4-limit check + count)",
                _timed(_endpoint_overhead(limiter, counters, table), args.calls))
        rate = _parallel(url, args.processes, args.seconds)
        print(f"\n{args.processes} processes, 4-limit checks on one key for {args.seconds:.0f} s: {rate:,.0f} checks/s")
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
