"""Peak worker memory while a 50,000-message history sync goes through the worker's history path.

    .venv/bin/python benchmarks/history_sync.py [--messages 50000] [--publish-ms 5] [--policy full]

The path as the worker runs it: a real engine shard (a subprocess running the simulated
WhatsApp) links a session and sends its history burst (`simulated_chats.send_history`, batch
by batch over the shard pipe); the worker process takes each batch off the pipe into its event
lanes (`EngineEventLanes`) and applies it on one thread as `SessionHost` does: `HistoryIntake`
turns it into `history.batch` events (and the closing `session.history_synced`), and each is
serialized to JSON for the events queue. Publishing is the one part replaced: instead of an SQS
round trip, each publish waits `--publish-ms` (a slow queue lets batches pile up in the lanes,
the worst case for memory). Ingestion runs elsewhere (a Lambda) and is not measured.

Memory is the resident set (VmRSS, sampled every 10 ms from /proc) of the worker process and
of the shard, each above its idle level once the session is linked and before the burst."""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from whatsam.contracts.events import HistoryBatchEvent, SessionHistorySyncedEvent  # noqa: E402
from worker_fleet.engines.base import Connected, EngineEvent  # noqa: E402
from worker_fleet.engines.chats import HistoryBatch  # noqa: E402
from worker_fleet.event_lanes import EngineEventLanes  # noqa: E402
from worker_fleet.history import HistoryIntake  # noqa: E402
from worker_fleet.supervisor import ShardSupervisor  # noqa: E402

SESSION = "ses_" + "b" * 25


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


class PeakSampler:
    def __init__(self, pids: list[int], every: float = 0.01):
        self.peaks = {pid: rss_bytes(pid) for pid in pids}
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid in self.peaks:
                self.peaks[pid] = max(self.peaks[pid], rss_bytes(pid))
            self._stop.wait(self._every)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--publish-ms", type=float, default=5.0, help="time one events-queue publish takes")
    parser.add_argument("--policy", choices=("recent", "full"), default="full")
    args = parser.parse_args()

    lanes: EngineEventLanes[None] = EngineEventLanes()
    supervisor = ShardSupervisor("simulated", 1, on_event=lambda sid, event: lanes.put(sid, event, None),
                                 on_crash=lambda _: None, engine_options={"qr_interval": 60.0})
    intake = HistoryIntake(lambda _: args.policy)
    counter = iter(range(1, 10**9))
    published = {"events": 0, "bytes": 0, "messages": 0}
    finished = threading.Event()
    linked = threading.Event()

    def envelope() -> dict[str, Any]:
        return {"session_id": SESSION, "tenant_id": "usr_bench", "seq": next(counter), "worker_id": "bench"}

    def apply(event: EngineEvent) -> None:
        if isinstance(event, Connected):
            linked.set()
        if not isinstance(event, HistoryBatch):
            return
        for history_event in intake.events(SESSION, event, envelope):
            body = history_event.to_json()  # what QueueSink hands to SQS
            time.sleep(args.publish_ms / 1000)
            published["events"] += 1
            published["bytes"] += len(body)
            if isinstance(history_event, HistoryBatchEvent):
                published["messages"] += len(history_event.messages)
            if isinstance(history_event, SessionHistorySyncedEvent):
                finished.set()

    def event_thread() -> None:
        try:
            while (item := lanes.get()) is not None:
                apply(item[1])
        finally:
            finished.set()  # also when applying failed: the run ends, and says so below

    threading.Thread(target=event_thread, daemon=True).start()
    with tempfile.TemporaryDirectory() as store:
        supervisor.call("open", SESSION, store_path=str(Path(store) / "s.sqlite3"))
        supervisor.call("simulate_scan", SESSION)
        linked.wait(30)
        time.sleep(1.0)  # let both processes settle before reading their idle level
        worker_pid, shard_pid = _pids(supervisor)
        idle = {worker_pid: rss_bytes(worker_pid), shard_pid: rss_bytes(shard_pid)}
        began = time.monotonic()
        with PeakSampler([worker_pid, shard_pid]) as sampler:
            supervisor.call("simulate", SESSION, type="history.sync", count=args.messages)
            finished.wait(3600)
            if published["messages"] < args.messages * (0.9 if args.policy == "recent" else 1):
                raise SystemExit(f"the sync did not finish: {published}")
        elapsed = time.monotonic() - began
        supervisor.close()
        lanes.close()

    mib = 1024 * 1024
    print(f"history sync of {args.messages:,} messages (policy {args.policy}, publish {args.publish_ms:g} ms): "
          f"{published['events']} events, {published['messages']:,} messages, "
          f"{published['bytes'] / mib:.1f} MiB of JSON in {elapsed:.1f} s")
    for name, pid in (("worker", worker_pid), ("shard", shard_pid)):
        print(f"  {name:6s} idle {idle[pid] / mib:6.1f} MiB   peak {sampler.peaks[pid] / mib:6.1f} MiB   "
              f"above idle {(sampler.peaks[pid] - idle[pid]) / mib:6.1f} MiB")


def _pids(supervisor: ShardSupervisor) -> tuple[int, int]:
    import os

    (shard_pid,) = supervisor.pids()
    return os.getpid(), shard_pid


if __name__ == "__main__":
    main()
