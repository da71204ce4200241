"""Access tokens (short JWTs with a pinned algorithm) and opaque rotating refresh tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import jwt

from whatsam.config import Settings
from whatsam.errors import Unauthorized

ALGORITHM = "HS256"
REFRESH_PREFIX = "wrt_"


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    role: str
    family_id: str
    expires_at: int


def issue_access_token(settings: Settings, *, user_id: str, role: str, family_id: str) -> tuple[str, int]:
    now = int(time.time())
    ttl = min(settings.access_token_ttl_seconds, 900)
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": user_id,
        "role": role,
        "fam": family_id,
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
        "jti": secrets.token_urlsafe(12),
    }
    return jwt.encode(claims, settings.jwt_secret, algorithm=ALGORITHM), ttl


def verify_access_token(settings: Settings, token: str) -> AccessClaims:
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("The access token has expired.", code="token_expired") from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized("The access token is not valid.", code="invalid_token") from exc
    return AccessClaims(user_id=claims["sub"], role=claims.get("role", "user"),
                        family_id=claims.get("fam", ""), expires_at=claims["exp"])


def new_refresh_token() -> str:
    return REFRESH_PREFIX + secrets.token_urlsafe(32)


def refresh_token_hash(settings: Settings, token: str) -> str:
    # Keyed, so a leaked table cannot be replayed even for high-entropy tokens; by its own
    # key, not the signing key of access tokens (one key, one purpose).
    return hmac.new(settings.refresh_token_key.encode(), token.encode(), hashlib.sha256).hexdigest()
