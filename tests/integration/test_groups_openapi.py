"""The group and community routes in /v1/openapi.json: each with the session API key, its request
schema (where it takes a body) and the schema of its answer."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate

from tests.support.openapi_routes import assert_documented

pytestmark = pytest.mark.integration

WITH_BODY = {("/v1/groups", "post"), ("/v1/groups/{group}", "patch"), ("/v1/groups/{group}/picture", "put"),
             ("/v1/groups/{group}/participants", "post"), ("/v1/groups/join", "post"),
             ("/v1/groups/{group}/requests", "post"), ("/v1/communities", "post"),
             ("/v1/dev/sessions/{session_id}/simulate", "post")}
WITHOUT_ANSWER = {("/v1/groups/{group}/picture", "delete"), ("/v1/groups/{group}/leave", "post")}


def test_every_group_route_is_documented_with_its_schemas(module_api: Any) -> None:
    document = module_api.call("GET", "/v1/openapi.json").body
    validate(document)
    schemas = document["components"]["schemas"]
    routes = {(path, method): op for path, ops in document["paths"].items() for method, op in ops.items()
              if path.startswith(("/v1/groups", "/v1/communities")) or path.endswith("/simulate")}
    assert len(routes) == 19, sorted(routes)  # 14 group, 4 community, 1 dev
    assert_documented(document, routes, with_body=WITH_BODY, without_answer=WITHOUT_ANSWER,
                      errors=("401", "404", "409", "504"))
    group = schemas["Group"]
    assert {"jid", "subject"} <= set(group["required"]) and "participants" in group["properties"]
    assert schemas["ParticipantsRequest"]["properties"]["participants"]["maxItems"] == 1024
    assert schemas["ParticipantsRequest"]["properties"]["action"]["enum"] == ["add", "remove", "promote", "demote"]
