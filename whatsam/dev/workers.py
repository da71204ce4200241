"""The worker fleet of `whatsam dev`: worker subprocesses, replaced when one dies (as ECS
replaces a stopped task), stopped with SIGTERM so they drain like in production. A worker's
exit is reported at once (`on_exit`), as ECS reports a stopped task, so its sessions move
in seconds rather than after its heartbeat goes stale."""

from __future__ import annotations

import logging
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from whatsam.dev.processes import spawn_child

log = logging.getLogger("whatsam.dev")


@dataclass
class WorkerProcess:
    worker_id: str
    process: subprocess.Popen
    endpoint: str = ""


@dataclass
class DevFleet:
    count: int
    engine: str
    env: dict[str, str]
    # Called with a worker's id as soon as its process is seen gone (before its replacement starts).
    on_exit: Callable[[str], None] | None = None
    workers: list[WorkerProcess] = field(default_factory=list)
    _next: int = 1
    _stopping: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _exited: queue.Queue[WorkerProcess] = field(default_factory=queue.Queue)

    def start(self) -> None:
        for _ in range(self.count):
            self._watch(self._spawn())
        threading.Thread(target=self._replace_exited, name="fleet-keeper", daemon=True).start()

    def _spawn(self) -> WorkerProcess:
        """Start a worker. Only from a thread that outlives it: workers are dependent children
        (they get SIGKILL when the thread that started them ends)."""
        with self._lock:
            worker_id = f"dev-worker-{self._next}"
            self._next += 1
        process = spawn_child(
            [sys.executable, "-m", "worker_fleet.main", "--worker-id", worker_id, "--engine", self.engine],
            env={**os.environ, **self.env}, stdout=subprocess.PIPE, text=True)
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"http=(\S+)", line)
        if not match:
            raise RuntimeError(f"worker {worker_id} did not start (exit code {process.poll()})")
        # Keep draining its stdout so the pipe never fills and blocks the worker.
        threading.Thread(target=lambda: [None for _ in process.stdout or []], daemon=True).start()
        return WorkerProcess(worker_id, process, match.group(1))

    def _watch(self, worker: WorkerProcess) -> None:
        """Joins the fleet, with a thread waiting on its process: an exit is reported the moment
        it happens, whatever else the fleet is doing (starting a replacement takes seconds)."""
        with self._lock:
            if self._stopping.is_set():
                _terminate(worker)
                return
            self.workers.append(worker)
        threading.Thread(target=self._await_exit, args=(worker,), name=f"watch-{worker.worker_id}",
                         daemon=True).start()

    def _await_exit(self, worker: WorkerProcess) -> None:
        code = worker.process.wait()
        if self._stopping.is_set():
            return
        log.warning("worker %s exited with %s; starting a replacement", worker.worker_id, code)
        self._report_exit(worker)
        with self._lock:
            self.workers.remove(worker)
        self._exited.put(worker)

    def _replace_exited(self) -> None:
        """One long-lived thread starts every replacement (see `_spawn`)."""
        while not self._stopping.is_set():
            try:
                self._exited.get(timeout=0.5)
            except queue.Empty:
                continue
            try:
                self._watch(self._spawn())
            except RuntimeError:
                log.exception("replacement worker failed to start")

    def _report_exit(self, worker: WorkerProcess) -> None:
        if self.on_exit is None:
            return
        try:
            self.on_exit(worker.worker_id)
        except Exception:
            log.exception("reporting the exit of %s failed; the reaper's schedule will catch it", worker.worker_id)

    def stop(self, timeout: float = 120.0) -> None:
        self._stopping.set()
        with self._lock:
            for worker in self.workers:
                if worker.process.poll() is None:
                    worker.process.send_signal(signal.SIGTERM)
            for worker in self.workers:
                _terminate(worker, timeout)


def _terminate(worker: WorkerProcess, timeout: float = 120.0) -> None:
    """SIGTERM (the worker drains), then wait; SIGKILL if it does not finish in time."""
    if worker.process.poll() is None:
        worker.process.send_signal(signal.SIGTERM)
    try:
        worker.process.wait(timeout)
    except subprocess.TimeoutExpired:
        worker.process.kill()
        worker.process.wait()
