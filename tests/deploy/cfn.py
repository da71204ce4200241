"""Reading template.yaml and the code's own definitions side by side, for the drift and
hardening tests. Nothing here restates a fact the code defines: tables come from
`ALL_MODELS`, queues and buckets from `whatsam.resources`, routes and handlers from the
Chalice app itself, names from `Settings`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
# Stands for the Prefix parameter when names are compared with `Settings.*_name`.
PREFIX = "prefix-placeholder"


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form intrinsics, read into their long form."""


def _intrinsic(loader: _CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


@lru_cache(maxsize=1)
def template() -> dict[str, Any]:
    with TEMPLATE.open() as handle:
        return dict(yaml.load(handle, Loader=_CfnLoader))  # noqa: S506 (SafeLoader subclass)


def resources(kind: str | None = None) -> dict[str, dict[str, Any]]:
    found = template()["Resources"]
    return {name: body for name, body in found.items() if kind is None or body["Type"] == kind}


def props(logical_id: str) -> dict[str, Any]:
    return dict(resources()[logical_id].get("Properties", {}))


def sub_name(value: Any) -> str | None:
    """A physical name written as `!Sub "${Prefix}-..."`, with the Prefix placeholder filled in."""
    if isinstance(value, dict) and "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):
        text = value["Fn::Sub"]
        if re.search(r"\$\{(?!Prefix\})[^}]+\}", text):
            return None
        return text.replace("${Prefix}", PREFIX)
    return None


def referenced_id(value: Any) -> str | None:
    """The logical id behind `!Ref X`, `!GetAtt X.Attr` or a `!Sub` naming `${X...}` once."""
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
        if "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):
            names = {m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", value["Fn::Sub"])}
            names -= {"Prefix", "AWS::Region", "AWS::AccountId", "AWS::Partition", "AWS::URLSuffix"}
            if len(names) == 1:
                return names.pop()
    return None


def by_physical_name(kind: str, name_property: str) -> dict[str, str]:
    """physical name (with the placeholder prefix) -> logical id, for resources of one type."""
    named = {}
    for logical_id, body in resources(kind).items():
        physical = sub_name(body.get("Properties", {}).get(name_property))
        if physical is not None:
            named[physical] = logical_id
    return named


def functions() -> dict[str, dict[str, Any]]:
    """Serverless functions with Globals applied where the function says nothing."""
    defaults = template().get("Globals", {}).get("Function", {})
    merged = {}
    for logical_id, body in resources("AWS::Serverless::Function").items():
        merged[logical_id] = {**defaults, **body.get("Properties", {})}
    return merged


def function_environment(logical_id: str) -> dict[str, Any]:
    """A function's environment variables as SAM deploys them: the Globals' merged with its own."""
    shared = template().get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    own = props(logical_id).get("Environment", {}).get("Variables", {})
    return {**shared, **own}


def container_environments() -> dict[str, dict[str, Any]]:
    """"<task>/<container>" -> its environment variables, for every ECS container definition."""
    found = {}
    for task_id, task in resources("AWS::ECS::TaskDefinition").items():
        for container in task["Properties"]["ContainerDefinitions"]:
            found[f"{task_id}/{container['Name']}"] = {v["Name"]: v["Value"] for v in container.get("Environment", [])}
    return found


def camel(text: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", text) if part)


# ---------------------------------------------------------------------------------- the app


@dataclass(frozen=True)
class AppFacts:
    routes: dict[tuple[str, str], str]          # (METHOD, path) -> view name
    sqs: dict[str, dict[str, Any]]               # handler string -> queue, batch size, window
    schedules: dict[str, str]                    # handler string -> expression
    cw_events: dict[str, dict[str, Any]]         # handler string -> EventBridge event pattern
    binary_types: tuple[str, ...]


_DUMP_APP = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import app
from chalice.app import CloudWatchEventConfig, ScheduledEventConfig, SQSEventConfig
chalice_app = app.app
routes = [[method, path, entry.view_name] for path, methods in chalice_app.routes.items()
          for method, entry in methods.items()]
sqs = [{"handler": s.handler_string, "name": s.name, "queue": s.queue, "batch_size": s.batch_size,
        "window": s.maximum_batching_window_in_seconds or 0}
       for s in chalice_app.event_sources if isinstance(s, SQSEventConfig)]
schedules = []
for s in chalice_app.event_sources:
    if isinstance(s, ScheduledEventConfig):
        expression = s.schedule_expression
        schedules.append([s.handler_string, expression.to_string() if hasattr(expression, "to_string")
                          else str(expression)])
cw_events = [[s.handler_string, s.event_pattern] for s in chalice_app.event_sources
             if isinstance(s, CloudWatchEventConfig)]
other = [type(s).__name__ for s in chalice_app.event_sources
         if not isinstance(s, (SQSEventConfig, ScheduledEventConfig, CloudWatchEventConfig))]
print(json.dumps({"routes": routes, "sqs": sqs, "schedules": schedules, "cw_events": cw_events, "other": other,
                  "binary_types": list(chalice_app.api.binary_types)}))
"""


@lru_cache(maxsize=1)
def app_facts() -> AppFacts:
    """The app as a deployed stack loads it: in a fresh process, without dev mode (whose
    routes a deployed stack never has), whatever this test process has imported."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WHATSAM_")}
    done = subprocess.run([sys.executable, "-c", _DUMP_APP, str(ROOT / "functions")], env=env, cwd=ROOT,
                          capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, f"loading the Chalice app failed:\n{done.stderr}"
    data = json.loads(done.stdout.strip().splitlines()[-1])
    assert not data["other"], (f"the app has event sources of kinds the template drift test does not map yet: "
                               f"{data['other']}; teach tests/deploy how they appear in template.yaml")
    return AppFacts(
        routes={(method.upper(), path): view for method, path, view in data["routes"]},
        sqs={s["handler"]: s for s in data["sqs"]},
        schedules={handler: expression for handler, expression in data["schedules"]},
        cw_events={handler: pattern for handler, pattern in data["cw_events"]},
        binary_types=tuple(data["binary_types"]))


# --------------------------------------------------------------------------- expected YAML


INTEGRATION_URI = ("arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
                   "${ApiFunction.Arn}/invocations")


def path_parameters(path: str) -> list[str]:
    return re.findall(r"\{([^}]+)\}", path)


def route_snippet(method: str, path: str) -> str:
    """The operation of one route under the Api's `DefinitionBody.paths`, for a failure message."""
    lines = [f"{path}:", f"  {method.lower()}:"]
    names = path_parameters(path)
    if names:
        lines.append("    parameters: [" + ", ".join(
            f"{{name: {name}, in: path, required: true, type: string}}" for name in names) + "]")
    lines += ['    responses: {"200": {description: "200 response"}}',
              "    x-amazon-apigateway-integration:",
              "      type: aws_proxy",
              "      httpMethod: POST",
              "      passthroughBehavior: when_no_match",
              "      contentHandling: CONVERT_TO_TEXT",
              f'      uri: !Sub "{INTEGRATION_URI}"']
    return "\n".join(lines)


def table_expectation(model: Any, ttl_attributes: dict[str, str]) -> dict[str, Any]:
    """A PynamoDB model as the properties of its AWS::DynamoDB::Table (names aside)."""
    schema = model._get_schema()

    def keys(key_schema: list[dict[str, str]]) -> list[dict[str, str]]:
        order = {"HASH": 0, "RANGE": 1}
        return sorted(({"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]} for k in key_schema),
                      key=lambda k: order[k["KeyType"]])

    def projection(raw: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"ProjectionType": raw["ProjectionType"]}
        if raw.get("NonKeyAttributes"):
            out["NonKeyAttributes"] = sorted(raw["NonKeyAttributes"])
        return out

    definitions = {d["AttributeName"]: d["AttributeType"] for d in schema["attribute_definitions"]}
    for index in schema["global_secondary_indexes"] + schema["local_secondary_indexes"]:
        definitions.update({d["AttributeName"]: d["AttributeType"] for d in index["attribute_definitions"]})
    expected: dict[str, Any] = {
        "KeySchema": keys(schema["key_schema"]),
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in sorted(definitions.items())],
        "GlobalSecondaryIndexes": sorted(({"IndexName": i["index_name"], "KeySchema": keys(i["key_schema"]),
                                           "Projection": projection(i["projection"])}
                                          for i in schema["global_secondary_indexes"]),
                                         key=lambda i: str(i["IndexName"])),
        "LocalSecondaryIndexes": sorted(({"IndexName": i["index_name"], "KeySchema": keys(i["key_schema"]),
                                          "Projection": projection(i["projection"])}
                                         for i in schema["local_secondary_indexes"]),
                                        key=lambda i: str(i["IndexName"])),
        "TTL": ttl_attributes.get(model.Meta.logical_name),
    }
    return expected


def table_actual(properties: dict[str, Any]) -> dict[str, Any]:
    """The same shape, read from the template."""
    def keys(key_schema: list[dict[str, str]]) -> list[dict[str, str]]:
        order = {"HASH": 0, "RANGE": 1}
        return sorted(({"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]} for k in key_schema),
                      key=lambda k: order.get(k["KeyType"], 2))

    def indexes(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for index in raw:
            projection = {"ProjectionType": index.get("Projection", {}).get("ProjectionType")}
            if index.get("Projection", {}).get("NonKeyAttributes"):
                projection["NonKeyAttributes"] = sorted(index["Projection"]["NonKeyAttributes"])
            out.append({"IndexName": index["IndexName"], "KeySchema": keys(index["KeySchema"]),
                        "Projection": projection})
        return sorted(out, key=lambda i: str(i["IndexName"]))

    ttl = properties.get("TimeToLiveSpecification") or {}
    return {
        "KeySchema": keys(properties.get("KeySchema", [])),
        "AttributeDefinitions": sorted(({"AttributeName": d["AttributeName"], "AttributeType": d["AttributeType"]}
                                        for d in properties.get("AttributeDefinitions", [])),
                                       key=lambda d: d["AttributeName"]),
        "GlobalSecondaryIndexes": indexes(properties.get("GlobalSecondaryIndexes", [])),
        "LocalSecondaryIndexes": indexes(properties.get("LocalSecondaryIndexes", [])),
        "TTL": ttl.get("AttributeName") if ttl.get("Enabled") else None,
    }


def table_snippet(logical: str, expected: dict[str, Any]) -> str:
    """The YAML of a table as the template writes one, for a failure message."""
    body: dict[str, Any] = {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "TableName": f"!Sub ${{Prefix}}-{logical}",
            "BillingMode": "PAY_PER_REQUEST",
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "AttributeDefinitions": expected["AttributeDefinitions"],
            "KeySchema": expected["KeySchema"],
        },
    }
    if expected["GlobalSecondaryIndexes"]:
        body["Properties"]["GlobalSecondaryIndexes"] = expected["GlobalSecondaryIndexes"]
    if expected["LocalSecondaryIndexes"]:
        body["Properties"]["LocalSecondaryIndexes"] = expected["LocalSecondaryIndexes"]
    if expected["TTL"]:
        body["Properties"]["TimeToLiveSpecification"] = {"AttributeName": expected["TTL"], "Enabled": True}
    text = yaml.safe_dump({f"{camel(logical)}Table": body}, sort_keys=False, default_flow_style=None, width=110)
    return text.replace("'!Sub ${Prefix}-", '!Sub "${Prefix}-').replace(f"{logical}'", f'{logical}"')


def queue_snippet(name: str, visibility_timeout: int, max_receive_count: int) -> str:
    ident = camel(name)
    return textwrap.dedent(f"""\
        {ident}Queue:
          Type: AWS::SQS::Queue
          Properties:
            QueueName: !Sub "${{Prefix}}-{name}"
            VisibilityTimeout: {visibility_timeout}
            SqsManagedSseEnabled: true
            RedrivePolicy:
              deadLetterTargetArn: !GetAtt {ident}DeadLetterQueue.Arn
              maxReceiveCount: {max_receive_count}
        {ident}DeadLetterQueue:
          Type: AWS::SQS::Queue
          Properties:
            QueueName: !Sub "${{Prefix}}-{name}-dlq"
            MessageRetentionPeriod: 1209600
            SqsManagedSseEnabled: true
        {ident}DeadLetterAlarm: (an AWS::CloudWatch::Alarm on the DLQ's ApproximateNumberOfMessagesVisible)""")
