"""Bad input of every kind never gets a 5xx: schemathesis generates requests from our own
OpenAPI document (valid, invalid and edge-case bodies, path ids and query parameters, which
the document declares with their patterns and lengths, so it makes ones that break them too;
methods) and sends them to `whatsam dev` with each kind of credential: a user's token, an
admin's token, and the API key of a connected session. A fixed seed keeps the run
reproducible. What a generator does not make (an empty path segment) is sent by hand."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import FAST_FLEET, DevProcess, module_stack
from tests.e2e.test_fleet import _wait_until
from whatsam.metering.policies import Policy

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery"
# Wide limits, so the generated calls reach the logic behind the routes instead of 429s.
WIDE_LIMITS = ",".join(f"{name}=1000000/60" for name in Policy)
# The venv's own console script, beside the interpreter running the tests.
SCHEMATHESIS = shutil.which("schemathesis", path=str(Path(sys.executable).parent))


stack = module_stack("fuzz", "--workers", "1", env_overrides={**FAST_FLEET, "WHATSAM_RATE_LIMITS": WIDE_LIMITS})


@pytest.fixture(scope="module")
def credentials(stack: DevProcess) -> dict[str, str]:
    created = subprocess.run([sys.executable, "-m", "whatsam.cli", "admin", "create-user", "--email",
                              "fuzz@example.com", "--tier", "MAX", "--password-stdin"], env=stack.env,
                             input=PASSWORD, capture_output=True, text=True, timeout=120, check=False)
    assert created.returncode == 0, created.stderr
    status, login, _ = stack.request("POST", "/v1/auth/login", {"email": "fuzz@example.com", "password": PASSWORD})
    assert status == 200, login
    token = login["access_token"]
    status, card, _ = stack.request("POST", "/v1/sessions", {"name": "fuzzed"}, token=token)
    assert status == 201, card
    stack.request("POST", f"/v1/sessions/{card['id']}/connect", token=token)
    _wait_until(stack, token, card["id"], lambda c: c["status"] == "qr")
    assert stack.request("POST", f"/v1/dev/sessions/{card['id']}/scan", token=token)[0] == 202
    _wait_until(stack, token, card["id"], lambda c: c["status"] == "connected")
    return {"token": token, "key": card["api_key"]["key"]}


# (which credential, which routes): API-key routes with the key, the rest with the token.
# Logout is left out: it would end the token the rest of the run uses.
RUNS = [
    ("key", ["--include-path-regex",
             "^/v1/(messages|media|chats|contacts|groups|communities|channels|status|session$)"]),
    ("token", ["--exclude-path-regex",
               "^/v1/(messages|media|chats|contacts|groups|communities|channels|status|session$|auth/logout)"]),
]


@pytest.mark.parametrize(("credential", "selection"), RUNS, ids=[run[0] for run in RUNS])
# A fuzz campaign (and, for the first run, the stack's start) is long on a busy machine; its own
# subprocess timeout (900 s) bounds it, not the suite's per-test default.
@pytest.mark.timeout(1200)
def test_no_generated_request_gets_a_server_error(stack: DevProcess, credentials: dict[str, str], credential: str,
                                                  selection: list[str], tmp_path: Path) -> None:
    assert SCHEMATHESIS, "schemathesis is a dev dependency"
    header = (f"X-Api-Key: {credentials['key']}" if credential == "key"
              else f"Authorization: Bearer {credentials['token']}")
    done = subprocess.run(
        [SCHEMATHESIS, "run", f"{stack.base_url}/v1/openapi.json", "--checks", "not_a_server_error", "-H", header,
         *selection, "--max-examples", "8", "--seed", "20261201", "--generation-database", "none", "--workers", "1",
         "--request-timeout", "30", "--no-color"],
        cwd=tmp_path, capture_output=True, text=True, timeout=900, check=False)  # its cache stays out of the tree
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    counted = re.search(r"(\d+) generated, (\d+) passed", done.stdout)
    assert counted and int(counted.group(1)) > 100 and counted.group(1) == counted.group(2), done.stdout[-2000:]


def _path_and_query_cases(document: dict) -> list[tuple[str, str, str]]:
    """(method, url, auth) for each route: every path id empty, 2 KB long, and of the wrong
    kind; every declared query parameter 2 KB long and with a control character."""
    cases = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if path.endswith("/auth/logout") or not operation.get("security"):
                continue
            auth = "key" if any("bearerApiKey" in s for s in operation["security"]) else "token"
            names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]
            for name in names:
                for bad in ("", "x" * 2048, "usr_" + "0" * 25):
                    url = path
                    for other in names:
                        url = url.replace(f"{{{other}}}", bad if other == name else "ses_" + "0" * 25)
                    cases.append((method.upper(), url, auth))
            filled = re.sub(r"{\w+}", "ses_" + "0" * 25, path)
            for param in (p for p in operation.get("parameters", []) if p["in"] == "query"):
                for bad in ("x" * 2048, "a%01b", "9" * 40):
                    cases.append((method.upper(), f"{filled}?{param['name']}={bad}", auth))
    return cases


def test_bad_path_ids_and_query_parameters_over_the_dev_server(stack: DevProcess,
                                                              credentials: dict[str, str]) -> None:
    """Through the dev server's own routing (an empty segment still matches a route there)."""
    status, document, _ = stack.request("GET", "/v1/openapi.json")
    assert status == 200
    cases = _path_and_query_cases(document)
    assert len(cases) > 150
    failures = []
    for method, url, auth in cases:
        sent = {"api_key": credentials["key"]} if auth == "key" else {"token": credentials["token"]}
        status, body, _ = stack.request(method, url, {} if method in ("POST", "PATCH") else None, **sent)
        if url.endswith("/") and status < 500:
            continue  # the router drops a trailing slash, as API Gateway does: the list route answers
        if not 400 <= status < 500 or not isinstance(body, dict) or "error" not in body:
            failures.append((method, url[:80], status, body))
    assert not failures, failures[:10]
