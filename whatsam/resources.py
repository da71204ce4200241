"""The one definition of the stack's tables, queues, buckets, key and secrets.

`whatsam dev`, the LocalStack init hook and the tests all provision from here, and the
template drift test reads it, so there is no second hand-kept list."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

from botocore.exceptions import ClientError

from whatsam.adapters.aws import client
from whatsam.adapters.dynamo_models import ALL_MODELS, TTL_ATTRIBUTES, bind_models
from whatsam.config import SECRETS, SecretSpec, Settings


@dataclass(frozen=True)
class QueueSpec:
    name: str
    visibility_timeout: int = 60
    max_receive_count: int = 5


# Each queue gets a dead-letter queue `<name>-dlq` after `max_receive_count` receives.
QUEUES: tuple[QueueSpec, ...] = (
    QueueSpec("connect", visibility_timeout=120),
    QueueSpec("events", visibility_timeout=60),
    # Session status and QR events, apart from message events: a busy tenant never delays a QR.
    QueueSpec("session-events", visibility_timeout=60),
    QueueSpec("webhooks", visibility_timeout=60, max_receive_count=10),
)

BUCKETS: tuple[str, ...] = ("auth-state", "media")
# As in template.yaml: an overwritten or deleted snapshot lives on as an older version.
VERSIONED_BUCKETS = frozenset({"auth-state"})


def provision(settings: Settings) -> dict[str, list[str]]:
    """Create whatever is missing; safe to run again."""
    bind_models(settings)
    tables = []
    for model in ALL_MODELS:
        if not model.exists():
            model.create_table(wait=True, billing_mode="PAY_PER_REQUEST")
        logical = model.Meta.logical_name  # type: ignore[attr-defined]
        if logical in TTL_ATTRIBUTES:
            client("dynamodb", settings).update_time_to_live(
                TableName=model.Meta.table_name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTES[logical]},
            )
        tables.append(model.Meta.table_name)
    return {"tables": tables, "queues": [_create_queue(settings, q) for q in QUEUES],
            "buckets": [_create_bucket(settings, b) for b in BUCKETS], "keys": [_create_key(settings)],
            "secrets": [_create_secret(settings, spec) for spec in SECRETS]}


def _create_secret(settings: Settings, spec: SecretSpec) -> str:
    """A secret with a random value, as the template's GenerateSecretString makes it; an
    existing one keeps its value. Returns the name, never the value."""
    name = settings.secret_id(spec)
    try:
        client("secretsmanager", settings).create_secret(Name=name, Description=spec.purpose,
                                                         SecretString=secrets.token_urlsafe(48))
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceExistsException":
            raise
    return name


def _create_key(settings: Settings) -> str:
    """The KMS key of auth-state envelopes, by alias; an explicit WHATSAM_KMS_KEY_ID is used as is."""
    if settings.kms_key_id:
        return settings.kms_key_id
    kms = client("kms", settings)
    alias = settings.auth_state_key_id
    try:
        return str(kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"])
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "NotFoundException":
            raise
    key_id = kms.create_key(Description=f"{settings.resource_prefix} auth-state envelopes")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    return str(key_id)


def _create_queue(settings: Settings, spec: QueueSpec) -> str:
    sqs = client("sqs", settings)
    dlq_url = sqs.create_queue(QueueName=settings.queue_name(f"{spec.name}-dlq"))["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return str(sqs.create_queue(
        QueueName=settings.queue_name(spec.name),
        Attributes={
            "VisibilityTimeout": str(spec.visibility_timeout),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn,
                                         "maxReceiveCount": str(spec.max_receive_count)}),
        },
    )["QueueUrl"])


def _create_bucket(settings: Settings, logical: str) -> str:
    s3 = client("s3", settings)
    name = settings.bucket_name(logical)
    try:
        if settings.aws_region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(Bucket=name,
                             CreateBucketConfiguration={"LocationConstraint": settings.aws_region})
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
            raise
    if logical in VERSIONED_BUCKETS:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name
