"""The delivery state machine against the real tables, one job at a time (no poller): the
queue is at-least-once and handlers die, so a duplicate job, a job redelivered after its
outcome was recorded, a job racing a live claim, a job of an older round and a job not yet
due must each make at most the one attempt they stand for."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.webhooks.helpers import Owner, create_endpoint
from tests.support.webhook_receiver import Receiver, always
from whatsam.webhooks.delivery import WebhookDeliverer
from whatsam.webhooks.fanout import WebhookFanout
from whatsam.webhooks.jobs import DeliveryJob
from whatsam.webhooks.models import Delivery, DeliveryStatus, Notification
from whatsam.webhooks.repository import DeliveryRepository, EndpointRepository
from whatsam.webhooks.schedule import RetryPolicy
from whatsam.webhooks.secret_box import SecretBox
from whatsam.webhooks.ssrf import SsrfGuard
from whatsam.webhooks.transport import PinnedTransport

pytestmark = pytest.mark.integration


class RecordedJobs:
    """Stands in for the webhooks queue: keeps what would have been sent."""

    def __init__(self) -> None:
        self.sent: list[DeliveryJob] = []

    def put(self, job: DeliveryJob) -> None:
        self.sent.append(job)

    def due(self, job: DeliveryJob) -> bool:
        return job.not_before - time.time() <= 1.0


class Rig:
    def __init__(self, settings: Any):
        self.jobs = RecordedJobs()
        self.endpoints, self.deliveries = EndpointRepository(), DeliveryRepository(30)
        self.fanout = WebhookFanout(self.endpoints, self.deliveries, self.jobs)  # type: ignore[arg-type]
        self.deliverer = WebhookDeliverer(
            self.endpoints, self.deliveries, self.jobs, SecretBox(settings),  # type: ignore[arg-type]
            SsrfGuard(allow_insecure=True), PinnedTransport(timeout=5), RetryPolicy(delays=(60.0, 60.0), jitter=0),
            self.fanout, timeout=5, disable_after=timedelta(days=5))

    def delivery(self, owner: Owner, endpoint_id: str) -> Delivery:
        endpoint = self.endpoints.get(endpoint_id)
        assert endpoint is not None
        notification = Notification(event_id=f"evt_{time.time_ns()}", event_type="webhook.test",
                                    tenant_id=owner.user_id, session_id=None, occurred_at=datetime.now(UTC),
                                    data={"session_id": None})
        return self.fanout.enqueue(endpoint, notification)

    def current(self, delivery: Delivery) -> Delivery:
        found = self.deliveries.get(delivery.delivery_id)
        assert found is not None
        return found


@pytest.fixture
def rig(settings: Any) -> Rig:
    return Rig(settings)


@pytest.fixture
def failing(receiver: Receiver) -> Iterator[Receiver]:
    receiver.script = always(500)
    yield receiver


def test_the_first_job_is_queued_once_per_event(api: Any, owner: Owner, rig: Rig, receiver: Receiver) -> None:
    endpoint = create_endpoint(api, owner, receiver.url)
    delivery = rig.delivery(owner, endpoint["id"])
    assert rig.jobs.sent == [DeliveryJob(delivery_id=delivery.delivery_id, round=1, attempt=1)]
    # The same event again (a redelivered SQS record) before any attempt: the job is queued
    # again (the first may never have been), the delivery is not duplicated.
    endpoint_model = rig.endpoints.get(endpoint["id"])
    assert endpoint_model is not None
    again = rig.fanout.enqueue(endpoint_model, Notification(
        event_id=delivery.event_id, event_type="webhook.test", tenant_id=owner.user_id, session_id=None,
        occurred_at=datetime.now(UTC), data={"session_id": None}))
    assert again.delivery_id == delivery.delivery_id and again.payload == delivery.payload
    assert len(rig.jobs.sent) == 2
    # Once attempted, a late duplicate event queues nothing.
    rig.deliverer.handle(rig.jobs.sent[0])
    rig.fanout.enqueue(endpoint_model, Notification(
        event_id=delivery.event_id, event_type="webhook.test", tenant_id=owner.user_id, session_id=None,
        occurred_at=datetime.now(UTC), data={"session_id": None}))
    assert len(rig.jobs.sent) == 2


def test_a_duplicate_job_makes_no_second_attempt(api: Any, owner: Owner, rig: Rig, receiver: Receiver) -> None:
    endpoint = create_endpoint(api, owner, receiver.url)
    delivery = rig.delivery(owner, endpoint["id"])
    job = rig.jobs.sent[-1]
    rig.deliverer.handle(job)
    rig.deliverer.handle(job)
    assert len(receiver.requests) == 1
    assert rig.current(delivery).status is DeliveryStatus.SUCCEEDED
    assert rig.current(delivery).attempt_count == 1


def test_a_job_redelivered_after_its_outcome_only_requeues_the_follow_up(api: Any, owner: Owner, rig: Rig,
                                                                        failing: Receiver) -> None:
    endpoint = create_endpoint(api, owner, failing.url)
    delivery = rig.delivery(owner, endpoint["id"])
    first = rig.jobs.sent[-1]
    rig.deliverer.handle(first)
    follow_up = rig.jobs.sent[-1]
    assert (follow_up.round, follow_up.attempt) == (1, 2)
    assert follow_up.not_before >= time.time() + 55
    # The handler "died" before SQS deleted the message: it comes back.
    rig.deliverer.handle(first)
    assert len(failing.requests) == 1
    assert rig.jobs.sent[-1] == follow_up
    assert rig.current(delivery).attempt_count == 1 and rig.current(delivery).status is DeliveryStatus.PENDING


def test_a_job_not_yet_due_goes_back_on_the_queue(api: Any, owner: Owner, rig: Rig, failing: Receiver) -> None:
    endpoint = create_endpoint(api, owner, failing.url)
    rig.delivery(owner, endpoint["id"])
    rig.deliverer.handle(rig.jobs.sent[-1])
    follow_up = rig.jobs.sent[-1]
    count = len(rig.jobs.sent)
    rig.deliverer.handle(follow_up)
    assert len(failing.requests) == 1
    assert len(rig.jobs.sent) == count + 1 and rig.jobs.sent[-1] == follow_up


def test_a_live_claim_keeps_a_second_handler_out_until_it_runs_out(api: Any, owner: Owner, rig: Rig,
                                                                   receiver: Receiver) -> None:
    endpoint = create_endpoint(api, owner, receiver.url)
    delivery = rig.delivery(owner, endpoint["id"])
    now = time.time()
    assert rig.deliveries.claim(delivery.delivery_id, 1, 1, now=now, until=now + 60)
    rig.deliverer.handle(rig.jobs.sent[-1])
    assert receiver.requests == []
    # The claimant died: its claim runs out and the redelivered job makes the attempt.
    assert rig.deliveries.claim(delivery.delivery_id, 1, 1, now=now + 61, until=now - 1)
    rig.deliverer.handle(rig.jobs.sent[-1])
    assert len(receiver.requests) == 1
    assert rig.current(delivery).status is DeliveryStatus.SUCCEEDED


def test_a_job_of_an_older_round_is_dropped(api: Any, owner: Owner, rig: Rig, failing: Receiver) -> None:
    endpoint = create_endpoint(api, owner, failing.url)
    delivery = rig.delivery(owner, endpoint["id"])
    rig.deliverer.handle(rig.jobs.sent[-1])
    old_follow_up = rig.jobs.sent[-1]
    rig.deliveries.abandon(delivery.delivery_id, 1, "test", datetime.now(UTC))
    restarted = rig.deliveries.start_round(rig.current(delivery), datetime.now(UTC))
    assert restarted is not None and restarted.round == 2
    rig.deliverer.handle(old_follow_up.model_copy(update={"not_before": 0.0}))
    assert len(failing.requests) == 1
    failing.script = always(200)
    rig.deliverer.handle(DeliveryJob(delivery_id=delivery.delivery_id, round=2, attempt=1))
    assert len(failing.requests) == 2
    final = rig.current(delivery)
    assert final.status is DeliveryStatus.SUCCEEDED
    assert [(a.round, a.status_code) for a in final.attempts] == [(1, 500), (2, 200)]


def test_the_last_attempt_fails_the_delivery(api: Any, owner: Owner, rig: Rig, failing: Receiver) -> None:
    endpoint = create_endpoint(api, owner, failing.url)
    delivery = rig.delivery(owner, endpoint["id"])
    for _ in range(3):
        rig.deliverer.handle(rig.jobs.sent[-1].model_copy(update={"not_before": 0.0}))
    final = rig.current(delivery)
    assert final.status is DeliveryStatus.FAILED and final.next_attempt_at is None
    assert [a.number for a in final.attempts] == [1, 2, 3]
    assert len(failing.requests) == 3
    health = rig.endpoints.get(endpoint["id"])
    assert health is not None and health.failed_deliveries == 1 and health.enabled


def test_a_deleted_endpoint_ends_its_pending_deliveries(api: Any, owner: Owner, rig: Rig, receiver: Receiver) -> None:
    endpoint = create_endpoint(api, owner, receiver.url)
    delivery = rig.delivery(owner, endpoint["id"])
    assert api.call("DELETE", f"/v1/webhooks/{endpoint['id']}", token=owner.token).status == 204
    rig.deliverer.handle(rig.jobs.sent[-1])
    assert receiver.requests == []
    final = rig.current(delivery)
    assert (final.status, final.last_error) == (DeliveryStatus.FAILED, "endpoint_deleted")


def test_the_delivery_log_expires_with_ttl(api: Any, owner: Owner, rig: Rig, receiver: Receiver) -> None:
    from whatsam.adapters.webhook_models import WebhookDeliveryModel

    endpoint = create_endpoint(api, owner, receiver.url)
    delivery = rig.delivery(owner, endpoint["id"])
    ttl = WebhookDeliveryModel.get(delivery.delivery_id).ttl
    assert ttl is not None
    assert abs(ttl - (datetime.now(UTC) + timedelta(days=30)).timestamp()) < 120
