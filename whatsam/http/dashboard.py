"""The dashboard page: a self-contained HTML file (no external assets, nothing fetched but the
API on the same origin), with the dev-mode flag and a per-response script nonce filled in."""

from __future__ import annotations

import secrets
from functools import lru_cache
from importlib.resources import files

from chalice import Response


def _headers(nonce: str) -> dict[str, str | list[str]]:
    # Only the page's own script runs (by nonce, so nothing injected could), and it talks only
    # to its origin; the page builds its DOM from data, never from HTML strings.
    return {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": (f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; "
                                    "img-src data:; connect-src 'self'; form-action 'none'; base-uri 'none'; "
                                    "frame-ancestors 'none'"),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }


@lru_cache(maxsize=1)
def _template() -> str:
    return files("whatsam.http").joinpath("dashboard.html").read_text(encoding="utf-8")


def dashboard_page(*, dev_mode: bool, nonce: str) -> str:
    return (_template().replace("__WHATSAM_DEV_MODE__", "1" if dev_mode else "0", 1)
            .replace("__WHATSAM_NONCE__", nonce, 1))


def dashboard_response(*, dev_mode: bool) -> Response:
    nonce = secrets.token_urlsafe(18)
    return Response(body=dashboard_page(dev_mode=dev_mode, nonce=nonce), status_code=200, headers=_headers(nonce))
