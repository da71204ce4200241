"""The engine's auth state (its SQLite store) in S3: envelope-encrypted client-side on top of
SSE-KMS, one object per snapshot, and a snapshot only counts once the lease, checked by its
fence, points at it. A writer that lost its lease is refused and its object removed."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from whatsam.adapters.aws import client
from whatsam.adapters.leases import Lease, LeaseRepository
from whatsam.config import Settings
from whatsam.security.envelope import open_sealed, seal


def auth_state_prefix(tenant_id: str, session_id: str) -> str:
    return f"{tenant_id}/{session_id}/"


def encryption_context(tenant_id: str, session_id: str) -> dict[str, str]:
    return {"tenant": tenant_id, "session": session_id}


def _fence_of(key: str) -> int:
    name = key.rsplit("/", 1)[-1]
    head = name.split("-", 1)[0]
    return int(head) if head.isdigit() else 0


class StaleFence(Exception):
    """The lease moved on: this writer may no longer write the session's auth state."""


class AuthStateStore:
    def __init__(self, settings: Settings, leases: LeaseRepository):
        self._settings = settings
        self._leases = leases
        self._bucket = settings.bucket_name("auth-state")

    @property
    def _s3(self) -> Any:
        return client("s3", self._settings)

    @property
    def _kms(self) -> Any:
        return client("kms", self._settings)

    def save(self, lease: Lease, state: bytes) -> str:
        """Store a snapshot under `lease`; raises StaleFence if the lease is no longer current."""
        context = encryption_context(lease.tenant_id, lease.session_id)
        key = f"{auth_state_prefix(lease.tenant_id, lease.session_id)}{lease.fence:012d}-{uuid.uuid4().hex}.bin"
        stored = self._s3.put_object(Bucket=self._bucket, Key=key,
                                     Body=seal(self._kms, self._settings.auth_state_key_id, state, context),
                                     ServerSideEncryption="aws:kms", SSEKMSKeyId=self._settings.auth_state_key_id,
                                     Metadata={"fence": str(lease.fence)})
        if not self._leases.record_auth_state(lease, key):
            # The bucket is versioned: deleting the key alone would keep the refused snapshot
            # as an older version. Delete the version itself.
            version = {"VersionId": stored["VersionId"]} if stored.get("VersionId") else {}
            self._s3.delete_object(Bucket=self._bucket, Key=key, **version)
            raise StaleFence(f"lease of {lease.session_id} moved past fence {lease.fence}")
        self._delete_others(lease, keep=key)
        return key

    def load(self, lease: Lease) -> bytes | None:
        current = self._leases.get(lease.session_id)
        if current is None or not current.auth_key:
            return None
        blob = self._s3.get_object(Bucket=self._bucket, Key=current.auth_key)["Body"].read()
        return open_sealed(self._kms, blob, encryption_context(lease.tenant_id, lease.session_id))

    def delete(self, tenant_id: str, session_id: str) -> None:
        """Forget the session's credentials (logged out, or the card was deleted)."""
        self._leases.clear_auth_state(session_id)
        self._delete_prefix(auth_state_prefix(tenant_id, session_id))

    def _delete_others(self, lease: Lease, keep: str) -> None:
        # Only snapshots at or below our fence: a newer holder's objects are not ours to touch.
        self._delete_prefix(auth_state_prefix(lease.tenant_id, lease.session_id),
                            where=lambda key: key != keep and _fence_of(key) <= lease.fence)

    def _delete_prefix(self, prefix: str, where: Callable[[str], bool] = lambda key: True) -> None:
        pages = self._s3.get_paginator("list_object_versions").paginate(Bucket=self._bucket, Prefix=prefix)
        for page in pages:
            objects = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                       for v in page.get("Versions", []) + page.get("DeleteMarkers", []) if where(v["Key"])]
            if objects:
                self._s3.delete_objects(Bucket=self._bucket, Delete={"Objects": objects, "Quiet": True})
