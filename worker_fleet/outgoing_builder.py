"""A stored message → the engine's `Outgoing` value. Pure: references to earlier messages and
media bytes come from the callables it is given."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from worker_fleet.engines.outgoing import (
    Audio,
    Contact,
    Document,
    Edit,
    Image,
    Location,
    Media,
    MessageRef,
    Outgoing,
    Poll,
    Reaction,
    Revoke,
    StatusText,
    Sticker,
    Text,
    Video,
)

ResolveRef = Callable[[dict[str, Any]], MessageRef]
LoadMedia = Callable[[dict[str, Any]], Media]


class UnsendableMessage(Exception):
    """The message cannot be sent as stored (its target failed, its media is gone…): final."""


def build_outgoing(kind: str, payload: dict[str, Any], resolve: ResolveRef, load_media: LoadMedia) -> Outgoing:
    quote = resolve(payload["reply_to"]) if payload.get("reply_to") else None
    mentions: Any = {"mentions": tuple(payload.get("mentions") or ()), "mention_all": bool(payload.get("mention_all"))}
    # A forwarded message is labelled so; image, video and audio may be view-once.
    forwarded: Any = {"forwarded": bool(payload.get("forwarded"))}
    once: Any = {"view_once": bool(payload.get("view_once")), **forwarded}
    if kind == "text" and payload.get("status") is not None:
        style = payload["status"]
        return StatusText(text=payload["text"], background_argb=style.get("background_argb"), font=style.get("font"))
    if kind == "text":
        return Text(text=payload["text"], link_preview=bool(payload.get("link_preview")), quote=quote, **mentions,
                    **forwarded)
    if kind == "image":
        return Image(media=load_media(payload["media"]), caption=payload.get("caption"), quote=quote, **mentions,
                     **once)
    if kind == "video":
        return Video(media=load_media(payload["media"]), caption=payload.get("caption"), quote=quote, **mentions,
                     **once)
    if kind == "document":
        return Document(media=load_media(payload["media"]), caption=payload.get("caption"), quote=quote,
                        **mentions, **forwarded)
    if kind == "audio":
        return Audio(media=load_media(payload["media"]), voice_note=bool(payload.get("voice_note")), quote=quote,
                     **once)
    if kind == "sticker":
        return Sticker(media=load_media(payload["media"]), quote=quote, **forwarded)
    if kind == "location":
        return Location(latitude=payload["latitude"], longitude=payload["longitude"], name=payload.get("name"),
                        address=payload.get("address"), quote=quote, **forwarded)
    if kind == "contact":
        return Contact(display_name=payload["display_name"], vcard=payload["vcard"], quote=quote, **forwarded)
    if kind == "poll":
        poll = payload["poll"]
        return Poll(name=poll["name"], options=tuple(poll["options"]),
                    selectable_count=int(poll.get("selectable_count", 1)), quote=quote)
    if kind == "reaction":
        return Reaction(target=resolve(payload["target"]), emoji=payload.get("emoji", ""))
    if kind == "edit":
        return Edit(target_id=resolve(payload["target"]).message_id, text=payload["text"])
    if kind == "revoke":
        return Revoke(target=resolve(payload["target"]))
    raise UnsendableMessage(f"unknown message type {kind!r}")
