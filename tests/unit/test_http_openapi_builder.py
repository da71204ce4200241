"""The OpenAPI builder over a small Chalice app built with `endpoint`."""

from __future__ import annotations

from typing import Any

import pytest
from chalice import Blueprint, Chalice
from openapi_spec_validator import validate

from whatsam.http.endpoint import Call, endpoint
from whatsam.http.openapi import build_document
from whatsam.http.params import CURSOR, IntQuery
from whatsam.http.schemas import CreateApiKeyRequest, CreateSessionRequest, UpdateSessionRequest


def _small_app(patch_body: type | None = None) -> Chalice:
    bp = Blueprint("tiny")

    @endpoint(bp, "GET", "/things", summary="List things", tag="things", auth="none")
    def list_things(call: Call) -> dict:
        return {}

    @endpoint(bp, "POST", "/things", summary="Create a thing", tag="things", auth="user",
              body=CreateSessionRequest, status=201, errors=(409,))
    def create_thing(call: Call) -> dict:
        return {}

    @endpoint(bp, "GET", "/things/{session_id}", summary="Read a thing", tag="things", auth="api_key",
              errors=(404,))
    def read_thing(call: Call, session_id: str) -> dict:
        return {}

    @endpoint(bp, "DELETE", "/things/{session_id}/keys/{key_id}", summary="Revoke", tag="keys", auth="admin",
              status=204, response_description="Revoked")
    def revoke_key(call: Call, session_id: str, key_id: str) -> None:
        return None

    @endpoint(bp, "POST", "/things/{session_id}/keys", summary="New key", tag="keys", auth="user",
              body=CreateApiKeyRequest, status=201)
    def new_key(call: Call, session_id: str) -> dict:
        return {}

    if patch_body is not None:
        @endpoint(bp, "PATCH", "/things/{session_id}", summary="Rename", tag="things", auth="user",
                  body=patch_body)
        def rename_thing(call: Call, session_id: str) -> dict:
            return {}

    app = Chalice(app_name="tiny")

    @app.route("/plain", methods=["GET"])
    def plain() -> dict:
        return {}

    app.register_blueprint(bp)
    return app


def _resolve(document: dict[str, Any], ref: str) -> dict[str, Any]:
    assert ref.startswith("#/")
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part]
    return dict(node)


@pytest.fixture(scope="module")
def app() -> Chalice:
    return _small_app()


@pytest.fixture(scope="module")
def document(app: Chalice) -> dict[str, Any]:
    return build_document(app.routes, server_url="https://api.example.com")


def test_every_route_appears(app: Chalice, document: dict[str, Any]) -> None:
    wanted = {(path, method.lower()) for path, methods in app.routes.items() for method in methods}
    got = {(path, method) for path, ops in document["paths"].items() for method in ops}
    assert wanted == got
    assert ("/plain", "get") in got
    assert document["servers"] == [{"url": "https://api.example.com"}]


def test_document_is_valid_openapi(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.")
    validate(document)


def test_operation_ids_are_unique_view_names(document: dict[str, Any]) -> None:
    ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    assert document["paths"]["/things"]["post"]["operationId"] == "create_thing"


def test_body_schema_is_referenced_and_defined(document: dict[str, Any]) -> None:
    op = document["paths"]["/things"]["post"]
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/CreateSessionRequest"}
    target = _resolve(document, schema["$ref"])
    assert "name" in target["properties"]
    assert "name" in target["required"]
    assert target.get("additionalProperties") is False
    assert "requestBody" not in document["paths"]["/things"]["get"]


def test_security_per_auth(document: dict[str, Any]) -> None:
    paths = document["paths"]
    assert paths["/things"]["get"]["security"] == []
    assert paths["/things"]["post"]["security"] == [{"bearerJwt": []}]
    assert paths["/things/{session_id}/keys/{key_id}"]["delete"]["security"] == [{"bearerJwt": []}]
    api_key_security = paths["/things/{session_id}"]["get"]["security"]
    assert {name for requirement in api_key_security for name in requirement} == {"bearerApiKey", "headerApiKey"}
    schemes = document["components"]["securitySchemes"]
    for op in (op for ops in paths.values() for op in ops.values()):
        for requirement in op.get("security", []):
            assert set(requirement) <= set(schemes)
    assert schemes["headerApiKey"] == {"type": "apiKey", "in": "header", "name": "X-Api-Key"}


def test_statuses_and_errors(document: dict[str, Any]) -> None:
    paths = document["paths"]
    assert set(paths["/things"]["get"]["responses"]) == {"200"}
    # Authenticated routes are charged the API-call rate limits, so they may answer 429.
    assert set(paths["/things"]["post"]["responses"]) == {"201", "400", "401", "409", "413", "429"}
    assert set(paths["/things/{session_id}"]["get"]["responses"]) == {"200", "401", "404", "429"}
    # A path id may name nothing: 404.
    assert set(paths["/things/{session_id}/keys/{key_id}"]["delete"]["responses"]) == {"204", "401", "403", "404",
                                                                                      "429"}
    error_ref = paths["/things"]["post"]["responses"]["409"]["content"]["application/json"]["schema"]["$ref"]
    assert "error" in _resolve(document, error_ref)["properties"]


def test_path_parameters(document: dict[str, Any]) -> None:
    params = document["paths"]["/things/{session_id}/keys/{key_id}"]["delete"]["parameters"]
    assert [(p["name"], p["in"], p["required"]) for p in params] == [("session_id", "path", True),
                                                                      ("key_id", "path", True)]
    assert "parameters" not in document["paths"]["/things"]["post"]
    # Each says how it is written, so a generator can make both valid and invalid ones.
    session_schema = params[0]["schema"]
    assert session_schema["pattern"] == "^ses_[0-9a-z]{25}$" and session_schema["maxLength"] == 29
    assert params[1]["schema"]["pattern"] == "^key_[0-9a-z]{25}$"


def test_query_parameters_are_documented_and_checked() -> None:
    bp = Blueprint("paged")
    limit = IntQuery("limit", "Page size", minimum=1, maximum=50, default=10)

    @endpoint(bp, "GET", "/pages", summary="Pages", tag="pages", auth="none", query=(limit, CURSOR))
    def pages(call: Call) -> dict:
        return {"limit": limit.get(call.request), "cursor": CURSOR.read(call.request)}

    app = Chalice(app_name="paged")
    app.register_blueprint(bp)
    operation = build_document(app.routes)["paths"]["/pages"]["get"]
    assert [(p["name"], p["in"], p["required"]) for p in operation["parameters"]] == [
        ("limit", "query", False), ("cursor", "query", False)]
    assert operation["parameters"][0]["schema"] == {"type": "integer", "minimum": 1, "maximum": 50, "default": 10}
    assert operation["parameters"][1]["schema"]["maxLength"] == 512
    assert "400" in operation["responses"]


def test_optional_fields_body_still_yields_valid_openapi() -> None:
    # PATCH bodies have optional (nullable) fields; the document must stay valid OpenAPI 3.0.
    document = build_document(_small_app(UpdateSessionRequest).routes)
    validate(document)
