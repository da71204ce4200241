"""Wires settings, adapters and services once per process (one Lambda container, one
`whatsam dev` API server)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import redis

from whatsam.adapters.dynamo_models import bind_models
from whatsam.adapters.queues import QueuePublisher
from whatsam.adapters.redis_client import redis_from_url
from whatsam.adapters.repositories import (
    ApiKeyRepository,
    RefreshTokenRepository,
    SessionRepository,
    UserRepository,
)
from whatsam.config import Settings, get_settings
from whatsam.services.accounts import AccountService
from whatsam.services.api_keys import ApiKeyService
from whatsam.services.principals import Authenticator
from whatsam.services.sessions import SessionService


@dataclass(frozen=True)
class Container:
    settings: Settings
    users: UserRepository
    queues: QueuePublisher
    redis: redis.Redis
    accounts: AccountService
    sessions: SessionService
    api_keys: ApiKeyService
    authenticator: Authenticator


def build(settings: Settings) -> Container:
    settings.require_secrets()
    bind_models(settings)
    users, keys, refresh = UserRepository(), ApiKeyRepository(), RefreshTokenRepository()
    queues = QueuePublisher(settings)
    key_service = ApiKeyService(settings, keys)
    return Container(
        settings=settings,
        users=users,
        queues=queues,
        redis=redis_from_url(settings.redis_url),
        accounts=AccountService(settings, users, refresh),
        sessions=SessionService(settings, SessionRepository(), keys, key_service, queues),
        api_keys=key_service,
        authenticator=Authenticator(settings, users, keys, refresh),
    )


@lru_cache(maxsize=1)
def container() -> Container:
    return build(get_settings())
