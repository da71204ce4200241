"""POST /v1/messages: one schema per message type, discriminated by `type`. Each model
validates its input and documents it in the OpenAPI document."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, RootModel, Strict, StrictBool, StrictInt, field_validator, model_validator

from whatsam.http.schemas import MULTILINE, Body

_TEXT_MAX = 4096
_CAPTION_MAX = 1024

# Text a person reads in the chat: line breaks and tabs are part of it.
MessageText = Annotated[str, Field(min_length=1, max_length=_TEXT_MAX), MULTILINE]
Caption = Annotated[str, Field(max_length=_CAPTION_MAX), MULTILINE]
# Strict: `"false"`, `0` or `"1"` for a flag or a count is a 400, not a guess.
Flag = StrictBool
Degrees = Annotated[float, Strict()]  # a whole number is a number too


class _Strict(Body):
    pass


class MediaInput(_Strict):
    """Exactly one source: an HTTPS `url` the worker fetches, inline `base64`, or the
    `media_id` of a prior POST /v1/media upload."""

    url: str | None = Field(default=None, max_length=2048)
    base64: str | None = None
    media_id: str | None = Field(default=None, max_length=64)
    mimetype: str | None = Field(default=None, max_length=100)
    filename: str | None = Field(default=None, max_length=255)

    @model_validator(mode="after")
    def _one_source(self) -> MediaInput:
        sources = [s for s in (self.url, self.base64, self.media_id) if s]
        if len(sources) != 1:
            raise ValueError("give exactly one of `url`, `base64`, `media_id`")
        if self.url and not self.url.lower().startswith(("https://", "http://")):
            raise ValueError("`url` must be an https:// URL")
        if self.base64 and not self.mimetype:
            raise ValueError("`mimetype` is required with `base64`")
        return self


class _Base(_Strict):
    to: str = Field(min_length=3, max_length=64, description="E.164 phone number, or a user/group/LID JID")
    reply_to: str | None = Field(default=None, max_length=128,
                                 description="Quote this message: our message id, or a WhatsApp message id")


class _Mentions(_Strict):
    """Text and captions may mention people: WhatsApp highlights ``@<digits>`` in the text for each
    JID listed; `mention_all` (groups only) mentions every participant."""

    mentions: list[Annotated[str, Field(min_length=3, max_length=64)]] | None = Field(
        default=None, max_length=1024, description="E.164 numbers or JIDs mentioned; write `@<digits>` in the text")
    mention_all: bool = Field(default=False, description="Mention every participant of the group")


class TextMessage(_Base, _Mentions):
    type: Literal["text"]
    text: MessageText
    link_preview: Flag = False


_VIEW_ONCE = Field(default=False, description="The recipient can open it once; then it is gone from their phone")


class ImageMessage(_Base, _Mentions):
    type: Literal["image"]
    media: MediaInput
    caption: Caption | None = None
    view_once: Flag = _VIEW_ONCE


class VideoMessage(_Base, _Mentions):
    type: Literal["video"]
    media: MediaInput
    caption: Caption | None = None
    view_once: Flag = _VIEW_ONCE


class AudioMessage(_Base):
    type: Literal["audio"]
    media: MediaInput
    voice_note: Flag = False
    view_once: Flag = _VIEW_ONCE


class DocumentMessage(_Base, _Mentions):
    type: Literal["document"]
    media: MediaInput
    caption: Caption | None = None


class StickerMessage(_Base):
    type: Literal["sticker"]
    media: MediaInput


class LocationMessage(_Base):
    type: Literal["location"]
    latitude: Degrees = Field(ge=-90, le=90)
    longitude: Degrees = Field(ge=-180, le=180)
    name: str | None = Field(default=None, max_length=256)
    address: str | None = Field(default=None, max_length=512)


class ContactCard(_Strict):
    name: str = Field(min_length=1, max_length=256)
    phone: str = Field(min_length=4, max_length=32)


class ContactMessage(_Base):
    """A contact card: give `contact` (we build the vCard) or a ready `vcard`."""

    type: Literal["contact"]
    contact: ContactCard | None = None
    vcard: Annotated[str, Field(max_length=8192), MULTILINE] | None = None

    @model_validator(mode="after")
    def _one_form(self) -> ContactMessage:
        if (self.contact is None) == (self.vcard is None):
            raise ValueError("give exactly one of `contact` and `vcard`")
        if self.vcard is not None and not self.vcard.lstrip().upper().startswith("BEGIN:VCARD"):
            raise ValueError("`vcard` must be a vCard (BEGIN:VCARD …)")
        return self


class PollInput(_Strict):
    name: str = Field(min_length=1, max_length=256)
    options: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(min_length=2, max_length=12)
    selectable_count: StrictInt = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _sane(self) -> PollInput:
        if len(set(self.options)) != len(self.options):
            raise ValueError("poll options must be unique")
        if self.selectable_count > len(self.options):
            raise ValueError("`selectable_count` cannot exceed the number of options")
        return self


class PollMessage(_Base):
    type: Literal["poll"]
    poll: PollInput


class ReactionMessage(_Base):
    type: Literal["reaction"]
    message_id: str = Field(min_length=1, max_length=128, description="The message reacted to")
    emoji: str = Field(max_length=16, description="An emoji; empty removes the reaction")

    @field_validator("emoji")
    @classmethod
    def _emoji(cls, value: str) -> str:
        if value and (value.isascii() or len(value) > 8):
            raise ValueError("must be a single emoji, or empty to remove")
        return value


class EditMessage(_Base):
    type: Literal["edit"]
    message_id: str = Field(min_length=1, max_length=128, description="A text message this session sent")
    text: MessageText


class RevokeMessage(_Base):
    type: Literal["revoke"]
    message_id: str = Field(min_length=1, max_length=128, description="The message to delete for everyone")


class ForwardMessage(_Base):
    """Send a stored message again, labelled "Forwarded" (text, media, location or contact)."""

    type: Literal["forward"]
    message_id: str = Field(min_length=1, max_length=128,
                            description="The message to forward: our message id, or a WhatsApp message id")


SendMessageRequest = Annotated[
    TextMessage | ImageMessage | VideoMessage | AudioMessage | DocumentMessage | StickerMessage | LocationMessage
    | ContactMessage | PollMessage | ReactionMessage | EditMessage | RevokeMessage | ForwardMessage,
    Field(discriminator="type"),
]

MEDIA_TYPES = frozenset({"image", "video", "audio", "document", "sticker"})
# Message types whose text or caption can mention people.
MENTIONING_TYPES = frozenset({"text", "image", "video", "document"})
# Message types that act on an earlier message rather than adding one to the chat.
TARGETING_TYPES = frozenset({"reaction", "edit", "revoke"})

MessageType = Literal["text", "image", "video", "audio", "document", "sticker", "location", "contact", "poll",
                      "reaction", "edit", "revoke", "forward"]


class SendMessageBody(RootModel[SendMessageRequest]):
    """The body of POST /v1/messages (one of the message types above)."""
