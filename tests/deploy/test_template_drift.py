"""template.yaml against the code it deploys, both ways: every route and event handler of the
Chalice app, every table of ALL_MODELS and every queue and bucket of whatsam.resources has its
resource under the name the code computes, and the template has nothing the code lacks. A
failure names what is missing and, where it helps, shows the YAML to add."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.deploy import cfn
from whatsam.adapters.dynamo_models import ALL_MODELS, TTL_ATTRIBUTES
from whatsam.config import Settings
from whatsam.http.gateway_responses import GATEWAY_RESPONSES
from whatsam.resources import BUCKETS, QUEUES

NAMES = Settings(resource_prefix=cfn.PREFIX)


def _api_operations() -> dict[tuple[str, str], dict[str, Any]]:
    [api_id] = cfn.resources("AWS::Serverless::Api")
    body = cfn.props(api_id)["DefinitionBody"]
    return {(method.upper(), path): operation for path, methods in body["paths"].items()
            for method, operation in methods.items()}


def _functions_by_handler() -> dict[str, list[str]]:
    handlers: dict[str, list[str]] = {}
    for logical_id, properties in cfn.functions().items():
        handlers.setdefault(properties["Handler"], []).append(logical_id)
    return handlers


def _events(logical_id: str, kind: str) -> list[dict[str, Any]]:
    events = cfn.functions()[logical_id].get("Events") or {}
    return [dict(e.get("Properties", {})) for e in events.values() if e["Type"] == kind]


# ------------------------------------------------------------------------------ HTTP routes


def test_every_route_of_the_app_is_an_api_operation_and_nothing_else_is() -> None:
    routes = cfn.app_facts().routes
    operations = _api_operations()
    missing = sorted(set(routes) - set(operations), key=lambda r: (r[1], r[0]))
    extra = sorted(set(operations) - set(routes), key=lambda r: (r[1], r[0]))
    assert not missing, (
        "routes of the Chalice app missing from template.yaml (add under Api.Properties.DefinitionBody.paths):\n"
        + "\n".join(f"- {m} {p} (view {routes[(m, p)]}):\n{cfn.route_snippet(m, p)}" for m, p in missing))
    assert not extra, ("template.yaml routes the app does not have (remove them, or they answer 404 "
                       "through the app): " + ", ".join(f"{m} {p}" for m, p in extra))


def test_every_api_operation_proxies_to_the_api_function_with_its_path_parameters() -> None:
    handlers = _functions_by_handler()
    assert handlers.get("app.app") == ["ApiFunction"], f"exactly one function runs app.app: {handlers.get('app.app')}"
    wrong = []
    for (method, path), operation in sorted(_api_operations().items()):
        integration = operation.get("x-amazon-apigateway-integration", {})
        uri = integration.get("uri", {})
        if (integration.get("type") != "aws_proxy" or integration.get("httpMethod") != "POST"
                or uri != {"Fn::Sub": cfn.INTEGRATION_URI}):
            wrong.append(f"{method} {path}: not an aws_proxy integration of ApiFunction")
        declared = [p["name"] for p in operation.get("parameters", []) if p.get("in") == "path"]
        if sorted(declared) != sorted(cfn.path_parameters(path)):
            wrong.append(f"{method} {path}: path parameters {declared} != {cfn.path_parameters(path)}")
    assert not wrong, "\n".join(wrong)


def test_api_gateway_may_invoke_the_api_function() -> None:
    grants = [p for p in cfn.resources("AWS::Lambda::Permission").values()
              if cfn.referenced_id(p["Properties"]["FunctionName"]) == "ApiFunction"]
    assert len(grants) == 1
    grant = grants[0]["Properties"]
    assert grant["Principal"] == "apigateway.amazonaws.com" and grant["Action"] == "lambda:InvokeFunction"
    assert cfn.referenced_id(grant["SourceArn"]) == "Api"


def test_binary_media_types_are_the_apps() -> None:
    [api_id] = cfn.resources("AWS::Serverless::Api")
    declared = cfn.props(api_id)["DefinitionBody"]["x-amazon-apigateway-binary-media-types"]
    assert sorted(declared) == sorted(cfn.app_facts().binary_types), (
        "x-amazon-apigateway-binary-media-types must equal app.api.binary_types, or PNG answers arrive mangled")


def test_api_gateways_own_answers_are_in_the_apis_error_shape() -> None:
    [api_id] = cfn.resources("AWS::Serverless::Api")
    declared = cfn.props(api_id)["DefinitionBody"]["x-amazon-apigateway-gateway-responses"]
    expected = {name: {**({"statusCode": str(r.status)} if r.status is not None else {}),
                       "responseTemplates": {"application/json": r.body()}}
                for name, r in GATEWAY_RESPONSES.items()}
    assert declared == expected, "x-amazon-apigateway-gateway-responses must be whatsam.http.gateway_responses"
    for response in GATEWAY_RESPONSES.values():
        assert json.loads(response.body("req-1"))["error"]["request_id"] == "req-1"


# ------------------------------------------------------------------------------ event handlers


def _queue_logical_id(value: Any) -> str:
    logical_id = cfn.referenced_id(value)
    assert logical_id, f"an SQS event's Queue must be !GetAtt <Queue>.Arn of this template, got {value}"
    return logical_id


def test_every_sqs_handler_of_the_app_is_a_function_fed_by_its_queue() -> None:
    handlers = _functions_by_handler()
    queues_by_name = cfn.by_physical_name("AWS::SQS::Queue", "QueueName")
    problems = []
    for handler, source in sorted(cfn.app_facts().sqs.items()):
        queue_name = NAMES.queue_name(source["queue"])
        functions = handlers.get(handler, [])
        if len(functions) != 1:
            problems.append(
                f"SQS handler {source['name']} needs exactly one AWS::Serverless::Function with Handler: {handler} "
                f"(found {functions}), with an event\n  Type: SQS\n  Properties: {{Queue: !GetAtt "
                f"{cfn.camel(source['queue'])}Queue.Arn, BatchSize: {source['batch_size']}, "
                f"FunctionResponseTypes: [ReportBatchItemFailures]}}")
            continue
        [function_id] = functions
        feeding = [e for e in _events(function_id, "SQS")
                   if queues_by_name.get(queue_name) == _queue_logical_id(e.get("Queue"))]
        if len(feeding) != 1:
            problems.append(f"{function_id} ({handler}) needs one SQS event from the queue named "
                            f"${{Prefix}}-{source['queue']}")
            continue
        [event] = feeding
        if event.get("BatchSize", 10) != source["batch_size"]:
            problems.append(f"{function_id}: BatchSize {event.get('BatchSize')} != app's {source['batch_size']}")
        if event.get("MaximumBatchingWindowInSeconds", 0) != source["window"]:
            problems.append(f"{function_id}: MaximumBatchingWindowInSeconds != app's {source['window']}")
        if "ReportBatchItemFailures" not in event.get("FunctionResponseTypes", []):
            problems.append(f"{function_id}: the handler returns partial-batch failures; declare "
                            "FunctionResponseTypes: [ReportBatchItemFailures] or a failed record fails the batch")
        visibility = cfn.props(queues_by_name[queue_name]).get("VisibilityTimeout", 30)
        timeout = cfn.functions()[function_id].get("Timeout", 3)
        if timeout > visibility:
            problems.append(f"{function_id}: Timeout {timeout}s exceeds the queue's VisibilityTimeout {visibility}s")
    assert not problems, "\n".join(problems)


def _the_function_of(handler: str, event: str, problems: list[str]) -> str | None:
    """The one function whose Handler is `handler`; None (and the YAML it needs noted) otherwise."""
    functions = _functions_by_handler().get(handler, [])
    if len(functions) == 1:
        return functions[0]
    problems.append(f"handler {handler} needs exactly one AWS::Serverless::Function with Handler: {handler} "
                    f"(found {functions}) and an event\n  {event}")
    return None


def test_every_schedule_of_the_app_is_a_scheduled_function() -> None:
    problems: list[str] = []
    for handler, expression in sorted(cfn.app_facts().schedules.items()):
        function = _the_function_of(handler, f"Type: Schedule\n  Properties: {{Schedule: {expression}}}", problems)
        if function is None:
            continue
        schedules = [e.get("Schedule") for e in _events(function, "Schedule")]
        if schedules != [expression]:
            problems.append(f"{function} ({handler}) must run on {expression}, the template says {schedules}")
    assert not problems, "\n".join(problems)


def test_every_event_rule_of_the_app_is_a_function_with_that_pattern() -> None:
    problems: list[str] = []
    for handler, pattern in sorted(cfn.app_facts().cw_events.items()):
        function = _the_function_of(handler, f"Type: EventBridgeRule\n  Properties: {{Pattern: {json.dumps(pattern)}}}",
                                    problems)
        if function is None:
            continue
        for rule in _events(function, "EventBridgeRule"):
            # The template may narrow the app's pattern (to this stack's cluster), never widen it.
            deployed = rule.get("Pattern", {})
            for key, wanted in pattern.items():
                got = deployed.get(key)
                if isinstance(wanted, dict):
                    got = {k: v for k, v in (got or {}).items() if k in wanted}
                if got != wanted:
                    problems.append(f"{function} ({handler}): pattern {key} is {got}, the app says {wanted}")
    assert not problems, "\n".join(problems)


def test_the_template_runs_no_handler_the_app_lacks() -> None:
    facts = cfn.app_facts()
    known = {"app.app", *facts.sqs, *facts.schedules, *facts.cw_events}
    unknown = {h: ids for h, ids in _functions_by_handler().items() if h not in known}
    assert not unknown, f"functions whose Handler the app does not define: {unknown}"
    for logical_id, properties in cfn.functions().items():
        handler = properties["Handler"]
        kinds = sorted({e["Type"] for e in (properties.get("Events") or {}).values()})
        expected = ([] if handler == "app.app" else ["SQS"] if handler in facts.sqs
                    else ["EventBridgeRule"] if handler in facts.cw_events else ["Schedule"])
        assert kinds == expected, f"{logical_id} ({handler}) has event sources {kinds}, the app says {expected}"
        if handler in facts.sqs:
            queue_name = NAMES.queue_name(facts.sqs[handler]["queue"])
            queue_ids = {_queue_logical_id(e.get("Queue")) for e in _events(logical_id, "SQS")}
            assert queue_ids == {cfn.by_physical_name("AWS::SQS::Queue", "QueueName").get(queue_name)}, (
                f"{logical_id} is fed by {queue_ids}, the app's handler reads {queue_name}")


# ------------------------------------------------------------------------------ tables, queues, buckets, key


def test_every_model_is_a_table_with_its_keys_indexes_and_ttl() -> None:
    tables = cfn.by_physical_name("AWS::DynamoDB::Table", "TableName")
    problems = []
    for model in ALL_MODELS:
        logical = model.Meta.logical_name  # type: ignore[attr-defined]
        expected = cfn.table_expectation(model, TTL_ATTRIBUTES)
        name = NAMES.table_name(logical)
        if name not in tables:
            problems.append(f"table {logical} ({model.__name__}) is missing; add:\n"
                            f"{cfn.table_snippet(logical, expected)}")
            continue
        properties = cfn.props(tables[name])
        actual = cfn.table_actual(properties)
        for aspect in expected:
            if actual[aspect] != expected[aspect]:
                problems.append(f"table {logical} ({tables[name]}): {aspect} is {actual[aspect]}, "
                                f"{model.__name__} says {expected[aspect]}")
        if properties.get("BillingMode") != "PAY_PER_REQUEST":
            problems.append(f"table {logical}: BillingMode must be PAY_PER_REQUEST (on demand)")
        if not (properties.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled"):
            problems.append(f"table {logical}: point-in-time recovery must be enabled")
    assert not problems, "\n".join(problems)
    known = {NAMES.table_name(m.Meta.logical_name) for m in ALL_MODELS}  # type: ignore[attr-defined]
    stray = {tables[n] for n in tables if n not in known}
    unnamed = set(cfn.resources("AWS::DynamoDB::Table")) - set(tables.values())
    assert not stray and not unnamed, (f"tables no model defines: {sorted(stray | unnamed)} "
                                       "(every table is `!Sub \"${Prefix}-<logical>\"` of a model in ALL_MODELS)")


def test_every_queue_has_its_dead_letter_queue_redrive_and_alarm() -> None:
    queues = cfn.by_physical_name("AWS::SQS::Queue", "QueueName")
    problems = []
    for spec in QUEUES:
        snippet = cfn.queue_snippet(spec.name, spec.visibility_timeout, spec.max_receive_count)
        name, dlq_name = NAMES.queue_name(spec.name), NAMES.queue_name(f"{spec.name}-dlq")
        if name not in queues or dlq_name not in queues:
            problems.append(f"queue {spec.name} or its DLQ is missing; add:\n{snippet}")
            continue
        properties = cfn.props(queues[name])
        if properties.get("VisibilityTimeout") != spec.visibility_timeout:
            problems.append(f"queue {spec.name}: VisibilityTimeout {properties.get('VisibilityTimeout')} != "
                            f"{spec.visibility_timeout} of whatsam.resources")
        redrive = properties.get("RedrivePolicy") or {}
        if cfn.referenced_id(redrive.get("deadLetterTargetArn")) != queues[dlq_name]:
            problems.append(f"queue {spec.name}: RedrivePolicy must target {queues[dlq_name]}")
        if int(redrive.get("maxReceiveCount", 0)) != spec.max_receive_count:
            problems.append(f"queue {spec.name}: maxReceiveCount {redrive.get('maxReceiveCount')} != "
                            f"{spec.max_receive_count} of whatsam.resources")
        if not _dlq_alarm(queues[dlq_name]):
            problems.append(f"queue {spec.name}: no CloudWatch alarm on {queues[dlq_name]}'s depth")
    assert not problems, "\n".join(problems)
    known = {NAMES.queue_name(n) for s in QUEUES for n in (s.name, f"{s.name}-dlq")}
    stray = {queues[n] for n in queues if n not in known}
    unnamed = set(cfn.resources("AWS::SQS::Queue")) - set(queues.values())
    assert not stray and not unnamed, f"queues whatsam.resources does not define: {sorted(stray | unnamed)}"


def _dlq_alarm(dlq_id: str) -> bool:
    for alarm in cfn.resources("AWS::CloudWatch::Alarm").values():
        properties = alarm["Properties"]
        dimensions = properties.get("Dimensions", [])
        if (properties.get("Namespace") == "AWS/SQS"
                and properties.get("MetricName") == "ApproximateNumberOfMessagesVisible"
                and any(cfn.referenced_id(d["Value"]) == dlq_id for d in dimensions)
                and properties.get("AlarmActions")):
            return True
    return False


def test_every_bucket_is_in_the_template_and_no_other() -> None:
    buckets = cfn.by_physical_name("AWS::S3::Bucket", "BucketName")
    missing = [b for b in BUCKETS if NAMES.bucket_name(b) not in buckets]
    assert not missing, ("buckets of whatsam.resources.BUCKETS missing from template.yaml: "
                         + ", ".join(f'{b} (BucketName: !Sub "${{Prefix}}-{b}")' for b in missing))
    known = {NAMES.bucket_name(b) for b in BUCKETS}
    stray = {buckets[n] for n in buckets if n not in known}
    unnamed = set(cfn.resources("AWS::S3::Bucket")) - set(buckets.values())
    assert not stray and not unnamed, f"buckets whatsam.resources does not define: {sorted(stray | unnamed)}"


def test_the_kms_alias_is_the_one_the_code_falls_back_to() -> None:
    aliases = [cfn.sub_name(a["Properties"]["AliasName"]) for a in cfn.resources("AWS::KMS::Alias").values()]
    assert NAMES.auth_state_key_id in aliases


def test_inbox_grants_match_the_names_workers_give_their_inboxes() -> None:
    from whatsam.services.routing import inbox_queue_name

    name = inbox_queue_name(NAMES, "some-worker")
    pattern = "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${Prefix}-inbox-*"
    assert name.startswith(f"{cfn.PREFIX}-inbox-"), name
    assert pattern in cfn.TEMPLATE.read_text(), "the roles that touch inboxes grant them by this ARN pattern"


def test_environment_variables_are_ones_the_code_reads() -> None:
    sources = "\n".join((cfn.ROOT / p).read_text() for p in ("whatsam/config.py", "worker_fleet/config.py"))
    read = set(re.findall(r"\"((?:WHATSAM|AWS|REDIS)_[A-Z_]+)\"", sources))
    names = {name for function_id in cfn.functions() for name in cfn.function_environment(function_id)}
    names |= {name for variables in cfn.container_environments().values() for name in variables}
    unknown = sorted(n for n in names if n not in read)
    assert not unknown, f"environment variables no code reads (a typo, or a setting that was renamed): {unknown}"
