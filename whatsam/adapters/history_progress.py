"""Which batches of a history sync ingestion has stored, in Redis, so that its one
`session.history_synced` event is announced only once everything it counts is stored.

Events reach ingestion in any order and concurrently (the events queue keeps none), so the
worker's closing event can arrive before the last batch is stored. Each side writes first
(a batch adds its number to the sync's set; the closing event stores itself) and reads after,
so whichever completes the sync sees it complete; both may, and announcing twice is harmless
(the journal keeps one, subscribers are idempotent on the event id)."""

from __future__ import annotations

import redis

from whatsam.contracts.events import SessionHistorySyncedEvent, decode_event

_PREFIX = "whatsam:history"
# A sync not complete after a day is abandoned (its session ended in the middle of it).
_TTL_SECONDS = 86400


class HistoryProgress:
    def __init__(self, client: redis.Redis):
        self._redis = client

    def batch_stored(self, session_id: str, sync_id: str, index: int) -> SessionHistorySyncedEvent | None:
        """Batch `index` is stored; the sync's closing event if that completes it."""
        key = f"{_PREFIX}:{session_id}:{sync_id}"
        pipe = self._redis.pipeline()
        pipe.sadd(f"{key}:batches", index)
        pipe.expire(f"{key}:batches", _TTL_SECONDS)
        pipe.execute()
        return self._complete(key)

    def closed(self, event: SessionHistorySyncedEvent) -> SessionHistorySyncedEvent | None:
        """The worker sent everything of the sync; the event if every batch is stored."""
        key = f"{_PREFIX}:{event.session_id}:{event.sync_id}"
        self._redis.set(f"{key}:closed", event.to_json(), ex=_TTL_SECONDS)
        return self._complete(key)

    def _complete(self, key: str) -> SessionHistorySyncedEvent | None:
        pipe = self._redis.pipeline()
        pipe.get(f"{key}:closed")
        pipe.scard(f"{key}:batches")
        closed, stored = pipe.execute()
        if not closed:
            return None
        event = decode_event(closed)
        assert isinstance(event, SessionHistorySyncedEvent)
        return event if int(stored) >= event.batches else None
