"""Finds and imports the Chalice app in `functions/`, as Lambda would (`app.app`)."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

from chalice.app import Chalice


def functions_dir() -> Path:
    configured = os.environ.get("WHATSAM_FUNCTIONS_DIR")
    if configured:
        return Path(configured).resolve()
    return Path(__file__).resolve().parents[2] / "functions"


def load_app() -> Chalice:
    directory = str(functions_dir())
    if directory not in sys.path:
        sys.path.insert(0, directory)
    module = importlib.import_module("app")
    app: Chalice = module.app
    return app
