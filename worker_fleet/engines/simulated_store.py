"""The simulated engine's auth state: one small SQLite file, like neonize's store.

Keeping it a real file at the session's store path lets the host snapshot, encrypt, upload and
restore it exactly as it does neonize's, so session migration is testable without WhatsApp.
It also remembers what the session sent (ids, chats, kinds, times), which is what WhatsApp checks
edits and revokes against; kept here, that history migrates with the session.
"""

from __future__ import annotations

import contextlib
import json
import pathlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

_SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS linked_device (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        phone TEXT NOT NULL,
        jid TEXT NOT NULL,
        lid TEXT NOT NULL,
        platform TEXT NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS sent_message (
        message_id TEXT PRIMARY KEY,
        chat_jid TEXT NOT NULL,
        kind TEXT NOT NULL,
        sent_at REAL NOT NULL,
        revoked INTEGER NOT NULL DEFAULT 0
    )
    """,
    # The groups this session knows (members or not: a left group's invite still leads back), one
    # JSON document each, as `simulated_groups` writes it.
    """
    CREATE TABLE IF NOT EXISTS simulated_group (
        jid TEXT PRIMARY KEY,
        body TEXT NOT NULL
    )
    """,
    # The device's contact store and LID map, as whatsmeow keeps them: people WhatsApp told this
    # device about (`simulated_contacts`), one JSON document each.
    """
    CREATE TABLE IF NOT EXISTS simulated_contact (
        phone TEXT PRIMARY KEY,
        lid TEXT NOT NULL UNIQUE,
        body TEXT NOT NULL
    )
    """,
)


@dataclass(frozen=True, slots=True)
class LinkedDevice:
    phone: str
    jid: str
    lid: str
    platform: str


@dataclass(frozen=True, slots=True)
class SentRecord:
    """A message this session sent: `sent_at` in seconds since the epoch."""

    message_id: str
    chat_jid: str
    kind: str
    sent_at: float
    revoked: bool


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
                db.execute("DELETE FROM sent_message")
                db.execute("DELETE FROM simulated_group")
                db.execute("DELETE FROM simulated_contact")

    def record_sent(self, record: SentRecord) -> None:
        with self._connection() as db:
            db.execute(
                "INSERT INTO sent_message (message_id, chat_jid, kind, sent_at, revoked) VALUES (?, ?, ?, ?, ?)",
                (record.message_id, record.chat_jid, record.kind, record.sent_at, int(record.revoked)),
            )

    def sent_message(self, message_id: str) -> SentRecord | None:
        if not self.path.exists():
            return None
        with self._connection() as db:
            row = db.execute(
                "SELECT message_id, chat_jid, kind, sent_at, revoked FROM sent_message WHERE message_id = ?",
                (message_id,),
            ).fetchone()
        return SentRecord(row[0], row[1], row[2], row[3], bool(row[4])) if row else None

    def mark_revoked(self, message_id: str) -> None:
        with self._connection() as db:
            db.execute("UPDATE sent_message SET revoked = 1 WHERE message_id = ?", (message_id,))

    def group(self, jid: str) -> dict[str, Any] | None:
        if not self.path.exists():
            return None
        with self._connection() as db:
            row = db.execute("SELECT body FROM simulated_group WHERE jid = ?", (jid,)).fetchone()
        return json.loads(row[0]) if row else None

    def groups(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with self._connection() as db:
            rows = db.execute("SELECT body FROM simulated_group ORDER BY jid").fetchall()
        return [json.loads(row[0]) for row in rows]

    def save_group(self, jid: str, body: dict[str, Any]) -> None:
        with self._connection() as db:
            db.execute("INSERT OR REPLACE INTO simulated_group (jid, body) VALUES (?, ?)", (jid, json.dumps(body)))

    def contact(self, *, phone: str | None = None, lid: str | None = None) -> dict[str, Any] | None:
        """The contact with this phone (digits) or LID JID."""
        if not self.path.exists():
            return None
        with self._connection() as db:
            row = db.execute("SELECT body FROM simulated_contact WHERE phone = ? OR lid = ?", (phone, lid)).fetchone()
        return json.loads(row[0]) if row else None

    def contacts(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with self._connection() as db:
            rows = db.execute("SELECT body FROM simulated_contact ORDER BY phone").fetchall()
        return [json.loads(row[0]) for row in rows]

    def save_contact(self, body: dict[str, Any]) -> None:
        with self._connection() as db:
            db.execute("INSERT OR REPLACE INTO simulated_contact (phone, lid, body) VALUES (?, ?, ?)",
                       (body["phone"], body["lid"], json.dumps(body)))

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path)
        try:
            with db:  # commits on success, rolls back on error
                for statement in _SCHEMA:
                    db.execute(statement)
                yield db
        finally:
            db.close()


@dataclass(frozen=True, slots=True)
class DueReceipt:
    message_id: str
    chat_jid: str
    kind: str  # "delivered" | "read"
    due_at: float  # seconds since the epoch


class ReceiptLedger:
    """WhatsApp's side of a session's receipts: what it will tell the linked device about the
    messages it sent. It lives outside the device's store (on the simulated "server", a
    directory every worker on the machine shares), so a session that reconnects on another
    worker is told what it missed, as WhatsApp delivers receipts to a device that was offline:
    those not told yet, and those told just before (the worker may have died with them)."""

    def __init__(self, path: pathlib.Path) -> None:
        self.path = path

    def expect(self, message_id: str, chat_jid: str, delivered_at: float, read_at: float) -> None:
        with self._connection() as db:
            db.executemany(
                "INSERT OR REPLACE INTO receipt (message_id, chat_jid, kind, due_at) VALUES (?, ?, ?, ?)",
                [(message_id, chat_jid, "delivered", delivered_at), (message_id, chat_jid, "read", read_at)],
            )

    def told(self, message_id: str, kind: str, at: float) -> None:
        with self._connection() as db:
            db.execute("UPDATE receipt SET told_at = ? WHERE message_id = ? AND kind = ?", (at, message_id, kind))

    def missed(self, told_since: float) -> list[DueReceipt]:
        """Receipts not told yet, or told from `told_since` on, in the order they fall due;
        those told earlier are forgotten."""
        if not self.path.exists():
            return []
        with self._connection() as db:
            db.execute("DELETE FROM receipt WHERE told_at < ?", (told_since,))
            rows = db.execute("SELECT message_id, chat_jid, kind, due_at FROM receipt ORDER BY due_at").fetchall()
        return [DueReceipt(*row) for row in rows]

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=10)
        try:
            with db:
                db.execute("CREATE TABLE IF NOT EXISTS receipt (message_id TEXT NOT NULL, chat_jid TEXT NOT NULL, "
                           "kind TEXT NOT NULL, due_at REAL NOT NULL, told_at REAL, PRIMARY KEY (message_id, kind))")
                yield db
        finally:
            db.close()
