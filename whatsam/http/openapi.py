"""The OpenAPI 3 document, generated from the Chalice route table at request time, so a
route cannot exist without appearing here."""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel

from whatsam import __version__
from whatsam.http.endpoint import RouteDoc
from whatsam.http.params import PATH_PARAMS

_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "example": "session_limit_reached"},
                "message": {"type": "string"},
                "details": {"type": "object"},
                "request_id": {"type": "string"},
            },
        }
    },
}

_SECURITY: dict[str, list[dict[str, list[str]]]] = {
    "none": [],
    "user": [{"bearerJwt": []}],
    "admin": [{"bearerJwt": []}],
    "api_key": [{"bearerApiKey": []}, {"headerApiKey": []}],
    "worker": [{"bearerWorkerToken": []}],
    "dev": [{"bearerJwt": []}, {"bearerWorkerToken": []}],
}


_RATE_LIMIT_HEADERS: dict[str, Any] = {
    "RateLimit-Policy": {
        "description": "The limits this call was charged (draft-ietf-httpapi-ratelimit-headers), e.g. "
                       '`"api-user";q=1000;w=3600`: quota `q` per window `w` seconds.',
        "schema": {"type": "string"},
    },
    "RateLimit": {
        "description": 'What is left of each limit, e.g. `"api-user";r=997;t=11`: `r` units remain, the '
                       "limit is whole again in `t` seconds.",
        "schema": {"type": "string"},
    },
    "Retry-After": {"description": "Seconds until the refused call would be admitted.",
                    "schema": {"type": "integer", "minimum": 1}},
}


def _headers(status: int) -> dict[str, Any]:
    names = ["RateLimit-Policy", "RateLimit"] + (["Retry-After"] if status == 429 else [])
    return {name: {"$ref": f"#/components/headers/{name}"} for name in names}


def _schema_ref(model: type[BaseModel], components: dict[str, Any]) -> dict[str, str]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        components[name] = definition
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _path_parameter(name: str) -> dict[str, Any]:
    declared = PATH_PARAMS.get(name)
    if declared is None:
        return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
    return {"name": name, "in": "path", "required": True, "description": declared.description,
            "schema": declared.schema()}


def _operation(view_name: str, path: str, doc: RouteDoc | None, components: dict[str, Any]) -> dict[str, Any]:
    params = [_path_parameter(name) for name in re.findall(r"{(\w+)}", path)]
    if doc is not None:
        params += [{"name": q.name, "in": "query", "required": False, "description": q.description,
                    "schema": q.schema()} for q in doc.query]
    if doc is None:
        return {"operationId": view_name, "parameters": params, "responses": {"200": {"description": "OK"}}}
    op: dict[str, Any] = {
        "operationId": view_name,
        "summary": doc.summary,
        "tags": [doc.tag],
        "security": _SECURITY[doc.auth],
        "responses": {str(doc.status): {"description": doc.response_description}},
    }
    if doc.response is not None:
        op["responses"][str(doc.status)]["content"] = {
            "application/json": {"schema": _schema_ref(doc.response, components)}}
    if params:
        op["parameters"] = params
    if doc.body is not None:
        op["requestBody"] = {"required": True,
                             "content": {"application/json": {"schema": _schema_ref(doc.body, components)}}}
    for status in doc.errors:
        op["responses"][str(status)] = {
            "description": HTTPStatus(status).phrase,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    if doc.rate_limited:
        # A 401 that refuses the credentials comes before any limit is charged: no headers.
        for status_text, response in op["responses"].items():
            if status_text != "401" or doc.auth == "none":
                response["headers"] = _headers(int(status_text))
    return op


def build_document(routes: dict[str, dict[str, Any]], *, server_url: str | None = None) -> dict[str, Any]:
    components: dict[str, Any] = {"Error": _ERROR_SCHEMA}
    paths: dict[str, Any] = {}
    for path in sorted(routes):
        for method, entry in sorted(routes[path].items()):
            doc = getattr(entry.view_function, "openapi", None)
            paths.setdefault(path, {})[method.lower()] = _operation(entry.view_name, path, doc, components)
    document: dict[str, Any] = {
        # 3.1: its schemas are JSON Schema, which is what pydantic emits (null unions, const).
        "openapi": "3.1.0",
        "info": {"title": "Whatsam Gateway API", "version": __version__,
                 "description": "Multi-tenant WhatsApp gateway: session cards, messaging and signed webhooks."},
        "paths": paths,
        "components": {
            "schemas": components,
            "headers": _RATE_LIMIT_HEADERS,
            "securitySchemes": {
                "bearerJwt": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "bearerApiKey": {"type": "http", "scheme": "bearer", "description": "Session API key `wsk_…`"},
                "headerApiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
                "bearerWorkerToken": {"type": "http", "scheme": "bearer", "description": "Worker token"},
            },
        },
    }
    if server_url:
        document["servers"] = [{"url": server_url}]
    return document
