"""The LocalStack init hook, run as LocalStack would run it but against the suite's moto
server: what it creates must be exactly what whatsam.resources defines (tables with their
keys, indexes and TTL, queues with redrive, buckets, the KMS alias), and running it again
must change nothing. The compose file must mount what the hook needs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from tests.deploy import cfn
from whatsam.adapters.dynamo_models import ALL_MODELS, TTL_ATTRIBUTES
from whatsam.config import SECRETS, Settings
from whatsam.dev.processes import aws_test_credentials
from whatsam.resources import BUCKETS, QUEUES

LOCALSTACK = cfn.ROOT / "localstack"
HOOK = LOCALSTACK / "init" / "ready.d" / "10-whatsam-provision.sh"

pytestmark = pytest.mark.integration


def _run_hook(endpoint: str, prefix: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WHATSAM_", "AWS_"))}
    env.update(aws_test_credentials())
    env.update({"WHATSAM_AWS_ENDPOINT_URL": endpoint, "WHATSAM_PREFIX": prefix, "WHATSAM_PYTHON": sys.executable,
                "PYTHONPATH": str(cfn.ROOT)})
    return subprocess.run(["bash", str(HOOK)], env=env, cwd=cfn.ROOT, capture_output=True, text=True, timeout=180,
                          check=False)


@pytest.fixture(scope="module")
def provisioned(aws_endpoint: str) -> dict[str, Any]:
    prefix = f"ls{uuid.uuid4().hex[:8]}"
    first = _run_hook(aws_endpoint, prefix)
    assert first.returncode == 0, first.stderr
    second = _run_hook(aws_endpoint, prefix)
    assert second.returncode == 0, f"a second run (LocalStack restarting) must succeed:\n{second.stderr}"
    report = json.loads(first.stdout[first.stdout.index("{"):])
    return {"prefix": prefix, "endpoint": aws_endpoint, "report": report,
            "rerun": json.loads(second.stdout[second.stdout.index("{"):])}


def _client(service: str, provisioned: dict[str, Any]) -> Any:
    credentials = aws_test_credentials()
    return boto3.client(service, endpoint_url=provisioned["endpoint"], region_name=credentials["AWS_DEFAULT_REGION"],
                        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"])


def test_the_hook_creates_every_table_with_its_keys_indexes_and_ttl(provisioned: dict[str, Any]) -> None:
    names = Settings(resource_prefix=provisioned["prefix"])
    dynamodb = _client("dynamodb", provisioned)
    ours = sorted(t for t in dynamodb.list_tables()["TableNames"] if t.startswith(f"{provisioned['prefix']}-"))
    assert ours == sorted(names.table_name(m.Meta.logical_name) for m in ALL_MODELS)  # type: ignore[attr-defined]
    for model in ALL_MODELS:
        logical = model.Meta.logical_name  # type: ignore[attr-defined]
        name = names.table_name(logical)
        table = dynamodb.describe_table(TableName=name)["Table"]
        ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        actual = cfn.table_actual({
            "KeySchema": table["KeySchema"], "AttributeDefinitions": table["AttributeDefinitions"],
            "GlobalSecondaryIndexes": table.get("GlobalSecondaryIndexes", []),
            "LocalSecondaryIndexes": table.get("LocalSecondaryIndexes", []),
            "TimeToLiveSpecification": {"Enabled": ttl.get("TimeToLiveStatus") == "ENABLED",
                                        "AttributeName": ttl.get("AttributeName")}})
        assert actual == cfn.table_expectation(model, TTL_ATTRIBUTES), logical
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST", logical


def test_the_hook_creates_every_queue_with_its_dead_letter_queue(provisioned: dict[str, Any]) -> None:
    names = Settings(resource_prefix=provisioned["prefix"])
    sqs = _client("sqs", provisioned)
    for spec in QUEUES:
        url = sqs.get_queue_url(QueueName=names.queue_name(spec.name))["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        dlq_url = sqs.get_queue_url(QueueName=names.queue_name(f"{spec.name}-dlq"))["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        redrive = json.loads(attributes["RedrivePolicy"])
        assert redrive["deadLetterTargetArn"] == dlq_arn
        assert int(redrive["maxReceiveCount"]) == spec.max_receive_count
        assert int(attributes["VisibilityTimeout"]) == spec.visibility_timeout


def test_the_hook_creates_the_buckets_and_the_key_alias(provisioned: dict[str, Any]) -> None:
    names = Settings(resource_prefix=provisioned["prefix"])
    s3 = _client("s3", provisioned)
    for bucket in BUCKETS:
        s3.head_bucket(Bucket=names.bucket_name(bucket))
    aliases = {a["AliasName"] for a in _client("kms", provisioned).list_aliases()["Aliases"]}
    assert names.auth_state_key_id in aliases


def test_the_hook_creates_every_secret_and_a_second_run_keeps_its_value(provisioned: dict[str, Any]) -> None:
    names = Settings(resource_prefix=provisioned["prefix"])
    sm = _client("secretsmanager", provisioned)
    assert provisioned["report"]["secrets"] == [names.secret_id(spec) for spec in SECRETS]
    for spec in SECRETS:
        secret = sm.describe_secret(SecretId=names.secret_id(spec))
        # One version: the second run did not write a new value.
        assert len(secret["VersionIdsToStages"]) == 1, spec.name
        assert len(sm.get_secret_value(SecretId=names.secret_id(spec))["SecretString"]) >= 32


def test_running_the_hook_again_changes_nothing(provisioned: dict[str, Any]) -> None:
    assert provisioned["rerun"] == provisioned["report"]


def test_the_compose_file_mounts_what_the_hook_needs() -> None:
    compose = yaml.safe_load((LOCALSTACK / "docker-compose.yml").read_text())
    localstack, redis = compose["services"]["localstack"], compose["services"]["redis"]
    services = set(localstack["environment"]["SERVICES"].split(","))
    assert {"dynamodb", "sqs", "s3", "kms", "secretsmanager"} <= services
    assert redis["image"].startswith("redis:")
    mounts = {}
    for volume in localstack["volumes"]:
        source, target = volume.split(":")[:2]
        mounts[target] = source
    assert (LOCALSTACK / mounts["/etc/localstack/init/ready.d"]).resolve() == HOOK.parent
    # Everything `pip install` of the project reads, and nothing else of the checkout.
    package = {Path(t).relative_to("/opt/whatsam-src").as_posix(): s for t, s in mounts.items()
               if t.startswith("/opt/whatsam-src/")}
    assert set(package) == {"pyproject.toml", "README.md", "whatsam", "worker_fleet"}
    for target, source in package.items():
        assert (LOCALSTACK / source).resolve() == cfn.ROOT / target
    assert os.access(HOOK, os.X_OK), "LocalStack runs only executable hooks"
