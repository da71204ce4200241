"""The dashboard page: a self-contained HTML file (no external assets, nothing fetched but the
API on the same origin), with the dev-mode flag filled in."""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files

# The page builds its DOM from data (never from HTML strings) and talks only to its origin.
DASHBOARD_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Content-Security-Policy": ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                                "img-src data:; connect-src 'self'; form-action 'none'; base-uri 'none'; "
                                "frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@lru_cache(maxsize=1)
def _template() -> str:
    return files("whatsam.http").joinpath("dashboard.html").read_text(encoding="utf-8")


def dashboard_page(*, dev_mode: bool) -> str:
    return _template().replace("__WHATSAM_DEV_MODE__", "1" if dev_mode else "0", 1)
