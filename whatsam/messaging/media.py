"""Media of messages in the media bucket: inline uploads, presigned uploads, and what each
message type may carry, checked against the bytes themselves, not only the declared type."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from whatsam.adapters.aws import client
from whatsam.config import Settings
from whatsam.domain.ids import new_id
from whatsam.errors import PayloadTooLarge, Unprocessable, ValidationFailed

# What WhatsApp accepts per type; documents may be anything.
ALLOWED: dict[str, frozenset[str]] = {
    "image": frozenset({"image/jpeg", "image/png", "image/webp"}),
    "video": frozenset({"video/mp4", "video/3gpp"}),
    "audio": frozenset({"audio/ogg", "audio/mpeg", "audio/mp4", "audio/aac", "audio/amr"}),
    "sticker": frozenset({"image/webp"}),
}

_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"WEBP", 8, "image/webp"),
    (b"OggS", 0, "audio/ogg"),
    (b"ID3", 0, "audio/mpeg"),
    (b"\xff\xfb", 0, "audio/mpeg"),
    (b"#!AMR", 0, "audio/amr"),
    (b"%PDF", 0, "application/pdf"),
    (b"ftyp3gp", 4, "video/3gpp"),
    (b"ftypM4A", 4, "audio/mp4"),
    (b"ftyp", 4, "video/mp4"),
)


def sniff(data: bytes) -> str | None:
    for magic, offset, mimetype in _MAGIC:
        if data[offset:offset + len(magic)] == magic:
            return mimetype
    return None


def check_type(kind: str, declared: str | None, data: bytes | None) -> str:
    """The mimetype to send as: what the bytes are (when we can tell), allowed for `kind`."""
    actual = sniff(data) if data is not None else None
    mimetype = (actual or declared or "application/octet-stream").split(";")[0].strip().lower()
    if actual and declared and declared.split(";")[0].strip().lower() != actual and kind != "document":
        raise Unprocessable(f"The content is {actual}, not {declared}.", code="media_type_mismatch",
                            details={"declared": declared, "actual": actual})
    allowed = ALLOWED.get(kind)
    if allowed is not None and mimetype not in allowed:
        raise Unprocessable(f"A {kind} must be one of {', '.join(sorted(allowed))}.", code="unsupported_media_type",
                            details={"mimetype": mimetype})
    return mimetype


def decode_base64(text: str, limit: int) -> bytes:
    if len(text) > limit * 4 // 3 + 8:
        raise PayloadTooLarge(f"Media larger than {limit} bytes; upload it with POST /v1/media.",
                              code="media_too_large", details={"limit": limit})
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValidationFailed("`media.base64` is not valid base64.", code="invalid_media") from exc
    if len(data) > limit:
        raise PayloadTooLarge(f"Media larger than {limit} bytes.", code="media_too_large", details={"limit": limit})
    if not data:
        raise ValidationFailed("`media.base64` is empty.", code="invalid_media")
    return data


def inbound_prefix(tenant_id: str, session_id: str) -> str:
    return f"inbound/{tenant_id}/{session_id}/"


def is_inbound_key_of(key: str, tenant_id: str, session_id: str) -> bool:
    """True when `key` names one object right under the session's inbound prefix: not another
    tenant's or session's, nor a path with dot segments a client might resolve elsewhere."""
    prefix = inbound_prefix(tenant_id, session_id)
    name = key[len(prefix):] if key.startswith(prefix) else ""
    return name not in ("", ".", "..") and "/" not in name


@dataclass(frozen=True)
class StoredMedia:
    key: str
    mimetype: str
    size: int
    filename: str | None

    def to_payload(self) -> dict[str, Any]:
        return {"key": self.key, "mimetype": self.mimetype, "size": self.size, "filename": self.filename}


class MediaStore:
    def __init__(self, settings: Settings):
        self._settings = settings
        self.bucket = settings.bucket_name("media")

    @property
    def _s3(self) -> Any:
        return client("s3", self._settings)

    def put(self, key: str, data: bytes, mimetype: str) -> None:
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=mimetype)

    def get(self, key: str) -> bytes:
        return bytes(self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())

    def head(self, key: str) -> dict[str, Any] | None:
        try:
            head: dict[str, Any] = self._s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise
        return head

    def inbound_key(self, tenant_id: str, session_id: str, message_id: str) -> str:
        """Where a worker stores the media of a message the session received."""
        return f"{inbound_prefix(tenant_id, session_id)}{message_id}"

    def upload_key(self, tenant_id: str, session_id: str, media_id: str) -> str:
        return f"uploads/{tenant_id}/{session_id}/{media_id}"

    def presign_upload(self, tenant_id: str, session_id: str, mimetype: str, limit: int,
                       expires_in: int = 900) -> dict[str, Any]:
        """A presigned POST: the size and content type are enforced by S3 itself."""
        media_id = new_id("med")
        post = self._s3.generate_presigned_post(
            Bucket=self.bucket, Key=self.upload_key(tenant_id, session_id, media_id),
            Fields={"Content-Type": mimetype},
            Conditions=[{"Content-Type": mimetype}, ["content-length-range", 1, limit]], ExpiresIn=expires_in)
        return {"media_id": media_id, "upload": {"url": post["url"], "fields": post["fields"]},
                "expires_in": expires_in, "max_bytes": limit}

    def presign_get(self, key: str, expires_in: int = 3600) -> str:
        return str(self._s3.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": key},
                                                   ExpiresIn=expires_in))
