"""Sends worker events to the control plane: the events queue in AWS, or
POST /v1/internal/events with the worker token for workers running elsewhere."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from typing import Protocol

from whatsam.adapters.queues import QueuePublisher
from whatsam.contracts.events import Event, SessionQrEvent, SessionStatusEvent

EVENTS_QUEUE = "events"
# Session status and QR codes have their own queue (and consumer), so a burst of message
# events never holds back a QR or a `connected`.
SESSION_EVENTS_QUEUE = "session-events"


def event_queue(event: Event) -> str:
    return SESSION_EVENTS_QUEUE if isinstance(event, SessionStatusEvent | SessionQrEvent) else EVENTS_QUEUE

log = logging.getLogger("whatsam.emitter")

# The control plane refused the event for good (its session is gone, or our lease moved on):
# sending it again cannot help, and raising would cut short whatever emitted it.
REFUSED = 409


class EventSink(Protocol):
    def emit(self, event: Event) -> None: ...


class QueueSink:
    def __init__(self, queues: QueuePublisher):
        self._queues = queues

    def emit(self, event: Event) -> None:
        self._queues.publish(event_queue(event), event)


class HttpSink:
    def __init__(self, url: str, token: str, timeout: float = 10.0):
        if not url.startswith(("https://", "http://")):
            raise ValueError(f"events URL must be http(s), got {url!r}")
        self._url = url
        self._token = token
        self._timeout = timeout

    def emit(self, event: Event) -> None:
        body = json.dumps({"events": [json.loads(event.to_json())]}).encode()
        request = urllib.request.Request(self._url, data=body, method="POST", headers={  # noqa: S310 (checked)
            "Content-Type": "application/json", "Authorization": f"Bearer {self._token}"})
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310 (operator-set URL)
                if response.status >= 300:
                    raise RuntimeError(f"event ingestion answered {response.status}")
        except urllib.error.HTTPError as exc:
            if exc.code != REFUSED:
                raise
            log.warning("the control plane refused %s of %s: %s", type(event).__name__, event.session_id,
                        exc.read()[:300].decode(errors="replace"))
