"""Rate-limited clients in separate OS processes, each with its own threads and connections,
for the concurrency tests: either straight at the limiter in Redis (a plan of charges) or at
the API over HTTP (a plan of one request). Run as a script (not through `multiprocessing`: an
unrelated `tests` package in site-packages would shadow this one in a spawned child):

    python tests/support/ratelimit_clients.py '<spec json>'

It prints `ready`, waits for a line on stdin, lets `threads` threads each make `attempts`
calls, and prints every outcome as one JSON list."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Outcome:
    label: str
    allowed: bool
    retry_after: int
    headers: dict[str, str]
    status: int = 0


@dataclass(frozen=True)
class ClientPlan:
    """One process: who it is, and either the charges (policy fields + subject) it makes per
    call against Redis (`target` a redis URL), or the HTTP request it sends (`target` the
    request URL, `request` its method, headers and JSON body)."""

    label: str
    charges: list[dict[str, Any]] | None = None
    request: dict[str, Any] | None = None


def _limiter_call(target: str, plan: ClientPlan) -> Callable[[], Outcome]:
    import redis

    from whatsam.http.rate_limits import headers_for
    from whatsam.metering.policies import Policy, RatePolicy
    from whatsam.metering.ratelimit import Charge, RateLimiter

    charges = [Charge(RatePolicy(Policy(c["name"]), c["limit"], c["window"], c["burst"]), c["subject"])
               for c in plan.charges or []]
    limiter = RateLimiter(redis.Redis.from_url(target, decode_responses=True))

    def call() -> Outcome:
        decision = limiter.apply(charges)
        return Outcome(plan.label, decision.allowed, decision.retry_after, headers_for(decision.verdicts))

    return call


def _http_call(target: str, plan: ClientPlan) -> Callable[[], Outcome]:
    import urllib.error
    import urllib.request

    spec = plan.request or {}

    def send() -> tuple[int, dict[str, str]]:
        request = urllib.request.Request(target, data=json.dumps(spec["body"]).encode(), method=spec["method"],
                                         headers={"Content-Type": "application/json", **spec["headers"]})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers)

    def call() -> Outcome:
        # The dev server's listen backlog is Python's default of 5: a burst of connections can
        # be reset before the server reads them. Such a request never reached the app, so it
        # is sent again (the tests check every 202 is in the history, and nothing more).
        for attempt in range(10):
            try:
                status, headers = send()
                break
            except (ConnectionError, urllib.error.URLError):
                if attempt == 9:
                    raise
                time.sleep(0.05 * (attempt + 1))
        headers = {k.lower(): v for k, v in headers.items()}
        return Outcome(plan.label, status != 429, int(headers.get("retry-after", 0)),
                       {k: v for k, v in headers.items() if k in {"ratelimit-policy", "ratelimit", "retry-after"}},
                       status)

    return call


def _calls(target: str, plan: ClientPlan, threads: int, attempts: int) -> list[Outcome]:
    call = _http_call(target, plan) if plan.request is not None else _limiter_call(target, plan)
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    go = threading.Barrier(threads)

    def run() -> None:
        go.wait()
        for _ in range(attempts):
            outcome = call()
            with lock:
                outcomes.append(outcome)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    print("ready", flush=True)
    sys.stdin.readline()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return outcomes


def run_clients(target: str, plans: list[ClientPlan], *, threads: int,
                attempts: int) -> tuple[list[Outcome], float]:
    """One OS process per plan; starts them together once all are ready. Returns every
    outcome and the seconds from the start signal to the last answer."""
    processes = [subprocess.Popen(
        [sys.executable, __file__, json.dumps({"target": target, "plan": asdict(plan), "threads": threads,
                                               "attempts": attempts})],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for plan in plans]
    try:
        for process in processes:
            assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        started = time.monotonic()
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        outcomes: list[Outcome] = []
        for process in processes:
            out, _ = process.communicate(timeout=120)
            assert process.returncode == 0
            outcomes += [Outcome(**item) for item in json.loads(out)]
        return outcomes, time.monotonic() - started
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    spec = json.loads(sys.argv[1])
    result = _calls(spec["target"], ClientPlan(**spec["plan"]), spec["threads"], spec["attempts"])
    print(json.dumps([asdict(o) for o in result]), flush=True)
