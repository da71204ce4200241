"""Webhook suites: the real webhooks-queue handler drained by a poller thread (as Lambda
would), with the retry schedule compressed to seconds; local receivers on loopback (the
test stack runs in dev mode, which admits http and loopback targets)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.webhooks.helpers import Owner, new_owner
from tests.support.webhook_receiver import Receiver
from whatsam.bootstrap import Container
from whatsam.dev.event_sources import SqsPoller, split_sources
from whatsam.webhooks.schedule import RetryPolicy

# Three retries a second apart (SQS delays are whole seconds), no jitter: four attempts.
FAST_RETRIES = RetryPolicy(delays=(1.0, 1.0, 1.0), jitter=0.0)


@pytest.fixture(scope="module")
def deliver(chalice_app: Any, services: Container, settings: Any) -> Iterator[None]:
    deliverer = services.webhooks.deliverer
    saved = (deliverer.policy, deliverer.disable_after)
    deliverer.policy = FAST_RETRIES
    stop = threading.Event()
    source = next(s for s in split_sources(chalice_app)[0] if s.queue == "webhooks")
    poller = SqsPoller(chalice_app, source, settings, stop)
    poller.start()
    yield
    stop.set()
    poller.join(10)
    deliverer.policy, deliverer.disable_after = saved


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def owner(api: Any) -> Owner:
    return new_owner(api)
