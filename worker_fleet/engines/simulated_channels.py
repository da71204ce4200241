"""Channels (newsletters) in the simulated WhatsApp (mixed into `SimulatedClient`).

Every channel this session created or follows is one JSON document in a table of the session's
store, so channels migrate with the session. Deterministic rules:
- a channel this session creates gets a new ``120363…@newsletter`` JID and the role ``owner``;
- any other well-formed channel id exists, named ``Channel <last 4 digits>``, unless its digits end
  in 0 (``channel_not_found``), as a number ending in 0 is not on WhatsApp;
- only the owner posts (``not_channel_owner``); each post gets the channel's next server id.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import sqlite3
import string
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from worker_fleet.engines.channels import (
    CHANNEL_DESCRIPTION_MAX,
    CHANNEL_MESSAGES_MAX,
    CHANNEL_NAME_MAX,
    NEWSLETTER_SERVER,
    ChannelInfo,
    ChannelMessage,
    ChannelRefusedError,
    is_channel_jid,
)
from worker_fleet.engines.simulated_store import LinkedDevice, SimulatedCredentialStore

_SCHEMA = "CREATE TABLE IF NOT EXISTS simulated_channel (jid TEXT PRIMARY KEY, body TEXT NOT NULL)"


def new_channel_jid() -> str:
    return "120363" + "".join(secrets.choice(string.digits) for _ in range(12)) + "@" + NEWSLETTER_SERVER


def _info(body: dict[str, Any]) -> ChannelInfo:
    return ChannelInfo(jid=body["jid"], name=body["name"], description=body.get("description") or None,
                       invite_code=body.get("invite_code"), subscribers=int(body.get("subscribers", 0)),
                       role=body.get("role"), muted=False, verified=False,
                       created_at=datetime.fromtimestamp(body["created_at"], UTC), picture_url=None)


class SimulatedChannels:
    """Channel calls of `SimulatedClient`."""

    _store: SimulatedCredentialStore

    if TYPE_CHECKING:  # provided by the client class this mixes into
        def _connected_device(self) -> LinkedDevice: ...

    async def create_channel(self, name: str, description: str | None = None) -> ChannelInfo:
        self._connected_device()
        if not name.strip() or len(name) > CHANNEL_NAME_MAX:
            raise ChannelRefusedError("channel_request_invalid",
                                      f"a channel name is 1 to {CHANNEL_NAME_MAX} characters")
        if description is not None and len(description) > CHANNEL_DESCRIPTION_MAX:
            raise ChannelRefusedError("channel_request_invalid", "the channel description is too long")
        body: dict[str, Any] = {
            "jid": new_channel_jid(), "name": name.strip(), "description": description, "role": "owner",
            "subscribers": 1, "created_at": int(time.time()), "posts": [],
            "invite_code": "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(22))}
        self._save_channel(body)
        return _info(body)

    async def followed_channels(self) -> list[ChannelInfo]:
        self._connected_device()
        return [_info(body) for body in self._channels() if body.get("role")]

    async def channel_info(self, channel_jid: str) -> ChannelInfo:
        self._connected_device()
        return _info(self._channel(channel_jid))

    async def follow_channel(self, channel_jid: str) -> None:
        self._connected_device()
        body = self._channel(channel_jid)
        if body.get("role") is None:
            body.update(role="subscriber", subscribers=int(body.get("subscribers", 0)) + 1)
            self._save_channel(body)

    async def unfollow_channel(self, channel_jid: str) -> None:
        self._connected_device()
        body = self._channel(channel_jid)
        if body.get("role") == "owner":
            raise ChannelRefusedError("channel_request_invalid", "the owner cannot unfollow their own channel")
        if body.get("role") is not None:
            body.update(role=None, subscribers=max(0, int(body.get("subscribers", 1)) - 1))
            self._save_channel(body)

    async def channel_messages(self, channel_jid: str, count: int = 50,
                               before: int | None = None) -> list[ChannelMessage]:
        self._connected_device()
        posts = [post for post in self._channel(channel_jid).get("posts", [])
                 if before is None or post["server_id"] < before]
        newest = sorted(posts, key=lambda post: post["server_id"], reverse=True)[:max(1, min(count,
                                                                                          CHANNEL_MESSAGES_MAX))]
        return [ChannelMessage(server_id=post["server_id"], kind=post["kind"], text=post.get("text"), views=0,
                               timestamp=datetime.fromtimestamp(post["at"], UTC)) for post in newest]

    # -- sends ------------------------------------------------------------------------------

    def _check_channel_send(self, to_jid: str) -> None:
        """Only the owner of a channel posts to it."""
        if to_jid.endswith("@" + NEWSLETTER_SERVER) and self._channel(to_jid).get("role") != "owner":
            raise ChannelRefusedError("not_channel_owner", f"this session does not own {to_jid}")

    def _record_channel_post(self, to_jid: str, kind: str, text: str | None, at: float) -> None:
        if not to_jid.endswith("@" + NEWSLETTER_SERVER):
            return
        body = self._channel(to_jid)
        posts = body.setdefault("posts", [])
        posts.append({"server_id": len(posts) + 100, "kind": kind, "text": text, "at": at})
        self._save_channel(body)

    # -- storage ----------------------------------------------------------------------------

    def _channel(self, channel_jid: str) -> dict[str, Any]:
        if not is_channel_jid(channel_jid):
            raise ChannelRefusedError("channel_request_invalid", f"not a channel id: {channel_jid!r}")
        with self._channel_table() as db:
            row = db.execute("SELECT body FROM simulated_channel WHERE jid = ?", (channel_jid,)).fetchone()
        if row is not None:
            return dict(json.loads(row[0]))
        digits = channel_jid.split("@", 1)[0]
        if digits.endswith("0"):
            raise ChannelRefusedError("channel_not_found", f"there is no channel {channel_jid}")
        return {"jid": channel_jid, "name": f"Channel {digits[-4:]}", "description": None, "role": None,
                "subscribers": int(digits[-3:]), "created_at": 1_700_000_000, "posts": [], "invite_code": None}

    def _channels(self) -> list[dict[str, Any]]:
        with self._channel_table() as db:
            rows = db.execute("SELECT body FROM simulated_channel ORDER BY jid").fetchall()
        return [json.loads(row[0]) for row in rows]

    def _save_channel(self, body: dict[str, Any]) -> None:
        with self._channel_table() as db:
            db.execute("INSERT OR REPLACE INTO simulated_channel (jid, body) VALUES (?, ?)",
                       (body["jid"], json.dumps(body)))

    @contextlib.contextmanager
    def _channel_table(self) -> Iterator[sqlite3.Connection]:
        path = self._store.path
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path)
        try:
            with db:
                db.execute(_SCHEMA)
                yield db
        finally:
            db.close()
