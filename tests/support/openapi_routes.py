"""Checks that routes are documented in /v1/openapi.json with the session API key, their request
schema (where they take a body) and the schema of their answer."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any


def assert_documented(document: dict[str, Any], routes: dict[tuple[str, str], Any], *,
                      with_body: Collection[tuple[str, str]],
                      without_answer: Collection[tuple[str, str]] = (),
                      errors: Collection[str] = ("401", "404")) -> None:
    """`routes`: (path, method) → the document's operation; each (but dev ones) documents `errors`."""
    schemas = document["components"]["schemas"]
    for (path, method), op in routes.items():
        if not path.startswith("/v1/dev/"):
            assert op["security"] == [{"bearerApiKey": []}, {"headerApiKey": []}], (path, method)
            assert set(errors) <= set(op["responses"]), (path, method)
        if (path, method) in with_body:
            ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            assert ref.rsplit("/", 1)[1] in schemas
        else:
            assert "requestBody" not in op, (path, method)
        success = next(code for code in op["responses"] if code.startswith("2"))
        if (path, method) not in without_answer:
            answer = op["responses"][success]["content"]["application/json"]["schema"]["$ref"]
            assert answer.rsplit("/", 1)[1] in schemas, (path, method)
