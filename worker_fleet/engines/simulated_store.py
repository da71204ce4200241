"""The simulated engine's auth state: one small SQLite file, like neonize's store.

Keeping it a real file at the session's store path lets the host snapshot, encrypt, upload and
restore it exactly as it does neonize's, so session migration is testable without WhatsApp.
"""

from __future__ import annotations

import contextlib
import pathlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass

_SCHEMA = """
CREATE TABLE IF NOT EXISTS linked_device (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    phone TEXT NOT NULL,
    jid TEXT NOT NULL,
    lid TEXT NOT NULL,
    platform TEXT NOT NULL
)
"""


@dataclass(frozen=True, slots=True)
class LinkedDevice:
    phone: str
    jid: str
    lid: str
    platform: str


class SimulatedCredentialStore:
    def __init__(self, path: pathlib.Path) -> None:
        self.path = path

    def load(self) -> LinkedDevice | None:
        if not self.path.exists():
            return None
        with self._connection() as db:
            row = db.execute("SELECT phone, jid, lid, platform FROM linked_device").fetchone()
        return LinkedDevice(*row) if row else None

    def save(self, device: LinkedDevice) -> None:
        with self._connection() as db:
            db.execute(
                "INSERT OR REPLACE INTO linked_device (singleton, phone, jid, lid, platform) VALUES (1, ?, ?, ?, ?)",
                (device.phone, device.jid, device.lid, device.platform),
            )

    def clear(self) -> None:
        if self.path.exists():
            with self._connection() as db:
                db.execute("DELETE FROM linked_device")

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path)
        try:
            with db:  # commits on success, rolls back on error
                db.execute(_SCHEMA)
                yield db
        finally:
            db.close()
