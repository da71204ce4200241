"""The group and community routes in /v1/openapi.json: each with the session API key, its request
schema (where it takes a body) and the schema of its answer."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate

pytestmark = pytest.mark.integration

WITH_BODY = {("/v1/groups", "post"), ("/v1/groups/{group}", "patch"), ("/v1/groups/{group}/picture", "put"),
             ("/v1/groups/{group}/participants", "post"), ("/v1/groups/join", "post"),
             ("/v1/groups/{group}/requests", "post"), ("/v1/communities", "post"),
             ("/v1/dev/sessions/{session_id}/simulate", "post")}
WITHOUT_ANSWER = {("/v1/groups/{group}/picture", "delete"), ("/v1/groups/{group}/leave", "post")}


def check_documented(routes: dict[tuple[str, str], Any], schemas: dict[str, Any], with_body: set[tuple[str, str]],
                     without_answer: set[tuple[str, str]]) -> None:
    """Each route (but dev ones) takes the session API key; its body and answer name a schema."""
    for (path, method), op in routes.items():
        if not path.startswith("/v1/dev/"):
            assert op["security"] == [{"bearerApiKey": []}, {"headerApiKey": []}], (path, method)
            assert {"401", "409", "504"} <= set(op["responses"]), (path, method)
        if (path, method) in with_body:
            ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            assert ref.rsplit("/", 1)[1] in schemas
        else:
            assert "requestBody" not in op, (path, method)
        success = next(code for code in op["responses"] if code.startswith("2"))
        if (path, method) not in without_answer:
            answer = op["responses"][success]["content"]["application/json"]["schema"]["$ref"]
            assert answer.rsplit("/", 1)[1] in schemas, (path, method)


def test_every_group_route_is_documented_with_its_schemas(module_api: Any) -> None:
    document = module_api.call("GET", "/v1/openapi.json").body
    validate(document)
    schemas = document["components"]["schemas"]
    routes = {(path, method): op for path, ops in document["paths"].items() for method, op in ops.items()
              if path.startswith(("/v1/groups", "/v1/communities")) or path.endswith("/simulate")}
    assert len(routes) == 19, sorted(routes)  # 14 group, 4 community, 1 dev
    for (path, method), op in routes.items():
        if not path.startswith("/v1/dev/"):
            assert {"404"} <= set(op["responses"]), (path, method)
    check_documented(routes, schemas, WITH_BODY, WITHOUT_ANSWER)
    group = schemas["Group"]
    assert {"jid", "subject"} <= set(group["required"]) and "participants" in group["properties"]
    assert schemas["ParticipantsRequest"]["properties"]["participants"]["maxItems"] == 1024
    assert schemas["ParticipantsRequest"]["properties"]["action"]["enum"] == ["add", "remove", "promote", "demote"]
