"""Worker settings, from the environment and the command line."""

from __future__ import annotations

import json
import os
import socket
import tempfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from whatsam.adapters.workers import normalise_worker_id, worker_id_of_task


def _ecs_task_arn() -> str | None:
    """This task's ARN from the ECS task metadata endpoint; None outside ECS. The worker takes
    its task's id as its name, so ECS's task-stopped event tells the reaper whom to reap."""
    base = os.environ.get("ECS_CONTAINER_METADATA_URI_V4")
    if not base or not base.startswith("http://"):
        return None
    try:
        with urllib.request.urlopen(f"{base}/task", timeout=2) as response:  # noqa: S310 (ECS-set http URL)
            arn = json.load(response).get("TaskARN")
    except (OSError, ValueError):
        return None
    return str(arn) if arn else None


@dataclass(frozen=True)
class WorkerConfig:
    worker_id: str
    engine: str = "simulated"
    capacity: int = 50
    shards: int = 2
    http_host: str = "127.0.0.1"
    http_port: int = 0
    data_dir: Path = field(default_factory=lambda: Path(tempfile.gettempdir()) / "whatsam-worker")
    lease_ttl_seconds: float = 30.0
    renew_every_seconds: float = 10.0
    heartbeat_every_seconds: float = 10.0
    snapshot_debounce_seconds: float = 2.0
    drain_timeout_seconds: float = 100.0
    # Engine knobs passed to every shard (e.g. the simulated engine's QR interval).
    engine_options: dict[str, object] = field(default_factory=dict)
    # Outside AWS: send events over HTTPS instead of the events queue.
    events_url: str | None = None
    # Every this many seconds each connected session is counted one session-minute; 60 in
    # production, shorter only to observe the count in tests.
    session_minute_seconds: float = 60.0

    @classmethod
    def from_env(cls, **overrides: object) -> WorkerConfig:
        env = os.environ
        task_arn = _ecs_task_arn()
        raw_id = str(overrides.pop("worker_id", None) or env.get("WHATSAM_WORKER_ID") or
                     (worker_id_of_task(task_arn) if task_arn else f"{socket.gethostname()}-{os.getpid()}"))
        values: dict[str, object] = {
            "worker_id": normalise_worker_id(raw_id),
            "engine": env.get("WHATSAM_ENGINE", "simulated"),
            "capacity": int(env.get("WHATSAM_WORKER_CAPACITY", "50")),
            "shards": int(env.get("WHATSAM_WORKER_SHARDS", "2")),
            "http_port": int(env.get("WHATSAM_WORKER_HTTP_PORT", "0")),
            "events_url": env.get("WHATSAM_EVENTS_URL") or None,
            "lease_ttl_seconds": float(env.get("WHATSAM_LEASE_TTL", "30")),
            "renew_every_seconds": float(env.get("WHATSAM_LEASE_RENEW_EVERY", "10")),
            "heartbeat_every_seconds": float(env.get("WHATSAM_WORKER_HEARTBEAT", "10")),
            "session_minute_seconds": float(env.get("WHATSAM_SESSION_MINUTE_SECONDS", "60")),
        }
        if env.get("WHATSAM_WORKER_DATA_DIR"):
            values["data_dir"] = Path(env["WHATSAM_WORKER_DATA_DIR"])
        engine_options: dict[str, object] = {}
        if env.get("WHATSAM_SIM_QR_INTERVAL"):
            engine_options["qr_interval"] = float(env["WHATSAM_SIM_QR_INTERVAL"])
        if env.get("WHATSAM_SIM_WIRE_LOG"):
            engine_options["wire_log"] = env["WHATSAM_SIM_WIRE_LOG"]
        if env.get("WHATSAM_SIM_HISTORY_MESSAGES"):
            engine_options["history_on_link"] = int(env["WHATSAM_SIM_HISTORY_MESSAGES"])
        if env.get("WHATSAM_SIM_SERVER_DIR"):
            engine_options["server_dir"] = env["WHATSAM_SIM_SERVER_DIR"]
        if engine_options:
            values["engine_options"] = engine_options
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
