"""What WhatsApp accepts, checked before a send leaves the worker.

Every engine runs `check_outgoing` first, so a message WhatsApp (or the recipients' apps) would
refuse or mangle fails the same way on both engines, with a message that says why. Rules that
need what the session sent before (only your own, recent messages can be edited or revoked) are
the engines' own: the simulated engine knows its history, WhatsApp enforces them for neonize.
"""

from __future__ import annotations

import math
import re
import unicodedata

from worker_fleet.engines.base import EngineError, MessageKind, split_jid
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

GROUP_SERVER = "g.us"
MEDIA_KINDS: frozenset[MessageKind] = frozenset({"image", "video", "audio", "document", "sticker"})

MAX_TEXT_LENGTH = 65_536
MAX_MEDIA_BYTES = 16 * 1024 * 1024  # photos, videos and voice messages
MAX_DOCUMENT_BYTES = 2 * 1024 * 1024 * 1024
MAX_STICKER_BYTES = 500 * 1024  # animated; static ones are meant to stay under 100 KB
MAX_FILENAME_LENGTH = 255
POLL_MIN_OPTIONS = 2
POLL_MAX_OPTIONS = 12
POLL_MAX_NAME_LENGTH = 255
POLL_MAX_OPTION_LENGTH = 100
MAX_EMOJI_CODE_POINTS = 16  # the longest ZWJ and tag sequences
VOICE_NOTE_MIMETYPE = "audio/ogg"  # WhatsApp apps play voice notes only as Ogg/Opus
STICKER_MIMETYPE = "image/webp"

_MIMETYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")

STATUS_JID = "status@broadcast"
# WhatsApp's status fonts (waE2E ExtendedTextMessage.FontType).
STATUS_FONTS = frozenset({0, 1, 2, 6, 7, 8, 9, 10})

_KINDS: dict[type, MessageKind] = {
    StatusText: "text",
    Text: "text",
    Image: "image",
    Video: "video",
    Audio: "audio",
    Document: "document",
    Sticker: "sticker",
    Location: "location",
    Contact: "contact",
    Poll: "poll",
    Reaction: "reaction",
    Edit: "edit",
    Revoke: "revoke",
}


def outgoing_kind(message: Outgoing) -> MessageKind:
    """The `MessageKind` a recipient sees `message` as."""
    try:
        return _KINDS[type(message)]
    except KeyError:
        raise EngineError(f"cannot send a {type(message).__name__}") from None


def shows_in_chat(message: Outgoing) -> bool:
    """Whether the send adds a message bubble (and so gets receipts); reactions, edits and
    revokes change an existing one."""
    return not isinstance(message, Reaction | Edit | Revoke)


def media_of(message: Outgoing) -> Media | None:
    return message.media if isinstance(message, Image | Video | Audio | Document | Sticker) else None


def base_mimetype(mimetype: str) -> str:
    """``"audio/ogg; codecs=opus"`` -> ``"audio/ogg"``."""
    return mimetype.split(";", 1)[0].strip().lower()


def is_group_jid(jid: str) -> bool:
    return split_jid(jid)[1] == GROUP_SERVER


def check_outgoing(to_jid: str, message: Outgoing) -> None:
    """Raise `EngineError` if WhatsApp would not accept `message` for the chat `to_jid`."""
    group = is_group_jid(to_jid)
    kind = outgoing_kind(message)
    _check_status(to_jid, message)
    if isinstance(message, Text | StatusText):
        _check_text(message.text, "text")
    elif isinstance(message, Image | Video | Audio | Document | Sticker):
        _check_media(message)
    elif isinstance(message, Location):
        _check_location(message)
    elif isinstance(message, Contact):
        _check_contact(message)
    elif isinstance(message, Poll):
        _check_poll(message)
    elif isinstance(message, Reaction):
        _check_target(message.target, group=group, what="reaction")
        _check_emoji(message.emoji)
    elif isinstance(message, Edit):
        if not message.target_id:
            raise EngineError("an edit needs the id of the message it changes")
        _check_text(message.text, "edited text")
    elif isinstance(message, Revoke):
        _check_target(message.target, group=group, what="revoke")
        if not message.target.from_me and not group:
            raise EngineError("in a one-to-one chat only this account's own messages can be deleted for everyone")
    quote = getattr(message, "quote", None)
    if quote is not None:
        _check_target(quote, group=group, what=f"quote in a {kind} message")
    if isinstance(message, Text | Image | Video | Document):
        _check_mentions(message.mentions, message.mention_all, group=group)


def _check_status(to_jid: str, message: Outgoing) -> None:
    """A status (story) is a text card, a photo or a video, posted to `STATUS_JID` only."""
    if isinstance(message, StatusText):
        if to_jid != STATUS_JID:
            raise EngineError(f"a text status is posted to {STATUS_JID}, not sent to {to_jid}")
        if message.font is not None and message.font not in STATUS_FONTS:
            raise EngineError(f"a status font is one of {sorted(STATUS_FONTS)}, not {message.font}")
        if message.background_argb is not None and not 0 <= message.background_argb <= 0xFFFFFFFF:
            raise EngineError("a status background is a 32-bit ARGB colour")
    elif to_jid == STATUS_JID and not isinstance(message, Image | Video):
        raise EngineError(f"a status is a text card (StatusText), an image or a video, not {type(message).__name__}")


# WhatsApp's own limit: a message mentions at most a full group.
MAX_MENTIONS = 1024


def _check_mentions(mentions: tuple[str, ...], mention_all: bool, *, group: bool) -> None:
    if mention_all and not group:
        raise EngineError("only messages to a group can mention everyone")
    if len(mentions) > MAX_MENTIONS:
        raise EngineError(f"a message mentions at most {MAX_MENTIONS} people")
    for jid in mentions:
        _, server = split_jid(jid)
        if server not in ("s.whatsapp.net", "lid"):
            raise EngineError(f"a mention names a person (a phone or LID JID), not {jid!r}")


def _check_text(text: str, what: str) -> None:
    if not isinstance(text, str) or not text.strip():
        raise EngineError(f"the {what} is empty")
    if len(text) > MAX_TEXT_LENGTH:
        raise EngineError(f"the {what} has {len(text)} characters, WhatsApp takes at most {MAX_TEXT_LENGTH}")


def _check_caption(caption: str | None) -> None:
    if caption is not None and len(caption) > MAX_TEXT_LENGTH:
        raise EngineError(f"the caption has {len(caption)} characters, WhatsApp takes at most {MAX_TEXT_LENGTH}")


def _check_media(message: Image | Video | Audio | Document | Sticker) -> None:
    media = message.media
    kind = outgoing_kind(message)
    if not isinstance(media.data, bytes | bytearray) or not media.data:
        raise EngineError(f"the {kind} has no content")
    mimetype = base_mimetype(media.mimetype)
    if not _MIMETYPE.fullmatch(mimetype):
        raise EngineError(f"not a MIME type: {media.mimetype!r}")
    size = len(media.data)
    if isinstance(message, Document):
        limit = MAX_DOCUMENT_BYTES
    elif isinstance(message, Sticker):
        if mimetype != STICKER_MIMETYPE:
            raise EngineError(f"a sticker must be {STICKER_MIMETYPE}, not {mimetype}")
        limit = MAX_STICKER_BYTES
    else:
        if mimetype.split("/", 1)[0] != kind:
            raise EngineError(f"{kind} messages cannot carry {mimetype}")
        if isinstance(message, Audio) and message.voice_note and mimetype != VOICE_NOTE_MIMETYPE:
            raise EngineError(f"a voice note must be {VOICE_NOTE_MIMETYPE} (Opus), not {mimetype}")
        limit = MAX_MEDIA_BYTES
    if size > limit:
        raise EngineError(f"the {kind} has {size} bytes, WhatsApp takes at most {limit}")
    filename = media.filename
    if filename is not None and (
        not filename.strip() or len(filename) > MAX_FILENAME_LENGTH or any(c in filename for c in "/\\\0")
    ):
        raise EngineError(f"not a usable file name: {filename!r}")
    if isinstance(message, Image | Video | Document):
        _check_caption(message.caption)


def _check_location(message: Location) -> None:
    lat, lon = message.latitude, message.longitude
    if isinstance(lat, bool) or isinstance(lon, bool) or not isinstance(lat, int | float) or not isinstance(
        lon, int | float
    ):
        raise EngineError("latitude and longitude must be numbers")
    if not (math.isfinite(lat) and -90 <= lat <= 90):
        raise EngineError(f"latitude {lat} is outside -90..90")
    if not (math.isfinite(lon) and -180 <= lon <= 180):
        raise EngineError(f"longitude {lon} is outside -180..180")


def _check_contact(message: Contact) -> None:
    if not message.display_name.strip():
        raise EngineError("a contact needs a display name")
    card = message.vcard.strip().upper()
    if not card.startswith("BEGIN:VCARD") or "END:VCARD" not in card:
        raise EngineError("a contact needs a vCard (BEGIN:VCARD ... END:VCARD)")


def _check_poll(message: Poll) -> None:
    name = message.name.strip()
    if not name:
        raise EngineError("a poll needs a question")
    if len(name) > POLL_MAX_NAME_LENGTH:
        raise EngineError(f"the poll question is longer than {POLL_MAX_NAME_LENGTH} characters")
    if isinstance(message.options, str):
        raise EngineError("poll options must be a sequence of strings")
    options = [option.strip() for option in message.options]
    if not POLL_MIN_OPTIONS <= len(options) <= POLL_MAX_OPTIONS:
        raise EngineError(f"a poll has {POLL_MIN_OPTIONS} to {POLL_MAX_OPTIONS} options, not {len(options)}")
    if any(not option for option in options):
        raise EngineError("poll options must not be empty")
    if any(len(option) > POLL_MAX_OPTION_LENGTH for option in options):
        raise EngineError(f"poll options are at most {POLL_MAX_OPTION_LENGTH} characters")
    if len(set(options)) != len(options):
        raise EngineError("poll options must be unique")
    count = message.selectable_count
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= len(options):
        raise EngineError(f"selectable_count must be 1..{len(options)}, not {count!r}")


def _check_target(target: MessageRef, *, group: bool, what: str) -> None:
    if not target.message_id:
        raise EngineError(f"the {what} needs the id of the message it refers to")
    if target.sender_jid is not None:
        split_jid(target.sender_jid)
    elif group and not target.from_me:
        raise EngineError(f"in a group the {what} needs the sender of the message it refers to")


def _check_emoji(emoji: str) -> None:
    if emoji == "":
        return  # removes the reaction
    if (
        emoji.isascii()
        or len(emoji) > MAX_EMOJI_CODE_POINTS
        or any(unicodedata.category(char)[0] in "LZ" or unicodedata.category(char) == "Cc" for char in emoji)
    ):
        raise EngineError(f"a reaction is one emoji (or empty to remove it), not {emoji!r}")
