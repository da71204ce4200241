"""`whatsam dev`: the whole stack on one machine.

An AWS emulator over HTTP (moto server, or the endpoint in AWS_ENDPOINT_URL), Redis
(REDIS_URL, or a private redis-server), every table/queue/bucket, the Chalice app on
HTTP, and Lambda's event sources (SQS pollers, schedules) calling the real handlers."""

from __future__ import annotations

import functools
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from chalice.app import Chalice
from chalice.config import Config
from chalice.local import LocalDevServer

from whatsam.adapters.redis_client import redis_from_url
from whatsam.config import Settings
from whatsam.dev.app_loader import load_app
from whatsam.dev.event_sources import (
    Scheduler,
    SqsPoller,
    ecs_task_stopped_event,
    expression_of,
    local_interval,
    put_event,
    split_sources,
)
from whatsam.dev.local_gateway import local_server, require_free_port
from whatsam.dev.processes import ChildService, aws_test_credentials, start_moto_server, start_redis_server
from whatsam.dev.state import clear_state, write_state
from whatsam.dev.terminal_qr import TerminalQrPrinter
from whatsam.dev.workers import DevFleet
from whatsam.resources import provision

log = logging.getLogger("whatsam.dev")

# Concurrent batches per SQS source, as Lambda runs several; one poller could not keep up with
# a burst of sends (three events each) and would let message events pile up.
POLLERS_PER_QUEUE = 3


@dataclass
class DevOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2
    engine: str = "simulated"
    # Run schedules this many times faster than in AWS (tests compress the reaper's minute).
    schedule_speedup: float = 1.0
    print_qr: bool = True


@dataclass
class DevStack:
    options: DevOptions
    children: list[ChildService] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)
    stop_event: threading.Event = field(default_factory=threading.Event)
    server: LocalDevServer | None = None
    fleet: DevFleet | None = None
    settings: Settings | None = None
    banner: list[str] = field(default_factory=list)
    # Only a stack that wrote the state file removes it: a second `whatsam dev` that fails to
    # start must not orphan the running one's.
    wrote_state: bool = False
    # The simulated engine's "WhatsApp servers" (receipts a reconnecting session is told again).
    sim_server_dir: str | None = None

    def start(self) -> None:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        # Before any child starts: a taken port is the commonest way to fail, and the cheapest to see.
        require_free_port(self.options.host, self.options.port)
        env = os.environ
        for key, value in aws_test_credentials().items():
            env.setdefault(key, value)
        if not env.get("AWS_ENDPOINT_URL"):
            moto = start_moto_server()
            self.children.append(moto)
            env["AWS_ENDPOINT_URL"] = moto.url
            self.banner.append(f"AWS emulator   {moto.url} (moto server, in memory)")
        else:
            self.banner.append(f"AWS endpoint   {env['AWS_ENDPOINT_URL']}")
        if not env.get("REDIS_URL"):
            redis = start_redis_server()
            self.children.append(redis)
            env["REDIS_URL"] = redis.url
            self.banner.append(f"Redis          {redis.url} (private redis-server)")
        else:
            self.banner.append(f"Redis          {env['REDIS_URL']}")
        env["WHATSAM_DEV_MODE"] = "1"
        self.settings = Settings.from_env()
        # The secrets live in the emulator's Secrets Manager, random on creation, and every
        # process reads them from there as the functions do in AWS.
        created = provision(self.settings)
        self.banner.append(f"Resources      {len(created['tables'])} tables, {len(created['queues'])} queues "
                           f"(+ DLQs), {len(created['buckets'])} buckets, {len(created['secrets'])} secrets, "
                           f"prefix {self.settings.resource_prefix}")

        app = load_app()
        sqs_sources, schedules = split_sources(app)
        for source in sqs_sources:
            # Lambda polls an SQS source with several batches at once (five to start with).
            self.threads += [SqsPoller(app, source, self.settings, self.stop_event)
                             for _ in range(POLLERS_PER_QUEUE)]
            self.banner.append(f"SQS poller     {source.queue} -> {source.name} (x{POLLERS_PER_QUEUE})")
        if schedules:
            self.threads.append(Scheduler(app, schedules, self.settings, self.stop_event,
                                          speedup=self.options.schedule_speedup))
            for schedule in schedules:
                local = "" if local_interval(schedule) is not None else " (not run locally: on demand)"
                self.banner.append(f"Schedule       {expression_of(schedule)} -> {schedule.name}{local}")
        self.server = local_server(app, Config.create(chalice_app=app, stage="dev"), self.options.host,
                                   self.options.port)
        self.threads.append(threading.Thread(target=self.server.serve_forever, name="api", daemon=True))
        for thread in self.threads:
            thread.start()
        if self.options.print_qr:
            self.threads.append(TerminalQrPrinter(redis_from_url(self.settings.redis_url), self.stop_event))
            self.threads[-1].start()
        if self.options.workers > 0:
            self.sim_server_dir = tempfile.mkdtemp(prefix="whatsam-sim-server-")
            fleet_env = {"WHATSAM_WORKER_SHARDS": "1", "WHATSAM_SIM_SERVER_DIR": self.sim_server_dir}
            self.fleet = DevFleet(self.options.workers, self.options.engine, fleet_env,
                                  on_exit=functools.partial(self._worker_stopped, app))
            self.fleet.start()
            for worker in self.fleet.workers:
                self.banner.append(f"Worker         {worker.worker_id} ({self.options.engine}) {worker.endpoint}")
        api_url = f"http://{self.options.host}:{self.options.port}"
        self.banner.insert(0, f"API            {api_url}  (OpenAPI: /v1/openapi.json)")
        self.banner.insert(1, f"Dashboard      {api_url}/")
        self.banner.append("Dev mode       ON: /v1/dev routes enabled; webhooks may target http:// and loopback")
        # The operator CLI (`whatsam usage sync`, `whatsam admin create-user`, ...) reads the rest
        # to reach this stack's emulator, Redis and names from another terminal.
        write_state(api=api_url, worker_token=self.settings.worker_token,
                    aws_endpoint_url=env["AWS_ENDPOINT_URL"], redis_url=env["REDIS_URL"],
                    prefix=self.settings.resource_prefix, region=self.settings.aws_region)
        self.wrote_state = True

    def _worker_stopped(self, app: Chalice, worker_id: str) -> None:
        """A worker process that exits is an ECS task that stopped: the same event, the same handler."""
        assert self.settings is not None
        put_event(app, ecs_task_stopped_event(worker_id, self.settings.aws_region, "worker process exited"))

    def wait(self, ready: Callable[[], None] | None = None) -> None:
        if ready:
            ready()
        self.stop_event.wait()

    def stop(self) -> None:
        self.stop_event.set()
        if self.fleet is not None:
            # Workers first: their drain still needs the emulator and Redis.
            self.fleet.stop()
        if self.server is not None:
            self.server.shutdown()
            self.server.server.server_close()
        for thread in self.threads:
            if thread.ident is not None:  # a start that failed half-way left some never started
                thread.join(timeout=5)
        for child in reversed(self.children):
            child.stop()
        if self.sim_server_dir is not None:
            shutil.rmtree(self.sim_server_dir, ignore_errors=True)
        if self.wrote_state:
            clear_state()
