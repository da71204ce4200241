"""What a session can send: one small frozen dataclass per WhatsApp message type.

The worker builds these from the stored message record; each engine turns them into its
own wire form. They pickle, so they cross the shard pipe as they are."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MessageRef:
    """An existing message: its WhatsApp id, its author, and whether this account sent it."""

    message_id: str
    sender_jid: str | None = None
    from_me: bool = False


@dataclass(frozen=True, slots=True)
class Media:
    data: bytes
    mimetype: str
    filename: str | None = None


@dataclass(frozen=True, slots=True)
class Text:
    text: str
    link_preview: bool = False
    quote: MessageRef | None = None
    # People mentioned (JIDs); `mention_all`: every participant of the group, which the engine
    # looks up when it sends.
    mentions: tuple[str, ...] = ()
    mention_all: bool = False
    # Sent again from another chat: WhatsApp labels it "Forwarded".
    forwarded: bool = False


@dataclass(frozen=True, slots=True)
class Image:
    media: Media
    caption: str | None = None
    quote: MessageRef | None = None
    mentions: tuple[str, ...] = ()
    mention_all: bool = False
    # Opens once, then is gone from the recipient's phone.
    view_once: bool = False
    # Sent again from another chat: WhatsApp labels it "Forwarded".
    forwarded: bool = False


@dataclass(frozen=True, slots=True)
class Video:
    media: Media
    caption: str | None = None
    quote: MessageRef | None = None
    mentions: tuple[str, ...] = ()
    mention_all: bool = False
    # Opens once, then is gone from the recipient's phone.
    view_once: bool = False
    # Sent again from another chat: WhatsApp labels it "Forwarded".
    forwarded: bool = False


@dataclass(frozen=True, slots=True)
class Audio:
    media: Media
    voice_note: bool = False
    quote: MessageRef | None = None
    # Opens once, then is gone from the recipient's phone.
    view_once: bool = False
    # Sent again from another chat: WhatsApp labels it "Forwarded".
    forwarded: bool = False


@dataclass(frozen=True, slots=True)
class Document:
    media: Media
    caption: str | None = None
    quote: MessageRef | None = None
    mentions: tuple[str, ...] = ()
    mention_all: bool = False
    # Sent again from another chat: WhatsApp labels it "Forwarded".
    forwarded: bool = False


@dataclass(frozen=True, slots=True)
class Sticker:
    media: Media
    quote: MessageRef | None = None
    # Sent again from another chat: WhatsApp labels it "Forwarded".
    forwarded: bool = False


@dataclass(frozen=True, slots=True)
class Location:
    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None
    quote: MessageRef | None = None
    # Sent again from another chat: WhatsApp labels it "Forwarded".
    forwarded: bool = False


@dataclass(frozen=True, slots=True)
class Contact:
    display_name: str
    vcard: str
    quote: MessageRef | None = None
    # Sent again from another chat: WhatsApp labels it "Forwarded".
    forwarded: bool = False


@dataclass(frozen=True, slots=True)
class Poll:
    name: str
    options: tuple[str, ...]
    selectable_count: int = 1
    quote: MessageRef | None = None


@dataclass(frozen=True, slots=True)
class Reaction:
    """An emoji on `target`; an empty emoji removes this account's reaction."""

    target: MessageRef
    emoji: str


@dataclass(frozen=True, slots=True)
class Edit:
    """New text for a message this account sent."""

    target_id: str
    text: str


@dataclass(frozen=True, slots=True)
class Revoke:
    """Delete a message for everyone."""

    target: MessageRef


@dataclass(frozen=True, slots=True)
class StatusText:
    """A text status (story): white text on a coloured card. `background_argb` is the card's colour
    as 0xAARRGGBB; `font` WhatsApp's font number (0 to 9)."""

    text: str
    background_argb: int | None = None
    font: int | None = None


Outgoing = (StatusText | Text | Image | Video | Audio | Document | Sticker | Location | Contact | Poll | Reaction | Edit
            | Revoke)


Mentioning = Text | Image | Video | Document


def with_everyone_mentioned(message: Mentioning, participants: Iterable[str]) -> Mentioning:
    """`message` with `mention_all` expanded into the given participants (its own mentions kept first)."""
    everyone = tuple(dict.fromkeys((*message.mentions, *participants)))
    return dataclasses.replace(message, mentions=everyone, mention_all=False)
