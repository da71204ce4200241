"""Delivery jobs on the webhooks queue: one message per attempt, scheduled with SQS delays.

A wait longer than SQS's 15-minute cap hops: the job goes back on the queue with the
longest delay until `not_before` has come. Jobs live in SQS, so they survive restarts."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

from whatsam.adapters.queues import QueuePublisher
from whatsam.contracts.base import Message
from whatsam.webhooks.schedule import sqs_delay

WEBHOOKS_QUEUE = "webhooks"
# A job up to this early is run rather than hopped again (SQS delays are whole seconds).
EARLY_TOLERANCE_SECONDS = 1.0


class DeliveryJob(Message):
    type: Literal["webhook.delivery"] = "webhook.delivery"
    delivery_id: str
    round: int
    attempt: int
    # Epoch seconds before which the attempt must not run.
    not_before: float = 0.0


def decode_job(raw: str | bytes) -> DeliveryJob:
    return DeliveryJob.model_validate_json(raw)


class JobQueue:
    def __init__(self, queues: QueuePublisher, clock: Callable[[], float] = time.time):
        self._queues = queues
        self._clock = clock

    def put(self, job: DeliveryJob) -> None:
        self._queues.publish(WEBHOOKS_QUEUE, job, delay_seconds=sqs_delay(job.not_before - self._clock()))

    def due(self, job: DeliveryJob) -> bool:
        return job.not_before - self._clock() <= EARLY_TOLERANCE_SECONDS
