"""The README's curl walk-through, run as written against `whatsam dev` (only the API's
address, the sign-up email and the path to `whatsam` are this stack's)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import FAST_FLEET, DevProcess, module_stack

pytestmark = pytest.mark.e2e

README = Path(__file__).resolve().parents[2] / "README.md"


def walkthrough(heading: str = "### A walk through with curl") -> str:
    text = README.read_text()
    section = text[text.index(heading):]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match, f"the README's {heading!r} has a ```sh block"
    return match.group(1)


def run_as_written(stack: DevProcess, tmp_path: Path, script: str, email: str) -> list[Any]:
    """Run a README block against `stack`, with only its API address, sign-up email and path to
    `whatsam` changed; every answer it printed."""
    assert "API=http://localhost:8000\n" in script and email in script and ".venv/bin/whatsam " in script
    local, domain = email.split("@")
    script = (script.replace("API=http://localhost:8000\n", f"API={stack.base_url}\n")
              .replace(email, f"{local}-{uuid.uuid4().hex[:8]}@{domain}")
              .replace(".venv/bin/whatsam ", f"{sys.executable} -m whatsam.cli "))
    done = subprocess.run(["bash", "-eo", "pipefail", "-c", script], cwd=tmp_path, env=stack.env,
                          capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return _json_lines(done.stdout)


stack = module_stack("readme", "--workers", "1", env_overrides=FAST_FLEET)


def _json_lines(output: str) -> list[Any]:
    """Every answer the script printed (curl prints them back to back, without newlines)."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while (start := min((i for i in (output.find("{", at), output.find("[", at)) if i >= 0), default=-1)) >= 0:
        try:
            value, at = decoder.raw_decode(output, start)
        except json.JSONDecodeError:
            at = start + 1
            continue
        found.append(value)
    return found


def test_the_readme_walkthrough_works_as_written(stack: DevProcess, tmp_path: Path) -> None:
    answers = run_as_written(stack, tmp_path, walkthrough(), "ann@example.com")
    cards = [a for a in answers if isinstance(a, dict) and str(a.get("id", "")).startswith("ses_")]
    statuses = [card["status"] for card in cards]
    assert "qr" in statuses and "connected" in statuses, statuses
    assert statuses.index("qr") < statuses.index("connected")
    qr = next(a for a in answers if isinstance(a, dict) and "qr" in a and "png" in a)
    assert qr["png"].startswith("data:image/png;base64,")
    assert (tmp_path / "qr.png").read_bytes().startswith(b"\x89PNG")
    errors = [a["error"]["code"] for a in answers if isinstance(a, dict) and "error" in a]
    assert errors == ["invalid_json"], "the only error is the README's deliberate bad input"
    keys = next(a for a in answers if isinstance(a, dict) and "api_keys" in a)
    assert {k["name"] for k in keys["api_keys"]} >= {"default", "crm"}
    assert "/v1/sessions/{session_id}/qr" in answers[-1], "the last answer lists the OpenAPI paths"
