"""Builds the Lambda code artefact of `template.yaml`: one zip holding the Chalice app, the
`whatsam` core and the runtime dependencies for Lambda's python3.11 on x86_64.

Dependencies come from `[project.dependencies]` of pyproject.toml, resolved from a local
wheelhouse of manylinux wheels, so the packaging itself runs offline. The wheelhouse is
filled from the package index only when it lacks something (`--offline` forbids even that).

What the Lambda runtime already has (boto3 and what it pulls in) is left out, and Chalice
contributes only its runtime (`chalice/__init__.py`, `chalice/app.py`), as `chalice package`
does: its CLI dependencies never run in Lambda. Sources are precompiled into unchecked-hash
.pyc files, because /var/task is read-only and a cold start would otherwise compile every
module it imports."""

from __future__ import annotations

import argparse
import compileall
import json
import os
import py_compile
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
BUILD_DIR = ROOT / "build" / "lambda"
WHEELHOUSE = ROOT / "build" / "wheelhouse"
ZIP_NAME = "whatsam-lambda.zip"

PYTHON_VERSION = "3.11"
# Lambda's python3.11 runs on Amazon Linux 2 (glibc 2.26): manylinux2014 wheels load there,
# manylinux_2_28 ones would not.
PLATFORM_ARGS = ("--only-binary", ":all:", "--platform", "manylinux2014_x86_64", "--python-version",
                 PYTHON_VERSION, "--implementation", "cp", "--abi", "cp311")

# Shipped by the Lambda runtime; bundling them would only add megabytes and version skew.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer", "jmespath"})
# Packages of which only some modules run in Lambda; their own dependencies are not followed.
PARTIAL = {"chalice": ("chalice/__init__.py", "chalice/app.py")}
# Parts of packages no code path imports, dropped to keep the bundle (and its upload) small.
# phonenumbers' geocoder/carrier/timezone data are ~45 MB of the 90 MB; the core parser and
# its metadata stay, exactly what the `phonenumberslite` distribution ships.
DROPPED = ("phonenumbers/geodata", "phonenumbers/carrierdata", "phonenumbers/tzdata", "phonenumbers/geocoder.py",
           "phonenumbers/geocoder.pyi", "phonenumbers/carrier.py", "phonenumbers/carrier.pyi",
           "phonenumbers/timezone.py", "phonenumbers/timezone.pyi")
# Local-stack tooling: it needs Chalice's local server and the emulators, never runs in Lambda.
EXCLUDED_SOURCES = ("whatsam/dev",)


@dataclass(frozen=True)
class Resolved:
    name: str
    version: str
    requires_dist: tuple[str, ...]
    extras: tuple[str, ...]


@dataclass(frozen=True)
class BuildResult:
    zip_path: Path
    zip_bytes: int
    unzipped_bytes: int
    packages: tuple[str, ...]


def runtime_requirements(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    project = tomllib.loads(pyproject.read_text())["project"]
    return list(project["dependencies"])


def _pip(*args: str, quiet: bool = True) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pip", *args]
    if quiet:
        command.insert(3, "-q")
    return subprocess.run(command, capture_output=True, text=True, check=False)


def download_wheelhouse(requirements: Iterable[str], wheelhouse: Path = WHEELHOUSE) -> None:
    """Fills the wheelhouse from the index (the only step that needs the network). boto3 is
    fetched too, so a clean venv can mimic the Lambda runtime offline."""
    wheelhouse.mkdir(parents=True, exist_ok=True)
    done = _pip("download", *PLATFORM_ARGS, "--dest", str(wheelhouse), *requirements, "boto3")
    if done.returncode != 0:
        raise RuntimeError(f"downloading wheels failed:\n{done.stderr}")


def resolve(requirements: Iterable[str], wheelhouse: Path = WHEELHOUSE) -> tuple[dict[str, Resolved], dict[str, str]]:
    """Resolves the requirements against the wheelhouse alone (no index). Also returns the
    marker environment pip resolved for, so the closure below agrees with pip."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        done = _pip("install", "--dry-run", "--ignore-installed", "--no-index", "--find-links", str(wheelhouse),
                    *PLATFORM_ARGS, "--report", str(report), *requirements)
        if done.returncode != 0:
            raise LookupError(done.stderr.strip())
        data = json.loads(report.read_text())
    resolved: dict[str, Resolved] = {}
    for item in data["install"]:
        meta = item["metadata"]
        resolved[str(canonicalize_name(meta["name"]))] = Resolved(
            name=meta["name"], version=meta["version"], requires_dist=tuple(meta.get("requires_dist", [])),
            extras=tuple(item.get("requested_extras") or ()))
    return resolved, dict(data["environment"])


def _applies(requirement: Requirement, extras: Iterable[str], environment: dict[str, str]) -> bool:
    if requirement.marker is None:
        return True
    marker: Marker = requirement.marker
    return any(marker.evaluate({**environment, "extra": extra}) for extra in ("", *extras))


def bundle_closure(requirements: Iterable[str], resolved: dict[str, Resolved],
                   environment: dict[str, str]) -> list[Resolved]:
    """The packages to bundle: the requirements and what they need, without descending into
    what the runtime provides or into packages we bundle only in part."""
    wanted: dict[str, tuple[str, ...]] = {}
    queue: list[tuple[str, tuple[str, ...]]] = []
    for line in requirements:
        requirement = Requirement(line)
        if _applies(requirement, (), environment):
            queue.append((canonicalize_name(requirement.name), tuple(requirement.extras)))
    while queue:
        name, extras = queue.pop()
        if name in RUNTIME_PROVIDED:
            continue
        known = wanted.get(name)
        if known is not None and set(extras) <= set(known):
            continue
        wanted[name] = tuple(sorted(set(extras) | set(known or ())))
        if name in PARTIAL:
            continue
        if name not in resolved:
            raise LookupError(f"{name} is required but was not resolved")
        for line in resolved[name].requires_dist:
            requirement = Requirement(line)
            if _applies(requirement, wanted[name], environment):
                queue.append((canonicalize_name(requirement.name), tuple(requirement.extras)))
    return sorted((resolved[name] for name in wanted), key=lambda r: canonicalize_name(r.name))


def _copy_tree(source: Path, target: Path, skip: tuple[Path, ...] = ()) -> None:
    for path in sorted(source.rglob("*")):
        if path.is_dir() or "__pycache__" in path.parts or path.suffix in {".pyc", ".pyo"}:
            continue
        if any(path.is_relative_to(s) for s in skip):
            continue
        destination = target / path.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)


def _prune_partial(package_dir: Path) -> None:
    for package, keep in PARTIAL.items():
        top = package_dir / package
        if not top.exists():
            continue
        for path in sorted(top.rglob("*"), reverse=True):
            relative = path.relative_to(package_dir).as_posix()
            if path.is_file() and relative not in keep:
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
        for dist_info in package_dir.glob(f"{package}-*.dist-info"):
            shutil.rmtree(dist_info)


def _walk_files(directory: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        for name in sorted(files):
            yield Path(root) / name


def _write_zip(directory: Path, zip_path: Path) -> None:
    """A reproducible zip: sorted entries, fixed timestamps and modes."""
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in _walk_files(directory):
            info = zipfile.ZipInfo(path.relative_to(directory).as_posix(), date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = (0o755 if os.access(path, os.X_OK) else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes(), compresslevel=9)


def build(*, offline: bool = False, out_dir: Path = BUILD_DIR, wheelhouse: Path = WHEELHOUSE,
          requirements: list[str] | None = None) -> BuildResult:
    requirements = requirements if requirements is not None else runtime_requirements()
    try:
        resolved, environment = resolve(requirements, wheelhouse)
    except LookupError:
        if offline:
            raise
        download_wheelhouse(requirements, wheelhouse)
        resolved, environment = resolve(requirements, wheelhouse)
    packages = bundle_closure(requirements, resolved, environment)

    package_dir = out_dir / "package"
    shutil.rmtree(package_dir, ignore_errors=True)
    package_dir.mkdir(parents=True)
    done = _pip("install", "--no-deps", "--no-index", "--find-links", str(wheelhouse), *PLATFORM_ARGS,
                "--no-compile", "--target", str(package_dir), *(f"{p.name}=={p.version}" for p in packages))
    if done.returncode != 0:
        raise RuntimeError(f"installing the bundle's wheels failed:\n{done.stderr}")
    shutil.rmtree(package_dir / "bin", ignore_errors=True)
    _prune_partial(package_dir)
    for relative in DROPPED:
        path = package_dir / relative
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()

    shutil.copy2(ROOT / "functions" / "app.py", package_dir / "app.py")
    _copy_tree(ROOT / "functions" / "chalicelib", package_dir / "chalicelib")
    _copy_tree(ROOT / "whatsam", package_dir / "whatsam", skip=tuple(ROOT / s for s in EXCLUDED_SOURCES))

    if sys.version_info[:2] == tuple(int(part) for part in PYTHON_VERSION.split(".")):
        compileall.compile_dir(str(package_dir), quiet=2, workers=1, stripdir=str(package_dir),
                               prependdir="/var/task",
                               invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    else:
        print(f"note: built with Python {sys.version_info[0]}.{sys.version_info[1]}, not {PYTHON_VERSION}: "
              "no .pyc files precompiled", file=sys.stderr)

    zip_path = out_dir / ZIP_NAME
    _write_zip(package_dir, zip_path)
    unzipped = sum(p.stat().st_size for p in _walk_files(package_dir))
    return BuildResult(zip_path=zip_path, zip_bytes=zip_path.stat().st_size, unzipped_bytes=unzipped,
                       packages=tuple(f"{p.name}=={p.version}" for p in packages))


def make_runtime_venv(target: Path, wheelhouse: Path = WHEELHOUSE) -> Path:
    """A venv holding only boto3 and its dependencies, like the Lambda python3.11 runtime,
    installed offline from the wheelhouse. Returns its interpreter."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(target)], check=True)
    python = target / "bin" / "python"
    done = _pip("--python", str(python), "install", "--no-index", "--find-links", str(wheelhouse), "boto3")
    if done.returncode != 0:
        raise RuntimeError(f"installing boto3 into {target} failed:\n{done.stderr}")
    return python


def extract(zip_path: Path, target: Path) -> Path:
    """Unpacks the bundle as Lambda does into /var/task (modes kept: .so files stay loadable)."""
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            archive.extract(info, target)
            mode = info.external_attr >> 16
            if mode:
                (target / info.filename).chmod(mode)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/build-lambda", description=__doc__.split("\n\n")[0])
    parser.add_argument("--offline", action="store_true",
                        help="never reach the package index: fail if the wheelhouse lacks a wheel")
    parser.add_argument("--download-only", action="store_true", help="fill the wheelhouse and stop")
    parser.add_argument("--out", type=Path, default=BUILD_DIR, help=f"build directory (default {BUILD_DIR})")
    parser.add_argument("--wheelhouse", type=Path, default=WHEELHOUSE, help=f"wheels (default {WHEELHOUSE})")
    args = parser.parse_args(argv)
    if args.download_only:
        download_wheelhouse(runtime_requirements(), args.wheelhouse)
        print(f"wheelhouse ready: {args.wheelhouse}")
        return 0
    try:
        result = build(offline=args.offline, out_dir=args.out, wheelhouse=args.wheelhouse)
    except (LookupError, RuntimeError) as exc:
        print(f"build-lambda: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"zip": str(result.zip_path), "zip_bytes": result.zip_bytes,
                      "unzipped_bytes": result.unzipped_bytes, "packages": list(result.packages)}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
