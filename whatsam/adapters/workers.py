"""The worker registry."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist

from whatsam.adapters.conditions import update_if
from whatsam.adapters.dynamo_models import WorkerModel
from whatsam.domain.model import utcnow


def normalise_worker_id(raw: str) -> str:
    """Lower-case and hyphenated (`Worker_A.1` → `worker-a-1`): safe in queue names and URLs."""
    cleaned = re.sub(r"[^a-z0-9]+", "-", raw.strip().lower()).strip("-")
    if not cleaned:
        raise ValueError(f"worker id {raw!r} has no usable characters")
    return cleaned[:60]


def worker_id_of_task(task_arn: str) -> str:
    """On ECS a worker is named after its task (see worker_fleet.config), so the task-stopped
    event of ECS names the worker to reap."""
    return normalise_worker_id(task_arn.rsplit("/", 1)[-1])


@dataclass(frozen=True)
class WorkerInfo:
    worker_id: str
    status: str
    endpoint: str
    inbox_url: str
    capacity: int
    version: str
    engine: str
    started_at: datetime
    last_heartbeat: datetime
    stats: dict[str, Any] = field(default_factory=dict)


def _info(item: WorkerModel) -> WorkerInfo:
    return WorkerInfo(worker_id=item.worker_id, status=item.status, endpoint=item.endpoint, inbox_url=item.inbox_url,
                      capacity=int(item.capacity), version=item.version, engine=item.engine,
                      started_at=item.started_at, last_heartbeat=item.last_heartbeat, stats=json.loads(item.stats))


class WorkerRepository:
    def register(self, info: WorkerInfo) -> None:
        WorkerModel(worker_id=info.worker_id, status=info.status, endpoint=info.endpoint, inbox_url=info.inbox_url,
                    capacity=info.capacity, version=info.version, engine=info.engine, started_at=info.started_at,
                    last_heartbeat=info.last_heartbeat, stats=json.dumps(info.stats)).save()

    def heartbeat(self, worker_id: str, stats: dict[str, Any]) -> str | None:
        """Record a heartbeat; returns the registry's status (an admin may have set `draining`),
        or None if the reaper already declared this worker offline."""
        item = WorkerModel(worker_id=worker_id)
        beat = update_if(item, [WorkerModel.last_heartbeat.set(utcnow()), WorkerModel.stats.set(json.dumps(stats))],
                         WorkerModel.worker_id.exists() & (WorkerModel.status != "offline"))
        return str(item.status) if beat else None

    def set_status(self, worker_id: str, status: str, *, only_if: str | None = None) -> bool:
        condition = WorkerModel.worker_id.exists()
        if only_if is not None:
            condition = condition & (WorkerModel.status == only_if)
        return update_if(WorkerModel(worker_id=worker_id), [WorkerModel.status.set(status)], condition)

    def get(self, worker_id: str) -> WorkerInfo | None:
        try:
            return _info(WorkerModel.get(worker_id, consistent_read=True))
        except DoesNotExist:
            return None

    def list(self) -> list[WorkerInfo]:
        return sorted((_info(i) for i in WorkerModel.scan()), key=lambda w: w.worker_id)
