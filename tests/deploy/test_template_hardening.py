"""What the deployed stack promises beyond naming: encryption and retention of state,
least-privilege roles, the worker's stop behaviour and health check, autoscaling, alarms,
and that the functions run the artefact scripts/build-lambda builds."""

from __future__ import annotations

import re
from typing import Any

from infra import lambda_bundle
from tests.deploy import cfn

STATEFUL = ("AWS::DynamoDB::Table", "AWS::KMS::Key")
# EC2 ENI calls of VPC functions, which IAM cannot scope to a resource.
UNSCOPABLE_ACTIONS = {"ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
                      "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"}
INBOX_ARN = {"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${Prefix}-inbox-*"}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(role_id: str) -> list[dict[str, Any]]:
    return [s for policy in cfn.props(role_id).get("Policies", [])
            for s in policy["PolicyDocument"]["Statement"]]


def _bucket(logical: str) -> tuple[str, dict[str, Any]]:
    logical_id = cfn.by_physical_name("AWS::S3::Bucket", "BucketName")[f"{cfn.PREFIX}-{logical}"]
    return logical_id, cfn.props(logical_id)


def _bucket_policy(bucket_id: str) -> list[dict[str, Any]]:
    for policy in cfn.resources("AWS::S3::BucketPolicy").values():
        if cfn.referenced_id(policy["Properties"]["Bucket"]) == bucket_id:
            return list(policy["Properties"]["PolicyDocument"]["Statement"])
    return []


# ------------------------------------------------------------------------------ state


def test_auth_state_bucket_is_kms_encrypted_with_our_key_versioned_and_private() -> None:
    bucket_id, bucket = _bucket("auth-state")
    [rule] = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    default = rule["ServerSideEncryptionByDefault"]
    assert default["SSEAlgorithm"] == "aws:kms"
    assert cfn.referenced_id(default["KMSMasterKeyID"]) == "AuthStateKey"
    assert rule["BucketKeyEnabled"] is True
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    policy = _bucket_policy(bucket_id)
    encryption = [s for s in policy if s["Effect"] == "Deny" and "s3:PutObject" in _as_list(s["Action"])
                  and s.get("Condition", {}).get("StringNotEquals", {}).get("s3:x-amz-server-side-encryption")
                  == "aws:kms"]
    assert encryption, "puts without SSE-KMS must be denied"
    key_pinned = [s for s in policy if s["Effect"] == "Deny" and cfn.referenced_id(
        s.get("Condition", {}).get("StringNotEqualsIfExists", {}).get(
            "s3:x-amz-server-side-encryption-aws-kms-key-id")) == "AuthStateKey"]
    assert key_pinned, "puts naming another KMS key must be denied"


def test_every_bucket_is_private_and_tls_only() -> None:
    for logical_id, body in cfn.resources("AWS::S3::Bucket").items():
        block = body["Properties"]["PublicAccessBlockConfiguration"]
        assert all(block[k] is True for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls",
                                              "RestrictPublicBuckets")), logical_id
        assert "BucketEncryption" in body["Properties"], logical_id
        tls = [s for s in _bucket_policy(logical_id) if s["Effect"] == "Deny"
               and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"]
        assert tls, f"{logical_id} must deny requests without TLS"


def test_media_expires() -> None:
    _, media = _bucket("media")
    rules = media["LifecycleConfiguration"]["Rules"]
    assert any(r.get("Status") == "Enabled" and r.get("ExpirationInDays") for r in rules)


def test_state_survives_stack_deletion() -> None:
    retained = [*cfn.resources("AWS::DynamoDB::Table"), *cfn.resources("AWS::KMS::Key"), _bucket("auth-state")[0]]
    for logical_id in retained:
        body = cfn.resources()[logical_id]
        assert body.get("DeletionPolicy") == "Retain" and body.get("UpdateReplacePolicy") == "Retain", logical_id


def test_queues_are_encrypted() -> None:
    for logical_id, body in cfn.resources("AWS::SQS::Queue").items():
        properties = body["Properties"]
        assert properties.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in properties, logical_id


def test_the_key_rotates() -> None:
    for logical_id, body in cfn.resources("AWS::KMS::Key").items():
        assert body["Properties"]["EnableKeyRotation"] is True, logical_id


# ------------------------------------------------------------------------------ IAM


def _roles_in_use() -> dict[str, str]:
    """role logical id -> what uses it (a function, or the worker task)."""
    roles: dict[str, str] = {}
    for function_id, properties in cfn.functions().items():
        role = cfn.referenced_id(properties.get("Role"))
        assert role, f"{function_id} must name its own role (SAM's default role is not scoped)"
        assert role not in roles, f"{function_id} shares {role} with {roles[role]}"
        roles[role] = function_id
    for task in cfn.resources("AWS::ECS::TaskDefinition").values():
        roles[str(cfn.referenced_id(task["Properties"]["TaskRoleArn"]))] = "worker task"
    return roles


def test_roles_grant_no_wildcard_actions_and_only_this_stacks_resources() -> None:
    template_ids = set(cfn.resources())
    problems = []
    for role_id in _roles_in_use():
        for statement in _statements(role_id):
            actions = _as_list(statement["Action"])
            wild = [a for a in actions if a == "*" or a.endswith(":*")]
            if wild:
                problems.append(f"{role_id}/{statement.get('Sid')}: wildcard actions {wild}")
            for resource in _as_list(statement["Resource"]):
                if resource == "*":
                    if not set(actions) <= UNSCOPABLE_ACTIONS:
                        problems.append(f"{role_id}/{statement.get('Sid')}: Resource * for "
                                        f"{sorted(set(actions) - UNSCOPABLE_ACTIONS)}")
                elif resource != INBOX_ARN and cfn.referenced_id(resource) not in template_ids:
                    problems.append(f"{role_id}/{statement.get('Sid')}: {resource} is not a resource of this stack")
    assert not problems, "\n".join(problems)


def test_the_api_role_reaches_every_table_and_its_indexes() -> None:
    granted = {str(cfn.referenced_id(r)) + ("/index" if isinstance(r, dict) and "Fn::Sub" in r else "")
               for s in _statements("ApiFunctionRole") if any(a.startswith("dynamodb:") for a in _as_list(s["Action"]))
               for r in _as_list(s["Resource"])}
    missing = []
    for table_id, body in cfn.resources("AWS::DynamoDB::Table").items():
        if table_id not in granted:
            missing.append(f'!GetAtt {table_id}.Arn')
        if body["Properties"].get("GlobalSecondaryIndexes") and f"{table_id}/index" not in granted:
            missing.append(f'!Sub "${{{table_id}.Arn}}/index/*"')
    assert not missing, f"ApiFunctionRole's Tables statement lacks: {', '.join(missing)}"


def test_the_worker_task_role_is_not_its_execution_role() -> None:
    for task in cfn.resources("AWS::ECS::TaskDefinition").values():
        properties = task["Properties"]
        assert cfn.referenced_id(properties["TaskRoleArn"]) != cfn.referenced_id(properties["ExecutionRoleArn"])


# ------------------------------------------------------------------------------ functions


def test_functions_run_the_zip_scripts_build_lambda_builds() -> None:
    expected = (lambda_bundle.BUILD_DIR / lambda_bundle.ZIP_NAME).relative_to(cfn.ROOT).as_posix()
    for function_id, properties in cfn.functions().items():
        assert properties["CodeUri"] == expected, function_id
        assert properties["Runtime"] == f"python{lambda_bundle.PYTHON_VERSION}", function_id
        assert properties["Architectures"] == ["x86_64"], f"{function_id}: the bundle's wheels are x86_64"


def test_every_function_has_an_error_rate_alarm() -> None:
    watched = set()
    for alarm in cfn.resources("AWS::CloudWatch::Alarm").values():
        for query in alarm["Properties"].get("Metrics", []):
            metric = query.get("MetricStat", {}).get("Metric", {})
            if metric.get("Namespace") == "AWS/Lambda" and metric.get("MetricName") == "Errors":
                watched |= {cfn.referenced_id(d["Value"]) for d in metric.get("Dimensions", [])}
    assert set(cfn.functions()) <= watched, f"no error alarm for {sorted(set(cfn.functions()) - watched)}"


def test_the_api_url_is_an_output() -> None:
    url = cfn.template()["Outputs"]["ApiUrl"]["Value"]["Fn::Sub"]
    assert url.startswith("https://${Api}.execute-api.") and url.endswith("/${StageName}")


# ------------------------------------------------------------------------------ worker fleet


def _worker_container() -> dict[str, Any]:
    [task] = cfn.resources("AWS::ECS::TaskDefinition").values()
    [container] = task["Properties"]["ContainerDefinitions"]
    return dict(container)


def test_the_worker_stops_gracefully_and_is_health_checked() -> None:
    container = _worker_container()
    assert container["StopTimeout"] == 120, "the drain needs ECS's full two minutes before SIGKILL"
    assert container["HealthCheck"]["Command"][0] == "CMD"
    environment = {v["Name"]: v["Value"] for v in container["Environment"]}
    assert environment["WHATSAM_ENGINE"] == "neonize"
    port = int(environment["WHATSAM_WORKER_HTTP_PORT"])
    assert [m["ContainerPort"] for m in container["PortMappings"]] == [port]
    dockerfile = (cfn.ROOT / "infra" / "worker" / "Dockerfile").read_text()
    assert f"WHATSAM_WORKER_HTTP_PORT={port}" in dockerfile, "the image and the task agree on the health port"
    assert f"{container['HealthCheck']['Command'][1]}" in dockerfile, "the task runs the image's health check"
    [service] = cfn.resources("AWS::ECS::Service").values()
    assert service["Properties"]["LaunchType"] == "FARGATE"


def test_the_fleet_scales_on_connect_queue_depth() -> None:
    [target_id] = cfn.resources("AWS::ApplicationAutoScaling::ScalableTarget")
    policies = {pid: body["Properties"] for pid, body in
                cfn.resources("AWS::ApplicationAutoScaling::ScalingPolicy").items()}
    assert all(cfn.referenced_id(p["ScalingTargetId"]) == target_id for p in policies.values())
    driven = [alarm["Properties"] for alarm in cfn.resources("AWS::CloudWatch::Alarm").values()
              if any(cfn.referenced_id(a) in policies for a in alarm["Properties"].get("AlarmActions", []))]
    assert any(a["Namespace"] == "AWS/SQS" and cfn.referenced_id(a["Dimensions"][0]["Value"]) == "ConnectQueue"
               for a in driven), "a scaling alarm on the connect queue's backlog"


def test_worker_log_alarms_match_what_the_worker_logs() -> None:
    """The heartbeat and error alarms count worker log lines; renaming a message must break this."""
    sources = "\n".join(p.read_text() for p in (cfn.ROOT / "worker_fleet").rglob("*.py"))
    filters = [f["Properties"] for f in cfn.resources("AWS::Logs::MetricFilter").values()]
    assert filters
    for metric_filter in filters:
        assert cfn.referenced_id(metric_filter["LogGroupName"]) == "WorkerLogGroup"
        phrase = re.fullmatch(r'"(.+)"', metric_filter["FilterPattern"])
        assert phrase, metric_filter["FilterPattern"]
        text = phrase.group(1)
        if text.strip() == "ERROR":
            assert re.search(r"\s%\(levelname\)s\s", sources), "the worker's log format puts the level between spaces"
        else:
            assert text in sources, f"no worker code logs {text!r} any more; fix the metric filter"
        names = {m["MetricName"] for m in metric_filter["MetricTransformations"]}
        alarmed = {a["Properties"].get("MetricName") for a in cfn.resources("AWS::CloudWatch::Alarm").values()}
        assert names <= alarmed, f"metrics without an alarm: {names - alarmed}"
