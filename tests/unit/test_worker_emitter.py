"""The worker's HTTP event sink: a refused event (409) is dropped, since sending it again
cannot change the answer and raising would cut short the ending that emitted it; any
other failure still raises, so the caller knows the event did not get through."""

from __future__ import annotations

import json
import urllib.error

import pytest

from tests.support.webhook_receiver import Receiver, always
from whatsam.contracts.events import SessionStatusEvent, make_seq
from worker_fleet.emitter import HttpSink


def _event() -> SessionStatusEvent:
    return SessionStatusEvent(session_id="ses_x", tenant_id="usr_x", seq=make_seq(1, 1), worker_id="w-1",
                              status="logged_out")


def test_a_refused_event_is_dropped_other_failures_raise() -> None:
    receiver = Receiver(script=always(409))
    try:
        sink = HttpSink(receiver.url, "worker-token")
        sink.emit(_event())
        [request] = receiver.requests
        assert request.headers["authorization"] == "Bearer worker-token"
        assert json.loads(request.body)["events"][0]["status"] == "logged_out"
        for status in (401, 500):
            receiver.script = always(status)
            with pytest.raises(urllib.error.HTTPError):
                sink.emit(_event())
    finally:
        receiver.close()
