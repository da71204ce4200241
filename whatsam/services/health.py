"""Readiness: can this process reach every dependency it serves requests with?"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from whatsam.adapters.aws import client
from whatsam.adapters.dynamo_models import UserModel
from whatsam.bootstrap import Container


def _timed(check: Callable[[], Any]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        check()
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__, "ms": round((time.perf_counter() - started) * 1000, 1)}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


def readiness(services: Container) -> dict[str, dict[str, Any]]:
    settings = services.settings
    return {
        "dynamodb": _timed(lambda: client("dynamodb", settings).describe_table(TableName=UserModel.Meta.table_name)),
        "sqs": _timed(lambda: services.queues.url("connect")),
        "s3": _timed(lambda: client("s3", settings).head_bucket(Bucket=settings.bucket_name("auth-state"))),
        "redis": _timed(services.redis.ping),
    }
