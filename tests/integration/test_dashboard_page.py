"""The dashboard page as the API serves it: HTML with a locked-down policy, and every API
call it makes is a route the app has (so a renamed route cannot silently break the page)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from chalice.test import Client

from whatsam.dev.app_loader import functions_dir
from whatsam.http.dashboard import dashboard_page

pytestmark = pytest.mark.integration

# call("METHOD", "/v1/…") or call("METHOD", `/v1/${…}/…?…`) in the page's script.
_CALL = re.compile(r"""call\("(GET|POST|PATCH|DELETE)",\s*[`"](/v1/[^`"?]*)""")


def _page(chalice_app: Any) -> tuple[int, str, dict[str, str]]:
    with Client(chalice_app, project_dir=str(functions_dir())) as client:
        response = client.http.get("/")
    return response.status_code, response.body.decode(), {k.lower(): v for k, v in response.headers.items()}


def test_the_root_serves_the_dashboard_with_a_strict_policy(chalice_app: Any) -> None:
    status, html, headers = _page(chalice_app)
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    assert html.startswith("<!doctype html>") and 'data-dev-mode="1"' in html, "the tests' stack is in dev mode"
    policy = headers["content-security-policy"]
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy and "frame-ancestors 'none'" in policy
    [nonce] = re.findall(r"script-src 'nonce-([\w-]+)'", policy)
    assert html.count("<script") == 1 and f'<script nonce="{nonce}">' in html, "only the page's own script runs"
    assert nonce not in _page(chalice_app)[1], "a fresh nonce on every response"
    assert headers["x-content-type-options"] == "nosniff" and "x-request-id" in headers
    assert "innerHTML" not in html, "the page builds its DOM from data, never from HTML strings"


def test_a_deployed_stack_hides_the_dev_buttons() -> None:
    assert 'data-dev-mode="0"' in dashboard_page(dev_mode=False, nonce="n")


def test_every_call_the_page_makes_is_a_route_of_the_app(chalice_app: Any) -> None:
    _, html, _ = _page(chalice_app)
    # The lifecycle buttons share one call, `/v1/sessions/${id}/${op}`, op from their data-op.
    ops = set(re.findall(r'data-op="(\w+)"', html)) - {"delete"}
    found = [(method, path.replace("${op}", op)) for method, path in _CALL.findall(html)
             for op in (ops if "${op}" in path else {""})]
    calls = {(method, re.sub(r"\$\{[^}]+\}", "{}", path)) for method, path in found}
    assert len(calls) >= 20, f"the pattern no longer finds the page's calls: {sorted(calls)}"
    routes = {(method, re.sub(r"\{\w+\}", "{}", path))
              for path, methods in chalice_app.routes.items() for method in methods}
    assert sorted(calls - routes) == []
