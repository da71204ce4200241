"""The Lambda artefact: scripts/build-lambda builds it offline from the wheelhouse, it leaves
out what the runtime provides, and every handler template.yaml names imports and runs from it
in a clean interpreter that has nothing but boto3, as Lambda's python3.11 runtime has."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra import lambda_bundle
from tests.deploy import cfn
from whatsam.config import SECRETS

SECRET_VALUE_VARIABLES = {spec.value_env for spec in SECRETS}

pytestmark = pytest.mark.integration

# In the runtime already, or never meant for Lambda (the engine, emulators, tools, Chalice's CLI
# dependencies, the worker).
NOT_BUNDLED = (*lambda_bundle.RUNTIME_PROVIDED, "neonize", "moto", "pytest", "click", "yaml", "inquirer",
               "worker_fleet")


@pytest.fixture(scope="session")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Built once per session. The wheelhouse is filled from the index only if it lacks a
    wheel; the build itself then runs with the index unreachable."""
    try:
        lambda_bundle.resolve(lambda_bundle.runtime_requirements())
    except LookupError:
        lambda_bundle.download_wheelhouse(lambda_bundle.runtime_requirements())
    out = tmp_path_factory.mktemp("lambda")
    env = {**os.environ, "PIP_INDEX_URL": "http://127.0.0.1:9/simple", "PIP_EXTRA_INDEX_URL": "",
           "VENV": str(Path(sys.executable).parent.parent)}
    done = subprocess.run([str(cfn.ROOT / "scripts" / "build-lambda"), "--offline", "--out", str(out)], env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, f"offline build failed:\n{done.stderr}"
    summary = json.loads(done.stdout)
    python = lambda_bundle.make_runtime_venv(out / "runtime")
    task = lambda_bundle.extract(Path(summary["zip"]), out / "task")
    yield {**summary, "python": python, "task": task}


def test_the_zip_leaves_out_the_runtime_and_everything_dev(bundle: dict[str, Any]) -> None:
    with zipfile.ZipFile(bundle["zip"]) as archive:
        names = archive.namelist()
    top = {n.split("/")[0] for n in names}
    assert not top & set(NOT_BUNDLED), f"bundled but must not be: {sorted(top & set(NOT_BUNDLED))}"
    assert {"app.py", "chalicelib", "whatsam"} <= top
    chalice_sources = sorted(n for n in names if n.startswith("chalice/") and n.endswith(".py"))
    assert chalice_sources == ["chalice/__init__.py", "chalice/app.py"], "only Chalice's runtime"
    assert not any(n.startswith("whatsam/dev/") for n in names), "the local-stack tooling stays out"
    assert any(n.endswith(".pyc") for n in names), "precompiled: /var/task is read-only"
    # Lambda's limits for a zip uploaded through S3 and for the unpacked code.
    assert bundle["zip_bytes"] < 50 * 1024 * 1024 and bundle["unzipped_bytes"] < 250 * 1024 * 1024


_INVOKE = r"""
import importlib, json, sys, time
sys.path.insert(0, sys.argv[1])
kind, handler = sys.argv[2], sys.argv[3]
module_name, _, attribute = handler.rpartition(".")
function = getattr(importlib.import_module(module_name), attribute)

class Context:
    function_name = "whatsam-test"
    aws_request_id = "req-1"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:whatsam-test"
    def get_remaining_time_in_millis(self):
        return 30000

def api_event(path, request_id, **headers):
    return {"resource": path, "path": path, "httpMethod": "GET", "headers": {"Accept": "application/json", **headers},
            "multiValueHeaders": {}, "queryStringParameters": None, "multiValueQueryStringParameters": None,
            "pathParameters": None, "stageVariables": None, "body": None, "isBase64Encoded": False,
            "requestContext": {"resourcePath": path, "httpMethod": "GET", "requestId": request_id,
                               "path": "/prod" + path, "stage": "prod"}}

if kind == "api":
    event = api_event("/health", "req-health-1")
elif kind == "sqs":
    event = {"Records": [{"messageId": "not-an-event", "receiptHandle": "r", "body": "{not json",
                          "attributes": {}, "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                          "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:q", "awsRegion": "us-east-1"}]}
elif kind == "rule":  # a task no worker ran as: nothing to reap, but the handler runs
    event = {"version": "0", "id": "e", "detail-type": "ECS Task State Change", "source": "aws.ecs",
             "account": "000000000000", "time": "2024-01-01T00:00:00Z", "region": "us-east-1", "resources": [],
             "detail": {"taskArn": "arn:aws:ecs:us-east-1:000000000000:task/whatsam/0123abcd", "lastStatus": "STOPPED"}}
else:
    event = {"version": "0", "id": "e", "detail-type": "Scheduled Event", "source": "aws.events",
             "account": "000000000000", "time": "2024-01-01T00:00:00Z", "region": "us-east-1",
             "resources": [], "detail": {}}
try:
    result = function(event, Context())
    if kind == "api":  # the dashboard page too (read from package data), and a token check (a secret)
        result = [result, function(api_event("/", "req-page-1"), Context()),
                  function(api_event("/v1/me", "req-me-1", Authorization="Bearer a.b.c"), Context())]
except Exception as exc:
    # Powertools fails the whole batch when every record failed: Lambda then retries it all.
    if type(exc).__name__ != "BatchProcessingError":
        raise
    result = {"batch_error": str(exc).splitlines()[0]}
import botocore
print(json.dumps({"result": result, "botocore": botocore.__file__}))
"""


def _kind(properties: dict[str, Any]) -> str:
    if properties["Handler"] == "app.app":
        return "api"
    [event] = (properties.get("Events") or {}).values()
    return {"SQS": "sqs", "Schedule": "schedule", "EventBridgeRule": "rule"}[event["Type"]]


@pytest.mark.parametrize("function_id", sorted(cfn.functions()))
def test_each_template_handler_runs_from_the_bundle_in_a_clean_runtime(
        bundle: dict[str, Any], stack_env: dict[str, str], function_id: str) -> None:
    properties = cfn.functions()[function_id]
    kind = _kind(properties)
    # What the template's Globals give every function, pointed at the test stack; no dev mode.
    # Secrets as the template gives them: the ids of those the function may read (in the test
    # stack's Secrets Manager), and for the others an id that leads nowhere, so a function
    # touching a secret it is not granted fails here as it would in AWS.
    given = cfn.function_environment(function_id)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
           **{k: v for k, v in stack_env.items() if k != "WHATSAM_DEV_MODE" and k not in SECRET_VALUE_VARIABLES},
           **{spec.id_env: f"{stack_env['WHATSAM_PREFIX']}/{spec.name}" if spec.id_env in given
              else f"not-granted/{spec.name}" for spec in SECRETS}}
    done = subprocess.run([str(bundle["python"]), "-I", "-c", _INVOKE, str(bundle["task"]), kind,
                           properties["Handler"]], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"{function_id} ({properties['Handler']}) failed from the bundle:\n{done.stderr}"
    output = json.loads(done.stdout.strip().splitlines()[-1])
    assert output["botocore"].startswith(str(bundle["python"].parent.parent)), "botocore comes from the runtime"
    result = output["result"]
    if kind == "api":
        health, page, me = result
        assert me["statusCode"] == 401 and json.loads(me["body"])["error"]["code"] == "invalid_token", \
            "the API reads its signing key from Secrets Manager"
        assert health["statusCode"] == 200 and json.loads(health["body"]) == {"status": "ok"}
        assert health["headers"]["X-Request-Id"] == "req-health-1"
        assert page["statusCode"] == 200 and page["headers"]["Content-Type"] == "text/html; charset=utf-8"
        assert 'data-dev-mode="0"' in page["body"], "a deployed stack serves the page without the dev buttons"
    elif kind == "sqs":
        # The one record is undecodable: it must come back as a failure, never be dropped.
        all_failed = "All records failed processing. 1 individual errors logged separately below."
        assert result in ({"batchItemFailures": [{"itemIdentifier": "not-an-event"}]}, {"batch_error": all_failed})
    else:
        assert isinstance(result, dict)
