"""Outgoing messages as WhatsApp protobufs: pure functions, no network, no Go client.

`NeonizeClient.send` is the thin I/O edge around them: it checks the message, fetches a link
preview (only through the host's fetcher, see `NeonizeOptions.fetch_url`), uploads the media
through neonize, then builds the protobuf here from the upload's keys and sends it. The shapes
follow whatsmeow's own builders (`BuildPollCreation`, `BuildReaction`/`BuildMessageKey`) and
neonize's (`build_edit`, `build_revoke`, `build_*_message`), minus their side effects: neonize's
media builders upload by themselves and need ffmpeg for videos and audio; here media carries the
MIME type and file name it was given, images get a JPEG thumbnail, videos and audio no duration.
"""

from __future__ import annotations

import io
import mimetypes
import os
import re
import time
from dataclasses import dataclass
from typing import Any

from worker_fleet.engines.base import EngineError
from worker_fleet.engines.neonize_mapping import GROUP_SERVER, content_of, jid_from_text, jid_text
from worker_fleet.engines.neonize_runtime import (
    Link,
    LinkPreview,
    MediaType,
    MessageKey,
    build_edit,
    build_revoke,
    neonize_proto,
    validate_link,
    wa_e2e,
)
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

IMAGE_THUMBNAIL_SIDE = 100
LINK_THUMBNAIL_SIDE = 300
_URL = re.compile(r"https?://\S+")
_UPLOAD_TYPES: dict[type, Any] = {
    Image: MediaType.MediaImage,
    Video: MediaType.MediaVideo,
    Audio: MediaType.MediaAudio,
    Document: MediaType.MediaDocument,
    Sticker: MediaType.MediaImage,
}


@dataclass(frozen=True, slots=True)
class Thumbnail:
    jpeg: bytes
    width: int
    height: int
    # Size of the picture it was made from.
    source_width: int
    source_height: int


@dataclass(frozen=True, slots=True)
class LinkPreviewData:
    url: str  # as it appears in the text
    title: str
    description: str
    image_url: str | None


def upload_media_type(message: Outgoing) -> Any | None:
    """neonize's `MediaType` to upload the message's media as; None for messages without media."""
    return _UPLOAD_TYPES.get(type(message))


def first_link(text: str) -> str | None:
    """The URL WhatsApp would preview: the first valid http(s) link in the text."""
    return next((link for link in _URL.findall(text) if validate_link(link)), None)


def parse_link_preview(url: str, html: str) -> LinkPreviewData | None:
    """Title, description and image of a fetched page (Open Graph, Twitter card or HTML tags)."""
    try:
        preview = LinkPreview(Link(url, html), parser="html.parser")
        title, description, image = preview.title, preview.description, preview.absolute_image
    except Exception:  # linkpreview raises assorted errors on odd pages; a preview is optional
        return None
    if not title and not description:
        return None
    return LinkPreviewData(url=url, title=str(title or ""), description=str(description or ""),
                           image_url=str(image) if image else None)


def jpeg_thumbnail(data: bytes, max_side: int) -> Thumbnail | None:
    """A small JPEG of an image, or None if Pillow cannot read it."""
    from PIL import Image as PILImage  # neonize's own dependency; loaded only when needed

    try:
        with PILImage.open(io.BytesIO(data)) as picture:
            source_width, source_height = picture.size
            picture.thumbnail((max_side, max_side))
            rgb = picture.convert("RGB")
            out = io.BytesIO()
            rgb.save(out, format="JPEG", quality=70)
    except Exception:  # not an image Pillow knows, truncated, or a decompression bomb
        return None
    return Thumbnail(out.getvalue(), rgb.width, rgb.height, source_width, source_height)


def is_animated_webp(data: bytes) -> bool:
    # An extended WebP (VP8X chunk) with the animation flag set.
    return data[:4] == b"RIFF" and data[8:12] == b"WEBP" and data[12:16] == b"VP8X" and len(data) > 20 and bool(
        data[20] & 0x02
    )


def default_filename(mimetype: str) -> str:
    extension = mimetypes.guess_extension(mimetype.split(";", 1)[0].strip().lower()) or ""
    return f"file{extension}"


def quote_context(quote: MessageRef, *, chat: Any, own_jid: Any | None) -> Any:
    """The ContextInfo that makes a message a reply to `quote`."""
    context = wa_e2e.ContextInfo(stanzaID=quote.message_id)
    participant = _author(quote, chat=chat, own_jid=own_jid)
    if participant is not None:
        context.participant = participant
    return context


def message_key(target: MessageRef, *, chat: Any) -> Any:
    """The key of an existing message, as whatsmeow's BuildMessageKey makes it."""
    key = MessageKey(remoteJID=jid_text(chat), fromMe=target.from_me, ID=target.message_id)
    if not target.from_me and chat.Server == GROUP_SERVER and target.sender_jid:
        key.participant = jid_text(jid_from_text(target.sender_jid))
    return key


def build_wire_message(
    message: Outgoing,
    *,
    chat: Any,
    own_jid: Any | None = None,
    upload: Any | None = None,
    now_ms: int | None = None,
    message_secret: bytes | None = None,
) -> Any:
    """The WhatsApp protobuf `Message` for `message`, sent to `chat` (a neonize JID).

    `upload` is neonize's UploadResponse of the media (required for media messages); `own_jid`
    names this account when a quote refers to one of its own messages. `now_ms` and
    `message_secret` (a poll's vote key) default to the clock and 32 random bytes.
    """
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    wire = _content_message(message, chat=chat, own_jid=own_jid, upload=upload, now_ms=now_ms,
                            message_secret=message_secret)
    if getattr(message, "forwarded", False):
        _forwarded(wire)
    return wire


def _content_message(message: Outgoing, *, chat: Any, own_jid: Any | None, upload: Any | None, now_ms: int,
                     message_secret: bytes | None) -> Any:
    if isinstance(message, StatusText):
        # White text on the chosen card, as WhatsApp's apps post a text status.
        status = wa_e2e.ExtendedTextMessage(text=message.text, textArgb=0xFFFFFFFF)
        if message.background_argb is not None:
            status.backgroundArgb = message.background_argb
        if message.font is not None:
            status.font = message.font
        return wa_e2e.Message(extendedTextMessage=status)
    if isinstance(message, Text):
        if message.quote is None and not message.link_preview and not message.mentions and not message.forwarded:
            return wa_e2e.Message(conversation=message.text)
        extended = wa_e2e.ExtendedTextMessage(text=message.text)
        _quote(extended, message.quote, chat=chat, own_jid=own_jid)
        _mention(extended, message.mentions)
        return wa_e2e.Message(extendedTextMessage=extended)
    if isinstance(message, Image | Video | Audio | Document | Sticker):
        return _media_message(message, chat=chat, own_jid=own_jid, upload=upload, now_ms=now_ms)
    if isinstance(message, Location):
        location = wa_e2e.LocationMessage(degreesLatitude=float(message.latitude),
                                          degreesLongitude=float(message.longitude))
        if message.name:
            location.name = message.name
        if message.address:
            location.address = message.address
        _quote(location, message.quote, chat=chat, own_jid=own_jid)
        return wa_e2e.Message(locationMessage=location)
    if isinstance(message, Contact):
        contact = wa_e2e.ContactMessage(displayName=message.display_name, vcard=message.vcard)
        _quote(contact, message.quote, chat=chat, own_jid=own_jid)
        return wa_e2e.Message(contactMessage=contact)
    if isinstance(message, Poll):
        poll = wa_e2e.PollCreationMessage(
            name=message.name.strip(),
            options=[wa_e2e.PollCreationMessage.Option(optionName=option.strip()) for option in message.options],
            selectableOptionsCount=message.selectable_count,
        )
        _quote(poll, message.quote, chat=chat, own_jid=own_jid)
        # The secret lets voters encrypt their votes for us; whatsmeow stores it when sending.
        secret = os.urandom(32) if message_secret is None else message_secret
        return wa_e2e.Message(pollCreationMessage=poll, messageContextInfo=wa_e2e.MessageContextInfo(
            messageSecret=secret))
    if isinstance(message, Reaction):
        return wa_e2e.Message(reactionMessage=wa_e2e.ReactionMessage(
            key=message_key(message.target, chat=chat), text=message.emoji, senderTimestampMS=now_ms))
    if isinstance(message, Edit):
        edit = build_edit(chat, message.target_id, wa_e2e.Message(conversation=message.text))
        edit.editedMessage.message.protocolMessage.timestampMS = now_ms
        return edit
    if isinstance(message, Revoke):
        target = message.target
        if target.from_me:
            me = own_jid if own_jid is not None else chat
            return build_revoke(chat, me, target.message_id, me)
        if target.sender_jid is None:
            raise EngineError("revoking another member's message needs its sender")
        return build_revoke(chat, jid_from_text(target.sender_jid), target.message_id,
                            own_jid if own_jid is not None else neonize_proto.JID())
    raise EngineError(f"cannot send a {type(message).__name__}")


def _forwarded(wire: Any) -> None:
    """Label the message's content "Forwarded", as whatsmeow's apps do (its context info)."""
    content = content_of(wire)
    for descriptor, part in content.ListFields():
        if descriptor.message_type is not None and "contextInfo" in descriptor.message_type.fields_by_name:
            part.contextInfo.isForwarded = True
            part.contextInfo.forwardingScore = max(part.contextInfo.forwardingScore, 1)


def with_link_preview(
    wire: Any,
    preview: LinkPreviewData,
    *,
    thumbnail: Thumbnail | None = None,
    thumbnail_upload: Any | None = None,
    now_ms: int | None = None,
) -> Any:
    """`wire` (a text message) with the preview WhatsApp shows under the link."""
    result = wa_e2e.Message()
    result.CopyFrom(wire)
    if result.HasField("conversation"):
        text = result.conversation
        result.ClearField("conversation")
        result.extendedTextMessage.text = text
    extended = result.extendedTextMessage
    extended.matchedText = preview.url
    extended.title = preview.title
    extended.description = preview.description
    extended.previewType = wa_e2e.ExtendedTextMessage.NONE
    if thumbnail is not None:
        extended.JPEGThumbnail = thumbnail.jpeg
        extended.thumbnailWidth = thumbnail.width
        extended.thumbnailHeight = thumbnail.height
        if thumbnail_upload is not None:
            now_ms = int(time.time() * 1000) if now_ms is None else now_ms
            extended.thumbnailDirectPath = thumbnail_upload.DirectPath
            extended.thumbnailSHA256 = thumbnail_upload.FileSHA256
            extended.thumbnailEncSHA256 = thumbnail_upload.FileEncSHA256
            extended.mediaKey = thumbnail_upload.MediaKey
            extended.mediaKeyTimestamp = now_ms // 1000
    return result


def _media_message(
    message: Image | Video | Audio | Document | Sticker, *, chat: Any, own_jid: Any | None, upload: Any | None,
    now_ms: int,
) -> Any:
    if upload is None:
        raise EngineError(f"a {type(message).__name__.lower()} message needs its media uploaded first")
    media: Media = message.media
    common = {
        "URL": upload.url,
        "directPath": upload.DirectPath,
        "mediaKey": upload.MediaKey,
        "fileEncSHA256": upload.FileEncSHA256,
        "fileSHA256": upload.FileSHA256,
        "fileLength": upload.FileLength or len(media.data),
        "mediaKeyTimestamp": now_ms // 1000,
        "mimetype": media.mimetype,
    }
    part: Any
    if isinstance(message, Image):
        part = wa_e2e.ImageMessage(**common)
        thumbnail = jpeg_thumbnail(media.data, IMAGE_THUMBNAIL_SIDE)
        if thumbnail is not None:
            part.JPEGThumbnail = thumbnail.jpeg
            part.width, part.height = thumbnail.source_width, thumbnail.source_height
        field = "imageMessage"
    elif isinstance(message, Video):
        part, field = wa_e2e.VideoMessage(**common), "videoMessage"
    elif isinstance(message, Audio):
        part, field = wa_e2e.AudioMessage(**common, PTT=message.voice_note), "audioMessage"
    elif isinstance(message, Document):
        filename = media.filename or default_filename(media.mimetype)
        part, field = wa_e2e.DocumentMessage(**common, fileName=filename, title=filename), "documentMessage"
    else:
        part, field = wa_e2e.StickerMessage(**common, isAnimated=is_animated_webp(media.data)), "stickerMessage"
    caption = getattr(message, "caption", None)
    if caption:
        part.caption = caption
    if getattr(message, "view_once", False):
        part.viewOnce = True  # as neonize's own build_*_message(viewonce=True) marks it
    _quote(part, message.quote, chat=chat, own_jid=own_jid)
    if isinstance(message, Image | Video | Document):
        _mention(part, message.mentions)
    wire = wa_e2e.Message(**{field: part})
    if isinstance(message, Document) and caption:
        # How WhatsApp's own apps send a captioned document; whatsmeow unwraps it on receipt.
        return wa_e2e.Message(documentWithCaptionMessage=wa_e2e.FutureProofMessage(message=wire))
    return wire


def _mention(part: Any, mentions: tuple[str, ...]) -> None:
    """WhatsApp highlights ``@<user>`` in the text for each JID in ``contextInfo.mentionedJID``."""
    if mentions:
        part.contextInfo.mentionedJID.extend(jid_text(jid_from_text(jid)) for jid in mentions)


def _quote(part: Any, quote: MessageRef | None, *, chat: Any, own_jid: Any | None) -> None:
    if quote is not None:
        part.contextInfo.MergeFrom(quote_context(quote, chat=chat, own_jid=own_jid))


def _author(ref: MessageRef, *, chat: Any, own_jid: Any | None) -> str | None:
    if ref.sender_jid:
        return jid_text(jid_from_text(ref.sender_jid))
    if ref.from_me:
        return jid_text(own_jid) if own_jid is not None else None
    if chat.Server != GROUP_SERVER:
        return jid_text(chat)  # in a one-to-one chat the other message's author is the other party
    return None
