"""`whatsam worker`: the container's command. SIGTERM drains (well inside ECS's 120 s
stopTimeout): stop taking work, snapshot, close sockets, hand sessions back, exit 0."""

from __future__ import annotations

import argparse
import signal
import threading
from types import FrameType

from whatsam.config import Settings
from whatsam.logs import configure_logging
from worker_fleet.config import WorkerConfig
from worker_fleet.worker import Worker


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--worker-id", help="defaults to WHATSAM_WORKER_ID or host-pid; normalised")
    parser.add_argument("--engine", choices=["simulated", "neonize"], help="default WHATSAM_ENGINE or simulated")
    parser.add_argument("--capacity", type=int, help="most sessions held at once (default 50)")
    parser.add_argument("--shards", type=int, help="engine subprocesses (default 2)")
    parser.add_argument("--http-port", type=int, help="port of /health and /metrics (default: any free port)")


def run(args: argparse.Namespace) -> int:
    config = WorkerConfig.from_env(worker_id=args.worker_id, engine=args.engine, capacity=args.capacity,
                                   shards=args.shards, http_port=args.http_port)
    worker = Worker(config, Settings.from_env())
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    worker.start()
    print(f"worker {config.worker_id} ready http={worker.endpoint}", flush=True)
    stop.wait()
    worker.drain()
    return 0


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    parser = argparse.ArgumentParser(prog="whatsam worker")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
