"""Local Lambda event sources: rate schedules and the SQS event shape."""

from __future__ import annotations

import hashlib

import pytest
from aws_lambda_powertools.utilities.data_classes import SQSEvent as PowertoolsSQSEvent
from aws_lambda_powertools.utilities.parser.models import SqsModel
from chalice.app import Cron, Rate, ScheduledEventConfig
from chalice.app import SQSEvent as ChaliceSQSEvent

from whatsam.dev.event_sources import expression_of, local_interval, schedule_interval, sqs_event

ARN = "arn:aws:sqs:us-east-1:123456789012:t-connect"


@pytest.mark.parametrize(("expression", "seconds"), [
    ("rate(1 minute)", 60.0), ("rate(5 minutes)", 300.0), ("rate(1 hour)", 3600.0), ("rate(2 hours)", 7200.0),
    ("rate(1 day)", 86400.0), ("rate(7 days)", 604800.0), ("  rate(10 minutes) ", 600.0),
])
def test_schedule_interval(expression: str, seconds: float) -> None:
    assert schedule_interval(expression) == seconds


@pytest.mark.parametrize("expression", ["cron(0 * * * ? *)", "rate(5 seconds)", "rate(1 week)", "rate(-1 hours)",
                                        "rate(minutes)", "", "rate(1.5 hours)", "5 minutes"])
def test_schedule_interval_rejects(expression: str) -> None:
    with pytest.raises(ValueError):
        schedule_interval(expression)


def test_calendar_schedules_read_as_their_expression_and_run_only_on_demand() -> None:
    monthly = ScheduledEventConfig(name="close_month", handler_string="app.close_month",
                                   schedule_expression=Cron(30, 0, 1, "*", "?", "*"), description="")
    hourly = ScheduledEventConfig(name="sync_usage", handler_string="app.sync_usage",
                                  schedule_expression=Rate(1, unit=Rate.HOURS), description="")
    assert expression_of(monthly) == "cron(30 0 1 * ? *)"
    assert local_interval(monthly) is None
    assert (expression_of(hourly), local_interval(hourly)) == ("rate(1 hour)", 3600.0)


def _message(body: str, *, md5: str | None = None, n: int = 1) -> dict:
    message = {
        "MessageId": f"m-{n}",
        "ReceiptHandle": f"rh-{n}",
        "Body": body,
        "Attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1700000000000",
                       "SenderId": "AIDAEXAMPLE", "ApproximateFirstReceiveTimestamp": "1700000000001"},
        "MessageAttributes": {"type": {"StringValue": "session.connect", "DataType": "String"}},
    }
    if md5 is not None:
        message["MD5OfBody"] = md5
    return message


def test_sqs_event_has_lambdas_shape() -> None:
    body = '{"hello": "world"}'
    event = sqs_event([_message(body, md5="given-md5", n=1), _message("second", n=2)], ARN, "eu-west-1")
    first, second = event["Records"]
    assert first["messageId"] == "m-1"
    assert first["receiptHandle"] == "rh-1"
    assert first["body"] == body
    assert first["md5OfBody"] == "given-md5"
    assert second["md5OfBody"] == hashlib.md5(b"second").hexdigest()  # noqa: S324 (what SQS computes)
    assert first["eventSource"] == "aws:sqs"
    assert first["eventSourceARN"] == ARN
    assert first["awsRegion"] == "eu-west-1"
    assert first["attributes"]["ApproximateReceiveCount"] == "1"
    assert first["messageAttributes"] == {"type": {"stringValue": "session.connect", "dataType": "String"}}


def test_sqs_event_parses_with_powertools_and_chalice() -> None:
    event = sqs_event([_message("a", n=1), _message("b", n=2)], ARN, "us-east-1")
    parsed = SqsModel.model_validate(event)
    assert [r.body for r in parsed.Records] == ["a", "b"]
    records = list(PowertoolsSQSEvent(event).records)
    assert [r.message_id for r in records] == ["m-1", "m-2"]
    attribute = records[0].message_attributes["type"]
    assert attribute is not None and attribute.string_value == "session.connect"
    assert records[0].event_source_arn == ARN
    assert [(r.body, r.receipt_handle) for r in ChaliceSQSEvent(event, None)] == [("a", "rh-1"), ("b", "rh-2")]


def test_sqs_event_without_optional_parts() -> None:
    event = sqs_event([{"MessageId": "x", "ReceiptHandle": "r", "Body": ""}], ARN, "us-east-1")
    record = event["Records"][0]
    assert record["attributes"] == {} and record["messageAttributes"] == {}
    assert record["md5OfBody"] == hashlib.md5(b"").hexdigest()  # noqa: S324
    assert sqs_event([], ARN, "us-east-1") == {"Records": []}
