"""Consistent snapshots of an engine's SQLite store while the engine keeps writing to it."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path


def snapshot_store(store_path: Path) -> bytes | None:
    """The store as one SQLite image (the backup API sees a consistent state), or None if absent."""
    if not store_path.exists():
        return None
    source = sqlite3.connect(f"file:{store_path}?mode=ro", uri=True)
    target = sqlite3.connect(":memory:")
    try:
        source.backup(target)
        return target.serialize()
    finally:
        source.close()
        target.close()


def restore_store(store_path: Path, image: bytes) -> None:
    store_path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{store_path}{suffix}").unlink(missing_ok=True)
    source = sqlite3.connect(":memory:")
    target = sqlite3.connect(store_path)
    try:
        source.deserialize(image)
        source.backup(target)
    finally:
        source.close()
        target.close()


class Debouncer:
    """Runs `action` once, `delay` seconds after the last `poke` (key changes come in bursts)."""

    def __init__(self, delay: float, action: Callable[[], None]):
        self._delay = delay
        self._action = action
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()

    def poke(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(self._delay, self._action)
            self._timer.daemon = True
            self._timer.start()

    def cancel(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
