"""Where a running `whatsam dev` can be reached, for `whatsam dev scan|inbound` in another
terminal: the API URL and that run's operator token (dev only, random per run)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def state_path() -> Path:
    return Path(os.environ.get("WHATSAM_DEV_STATE", ".whatsam/dev-stack.json"))


def write_state(**values: Any) -> None:
    path = state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(values))
    path.chmod(0o600)


def read_state() -> dict[str, Any]:
    path = state_path()
    if not path.exists():
        raise RuntimeError(f"no running `whatsam dev` found ({path} is missing): start it first")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def clear_state() -> None:
    state_path().unlink(missing_ok=True)
