"""POST /v1/status: a status (story) to post, one schema per type, discriminated by `type`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, RootModel, StrictInt, field_validator

from whatsam.http.schemas import MULTILINE, Body
from whatsam.messaging.requests import Caption, MediaInput

# WhatsApp's apps cut a text status at 700 characters.
_STATUS_TEXT_MAX = 700
# WhatsApp's status fonts (waE2E ExtendedTextMessage.FontType).
STATUS_FONTS = (0, 1, 2, 6, 7, 8, 9, 10)
STATUS_JID = "status@broadcast"


class TextStatus(Body):
    """A text card: white text on `background_color` (default WhatsApp's), in WhatsApp font `font`."""

    type: Literal["text"]
    text: Annotated[str, Field(min_length=1, max_length=_STATUS_TEXT_MAX), MULTILINE]
    background_color: str | None = Field(default=None, pattern=r"^#[0-9A-Fa-f]{6}$",
                                         description="The card's colour, `#RRGGBB`")
    font: StrictInt | None = Field(default=None, description="One of WhatsApp's status fonts: 0, 1, 2, 6 to 10")

    @field_validator("font")
    @classmethod
    def _known_font(cls, value: int | None) -> int | None:
        if value is not None and value not in STATUS_FONTS:
            raise ValueError(f"must be one of {', '.join(map(str, STATUS_FONTS))}")
        return value


class ImageStatus(Body):
    type: Literal["image"]
    media: MediaInput
    caption: Caption | None = None


class VideoStatus(Body):
    type: Literal["video"]
    media: MediaInput
    caption: Caption | None = None


StatusRequest = Annotated[TextStatus | ImageStatus | VideoStatus, Field(discriminator="type")]


class StatusBody(RootModel[StatusRequest]):
    """The body of POST /v1/status (one of the status types above)."""


def background_argb(color: str | None) -> int | None:
    """`#RRGGBB` as WhatsApp's opaque 0xFFRRGGBB."""
    return None if color is None else 0xFF000000 | int(color[1:], 16)
