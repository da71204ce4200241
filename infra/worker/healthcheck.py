#!/usr/bin/env python3
"""The worker container's health check (`whatsam-healthcheck` in the image): healthy while the
worker answers GET /health on WHATSAM_WORKER_HTTP_PORT, draining included, so ECS does not
kill a worker in the middle of handing its sessions over. Standard library only."""

from __future__ import annotations

import json
import os
import sys
import urllib.request


def main() -> int:
    port = int(os.environ.get("WHATSAM_WORKER_HTTP_PORT") or "8080")
    url = f"http://127.0.0.1:{port}/health"
    try:
        with urllib.request.urlopen(url, timeout=4) as response:
            body = json.loads(response.read())
    except (OSError, ValueError) as exc:
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1
    status = body.get("status")
    if status not in {"ok", "draining"}:
        print(f"unhealthy: status {status!r}", file=sys.stderr)
        return 1
    print(f"healthy: {status}, sessions {body.get('sessions', {})}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
