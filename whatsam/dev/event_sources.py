"""Lambda's event sources, locally: SQS pollers, schedules and EventBridge rules that call the
very handler functions Lambda calls, with events of the shape Lambda sends."""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from chalice.app import Chalice, CloudWatchEventConfig, ScheduledEventConfig, SQSEventConfig

from whatsam.adapters.aws import client
from whatsam.config import Settings

log = logging.getLogger("whatsam.dev")

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass
class LambdaContext:
    function_name: str
    deadline: float
    aws_request_id: str = ""
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:local:000000000000:function:whatsam"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


def _context(name: str, timeout: float) -> LambdaContext:
    return LambdaContext(function_name=name, deadline=time.monotonic() + timeout, aws_request_id=str(uuid.uuid4()))


def schedule_interval(expression: str) -> float:
    """Seconds between runs of a `rate(...)` expression; cron schedules are not run locally."""
    match = _RATE.match(expression.strip())
    if not match:
        raise ValueError(f"only rate(...) schedules run locally, got {expression!r}")
    amount, unit = int(match.group(1)), match.group(2).rstrip("s")
    return float(amount * _UNIT_SECONDS[unit])


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    return {"Records": [{
        "messageId": m["MessageId"],
        "receiptHandle": m["ReceiptHandle"],
        "body": m["Body"],
        "attributes": m.get("Attributes", {}),
        "messageAttributes": {
            k: {"stringValue": v.get("StringValue"), "dataType": v.get("DataType")}
            for k, v in m.get("MessageAttributes", {}).items()
        },
        "md5OfBody": m.get("MD5OfBody") or hashlib.md5(m["Body"].encode(), usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    } for m in messages]}


class SqsPoller(threading.Thread):
    """Long-polls one queue and hands batches to the handler; deletes what succeeded and
    leaves partial-batch failures for redelivery, as Lambda's event source mapping does."""

    def __init__(self, app: Chalice, source: SQSEventConfig, settings: Settings, stop: threading.Event):
        super().__init__(name=f"sqs-{source.name}", daemon=True)
        self._handler = app.handler_map[source.name]
        self._source = source
        self._settings = settings
        self._halt = stop
        self._sqs = client("sqs", settings)
        self.queue_url = self._sqs.get_queue_url(QueueName=settings.queue_name(source.queue or ""))["QueueUrl"]
        self._queue_arn = self._sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                self.poll_once(wait_seconds=1)
            except Exception:
                log.exception("SQS poller %s failed; retrying", self._source.name)
                self._halt.wait(1.0)

    def poll_once(self, wait_seconds: int = 0) -> int:
        response = self._sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=min(self._source.batch_size, 10),
            WaitTimeSeconds=wait_seconds, AttributeNames=["All"], MessageAttributeNames=["All"])
        messages = response.get("Messages", [])
        if not messages:
            return 0
        event = sqs_event(messages, self._queue_arn, self._settings.aws_region)
        try:
            result = self._handler(event, _context(self._source.name, 60))
        except Exception:
            # A raised error fails the whole batch: nothing is deleted, all come back.
            log.exception("handler %s raised; the batch will be redelivered", self._source.name)
            return 0
        failed = {item["itemIdentifier"] for item in (result or {}).get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self._sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)])
        return len(done)


def ecs_task_stopped_event(task_id: str, region: str, reason: str) -> dict[str, Any]:
    """ECS's "task stopped" event (the fields the handlers read, and a few more for realism)."""
    cluster = f"arn:aws:ecs:{region}:000000000000:cluster/whatsam-dev"
    task = f"arn:aws:ecs:{region}:000000000000:task/whatsam-dev/{task_id}"
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "ECS Task State Change", "source": "aws.ecs",
            "account": "000000000000", "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "region": region, "resources": [task],
            "detail": {"taskArn": task, "clusterArn": cluster, "lastStatus": "STOPPED", "desiredStatus": "STOPPED",
                       "stopCode": "EssentialContainerExited", "stoppedReason": reason}}


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """EventBridge matching for the patterns this app uses: each key lists the accepted
    values, or nests a pattern for a nested object."""
    for key, wanted in pattern.items():
        value = event.get(key)
        if isinstance(wanted, dict):
            if not isinstance(value, dict) or not matches(wanted, value):
                return False
        elif value not in wanted:
            return False
    return True


def put_event(app: Chalice, event: dict[str, Any]) -> list[Any]:
    """What EventBridge does with an event: every rule (`on_cw_event` handler) it matches runs."""
    return [app.handler_map[source.name](event, _context(source.name, 60)) for source in app.event_sources
            if isinstance(source, CloudWatchEventConfig) and matches(source.event_pattern, event)]


def scheduled_event(source: ScheduledEventConfig, region: str) -> dict[str, Any]:
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "000000000000", "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "region": region, "resources": [f"arn:aws:events:{region}:000000000000:rule/{source.name}"],
            "detail": {}}


class Scheduler(threading.Thread):
    """Runs each `rate(...)` schedule of the app at its interval (first run one interval in)."""

    def __init__(self, app: Chalice, sources: list[ScheduledEventConfig], settings: Settings,
                 stop: threading.Event, *, speedup: float = 1.0):
        super().__init__(name="scheduler", daemon=True)
        self._app = app
        self._settings = settings
        self._halt = stop
        now = time.monotonic()
        self._plan = [(source, interval / speedup) for source in sources
                      if (interval := local_interval(source)) is not None]
        self._due = {source.name: now + interval for source, interval in self._plan}

    def run_now(self, name: str) -> Any:
        source = next(s for s, _ in self._plan if s.name == name)
        return self._app.handler_map[name](scheduled_event(source, self._settings.aws_region), _context(name, 900))

    def run(self) -> None:
        while not self._halt.wait(0.5):
            now = time.monotonic()
            for source, interval in self._plan:
                if now >= self._due[source.name]:
                    self._due[source.name] = now + interval
                    try:
                        self.run_now(source.name)
                    except Exception:
                        log.exception("scheduled handler %s failed", source.name)


def local_interval(source: ScheduledEventConfig) -> float | None:
    """Seconds between local runs of a schedule; None for a `cron(...)` one, which is bound to
    the calendar (the monthly close): locally it runs on demand (`whatsam billing close`)."""
    expression = expression_of(source)
    if expression.strip().startswith("cron("):
        return None
    return schedule_interval(expression)


def split_sources(app: Chalice) -> tuple[list[SQSEventConfig], list[ScheduledEventConfig]]:
    sqs = [s for s in app.event_sources if isinstance(s, SQSEventConfig)]
    schedules = [s for s in app.event_sources if isinstance(s, ScheduledEventConfig)]
    return sqs, schedules


def expression_of(source: ScheduledEventConfig) -> str:
    """The schedule as its `rate(...)`/`cron(...)` text (Chalice keeps objects for some)."""
    expression = source.schedule_expression
    return expression.to_string() if hasattr(expression, "to_string") else str(expression)
