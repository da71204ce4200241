"""Size of the Lambda bundle and the cold import time of its handlers.

    .venv/bin/python benchmarks/lambda_bundle.py [--runs 9] [--no-build]

Builds the bundle with scripts/build-lambda (offline once build/wheelhouse is filled), unpacks
it as Lambda does, and in a clean venv holding only boto3 (as the python3.11 runtime does)
starts a fresh interpreter per run that imports each handler module and, for the API, serves
one GET /health. Prints the sizes, the median/min/max of each over the runs, and the modules
that cost the API import most (`-X importtime`). The file cache is warm after the first run,
so these are the interpreter's share of a cold start: Lambda adds fetching and unpacking the
code, and the VPC and runtime start-up, none of which the bundle controls."""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from infra import lambda_bundle  # noqa: E402

_PROBE = r"""
import json, sys, time
started = time.perf_counter()
sys.path.insert(0, sys.argv[1])
module_name = sys.argv[2]
import importlib
module = importlib.import_module(module_name)
imported = time.perf_counter() - started
served = None
if module_name == "app":
    event = {"resource": "/health", "path": "/health", "httpMethod": "GET", "headers": {}, "multiValueHeaders": {},
             "queryStringParameters": None, "multiValueQueryStringParameters": None, "pathParameters": None,
             "stageVariables": None, "body": None, "isBase64Encoded": False,
             "requestContext": {"resourcePath": "/health", "httpMethod": "GET", "requestId": "bench-0001",
                                "path": "/prod/health", "stage": "prod"}}
    t = time.perf_counter()
    assert module.app(event, None)["statusCode"] == 200
    served = time.perf_counter() - t
print(json.dumps({"import": imported, "first_request": served}))
"""


def _handler_modules() -> list[str]:
    """The modules of the Handler strings template.yaml names (`app` for app.app)."""
    handlers = re.findall(r"^\s+Handler:\s*(\S+)\s*$", (ROOT / "template.yaml").read_text(), re.MULTILINE)
    return sorted({h.rpartition(".")[0] for h in handlers})


def _env() -> dict[str, str]:
    # What every function gets from the template's Globals that matters at import time: no dev mode.
    return {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "WHATSAM_PREFIX": "bench"}


def _measure(python: Path, task: Path, module: str, runs: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {"import": [], "first_request": [], "process": []}
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run([str(python), "-I", "-c", _PROBE, str(task), module], env=_env(),
                              capture_output=True, text=True, check=True)
        samples["process"].append(time.perf_counter() - started)
        result = json.loads(done.stdout)
        samples["import"].append(result["import"])
        if result["first_request"] is not None:
            samples["first_request"].append(result["first_request"])
    return samples


def _importtime(python: Path, task: Path, top: int) -> list[tuple[float, str]]:
    """The packages that cost the API import most: each top-level package's cumulative time
    where it is first imported (our own packages aside, which contain the rest)."""
    code = f"import sys; sys.path.insert(0, {str(task)!r}); import app"
    done = subprocess.run([str(python), "-I", "-X", "importtime", "-c", code], env=_env(), capture_output=True,
                          text=True, check=True)
    costs: dict[str, float] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.split(":", 1)[1].split("|")
        package = name.strip()
        if "." in package or package in {"app", "chalicelib", "whatsam"}:
            continue
        costs[package] = max(costs.get(package, 0.0), int(cumulative) / 1e6)
    return sorted(((seconds, name) for name, seconds in costs.items()), reverse=True)[:top]


def _fmt(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return f"median {statistics.median(ms):7.1f} ms   min {min(ms):7.1f}   max {max(ms):7.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--no-build", action="store_true", help="measure the zip already in build/lambda")
    args = parser.parse_args()

    zip_path = lambda_bundle.BUILD_DIR / lambda_bundle.ZIP_NAME
    if not args.no_build:
        result = lambda_bundle.build()
        zip_path = result.zip_path
    with tempfile.TemporaryDirectory() as scratch:
        task = lambda_bundle.extract(zip_path, Path(scratch) / "task")
        python = lambda_bundle.make_runtime_venv(Path(scratch) / "runtime")
        unzipped = sum(p.stat().st_size for p in task.rglob("*") if p.is_file())
        print(f"bundle     {zip_path.relative_to(ROOT)}")
        print(f"size       {zip_path.stat().st_size / 1e6:.1f} MB zipped, {unzipped / 1e6:.1f} MB unpacked "
              f"(Lambda limits: 50 MB zipped direct upload, 250 MB unpacked)")
        print(f"runtime    Python {sys.version_info[0]}.{sys.version_info[1]}, boto3 only, {args.runs} runs each\n")
        for module in _handler_modules():
            samples = _measure(python, task, module, args.runs)
            print(f"import {module:<22} {_fmt(samples['import'])}")
            print(f"  whole process         {_fmt(samples['process'])}")
            if samples["first_request"]:
                print(f"  first GET /health     {_fmt(samples['first_request'])}")
        print("\nheaviest packages in the API import (cumulative, one run):")
        for seconds, name in _importtime(python, task, 8):
            print(f"  {seconds * 1000:7.1f} ms  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
