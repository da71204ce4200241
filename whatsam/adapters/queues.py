"""Publishing commands to SQS queues by logical name."""

from __future__ import annotations

import threading
from typing import Any

from whatsam.adapters.aws import client
from whatsam.config import Settings
from whatsam.contracts.base import Message


class QueuePublisher:
    def __init__(self, settings: Settings):
        self._settings = settings
        self._urls: dict[str, str] = {}
        self._lock = threading.Lock()

    @property
    def _sqs(self) -> Any:
        return client("sqs", self._settings)

    def url(self, logical_name: str) -> str:
        with self._lock:
            if logical_name not in self._urls:
                self._urls[logical_name] = self._sqs.get_queue_url(
                    QueueName=self._settings.queue_name(logical_name))["QueueUrl"]
            return self._urls[logical_name]

    def publish(self, logical_name: str, message: Message, *, delay_seconds: int = 0) -> str:
        response = self._sqs.send_message(
            QueueUrl=self.url(logical_name),
            MessageBody=message.to_json(),
            DelaySeconds=delay_seconds,
            MessageAttributes={"type": {"DataType": "String", "StringValue": getattr(message, "type", "")}},
        )
        return str(response["MessageId"])
