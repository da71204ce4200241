"""Session state kept in Redis: the current QR (with its TTL), the session → worker route,
and a channel that wakes status long-polls."""

from __future__ import annotations

import json
from typing import Any

import redis

_PREFIX = "whatsam"

# Compare-and-set on the event sequence: a rotated QR replaces the current one only if it
# is newer, in one atomic round trip.
_SET_QR = """
local current = redis.call('HGET', KEYS[1], 'seq')
if current and tonumber(current) >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'seq', ARGV[1], 'payload', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""


QR_CHANNEL = f"{_PREFIX}:session-qr"


def status_channel(session_id: str) -> str:
    return f"{_PREFIX}:session-status:{session_id}"


class SessionCache:
    def __init__(self, client: redis.Redis):
        self._redis = client
        self._set_qr = client.register_script(_SET_QR)

    def put_qr(self, session_id: str, seq: int, qr: dict[str, Any], ttl_ms: int) -> bool:
        return bool(self._set_qr(keys=[f"{_PREFIX}:qr:{session_id}"], args=[seq, json.dumps(qr), max(ttl_ms, 1)]))

    def get_qr(self, session_id: str) -> dict[str, Any] | None:
        payload = self._redis.hget(f"{_PREFIX}:qr:{session_id}", "payload")
        return json.loads(str(payload)) if payload else None

    def clear_qr(self, session_id: str) -> None:
        self._redis.delete(f"{_PREFIX}:qr:{session_id}")

    def set_route(self, session_id: str, worker_id: str, ttl_seconds: int) -> None:
        self._redis.set(f"{_PREFIX}:route:{session_id}", worker_id, ex=ttl_seconds)

    def get_route(self, session_id: str) -> str | None:
        value = self._redis.get(f"{_PREFIX}:route:{session_id}")
        return str(value) if value else None

    def clear_route(self, session_id: str, worker_id: str) -> None:
        key = f"{_PREFIX}:route:{session_id}"
        if self._redis.get(key) == worker_id:
            self._redis.delete(key)

    def forget_session(self, session_id: str) -> None:
        """Drop the session's QR and route, whoever set them (the session was ended for good)."""
        self._redis.delete(f"{_PREFIX}:qr:{session_id}", f"{_PREFIX}:route:{session_id}")

    def announce_qr(self, session_id: str, qr: str) -> None:
        self._redis.publish(QR_CHANNEL, json.dumps({"session_id": session_id, "qr": qr}))

    def announce_status(self, session_id: str, status_version: int) -> None:
        self._redis.publish(status_channel(session_id), str(status_version))

    def push_reply(self, reply_to: str, payload: dict[str, Any], ttl_seconds: int = 60) -> None:
        pipe = self._redis.pipeline()
        pipe.rpush(reply_to, json.dumps(payload))
        pipe.expire(reply_to, ttl_seconds)
        pipe.execute()

    def wait_reply(self, reply_to: str, timeout: float) -> dict[str, Any] | None:
        got = self._redis.blpop([reply_to], timeout=timeout)
        return json.loads(got[1]) if got else None

    @property
    def redis(self) -> redis.Redis:
        return self._redis
