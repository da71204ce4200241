"""Wires settings, adapters and services once per process (one Lambda container, one
`whatsam dev` API server)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

import redis

from whatsam.adapters.auth_state import AuthStateStore
from whatsam.adapters.chats import ChatRepository
from whatsam.adapters.directory import Directory
from whatsam.adapters.dynamo_models import bind_models
from whatsam.adapters.history_progress import HistoryProgress
from whatsam.adapters.identity_map import IdentityMap
from whatsam.adapters.joined_groups import JoinedGroups
from whatsam.adapters.leases import LeaseRepository
from whatsam.adapters.messages import JournalRepository, MessageRepository
from whatsam.adapters.queues import QueuePublisher
from whatsam.adapters.redis_client import redis_from_url
from whatsam.adapters.repositories import (
    ApiKeyRepository,
    RefreshTokenRepository,
    SessionRepository,
    UserRepository,
)
from whatsam.adapters.session_cache import SessionCache
from whatsam.adapters.session_settings import SessionSettingsRepository
from whatsam.adapters.token_chains import TokenChains
from whatsam.adapters.workers import WorkerRepository
from whatsam.config import Settings, get_settings
from whatsam.messaging.chats import ChatService
from whatsam.messaging.media import MediaStore
from whatsam.messaging.recipient_cap import RecipientCap
from whatsam.messaging.service import MessagingService
from whatsam.metering.counters import UsageCounters
from whatsam.metering.policies import PolicyTable
from whatsam.metering.ratelimit import RateLimiter
from whatsam.metering.wiring import Billing, build_billing
from whatsam.services.accounts import AccountService
from whatsam.services.admin import AdminService
from whatsam.services.api_keys import ApiKeyService
from whatsam.services.channels import ChannelService
from whatsam.services.chat_ingestion import ChatIngestion
from whatsam.services.chat_list import ChatListService
from whatsam.services.contacts import ContactService
from whatsam.services.dev_phone import DevPhone
from whatsam.services.engine_calls import EngineCalls
from whatsam.services.groups import GroupService
from whatsam.services.identity_learning import IdentityLearning
from whatsam.services.ingestion import EventIngestion
from whatsam.services.lifecycle import LifecycleService
from whatsam.services.principals import Authenticator
from whatsam.services.profile import ProfileService
from whatsam.services.reaper import Reaper
from whatsam.services.routing import CommandRouter
from whatsam.services.session_proxy import ProxySealer
from whatsam.services.session_settings import SessionSettingsService
from whatsam.services.session_status import SessionStatusService
from whatsam.services.sessions import SessionService
from whatsam.services.teardown import SessionTeardown
from whatsam.webhooks.secret_box import SecretBox
from whatsam.webhooks.ssrf import SsrfGuard
from whatsam.webhooks.wiring import Webhooks, build_webhooks


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
    leases: LeaseRepository
    workers: WorkerRepository
    cache: SessionCache
    router: CommandRouter
    lifecycle: LifecycleService
    status: SessionStatusService
    dev_phone: DevPhone
    ingestion: EventIngestion
    reaper: Reaper
    messaging: MessagingService
    chats: ChatService
    chat_list: ChatListService
    session_settings: SessionSettingsService
    engine_calls: EngineCalls
    groups: GroupService
    profile: ProfileService
    contacts: ContactService
    # Every phone<->LID pair each session learnt (`IdentityMap.learn` for history sync too).
    identities: IdentityMap
    channels: ChannelService
    webhooks: Webhooks
    billing: Billing
    admin: AdminService
    usage_counters: UsageCounters
    rate_limiter: RateLimiter
    rate_policies: PolicyTable


def build(settings: Settings) -> Container:
    bind_models(settings)
    users, keys, refresh = UserRepository(), ApiKeyRepository(), RefreshTokenRepository()
    session_repo, leases, workers = SessionRepository(), LeaseRepository(), WorkerRepository()
    messages = MessageRepository(settings.message_retention_days)
    journal = JournalRepository(settings.message_retention_days)
    queues = QueuePublisher(settings)
    redis_client = redis_from_url(settings.redis_url)
    cache = SessionCache(redis_client)
    chains = TokenChains(redis_client, refresh, settings.access_token_ttl_seconds)
    auth_state = AuthStateStore(settings, leases)
    key_service = ApiKeyService(settings, keys)
    router = CommandRouter(settings, leases, cache)
    joined_groups = JoinedGroups(redis_client)
    chat_store = ChatRepository()
    engine_calls = EngineCalls(session_repo, router, cache)
    identities = IdentityMap()
    teardown = SessionTeardown(session_repo, keys, leases, router, cache, auth_state, messages, journal,
                               joined_groups, identities=identities, chats=chat_store)
    sessions = SessionService(settings, session_repo, key_service, queues, teardown, router)
    webhooks = build_webhooks(settings, queues, sessions)
    usage_counters = UsageCounters(redis_client)
    billing = build_billing(settings, usage_counters, session_repo)
    status = SessionStatusService(sessions, cache)
    ingestion = EventIngestion(session_repo, leases, cache, messages, journal, usage=usage_counters,
                               groups=joined_groups, identities=IdentityLearning(identities),
                               chats=ChatIngestion(chat_store, messages, identities),
                               history=HistoryProgress(redis_client))
    built = Container(
        settings=settings,
        users=users,
        queues=queues,
        redis=redis_client,
        accounts=AccountService(settings, users, refresh, chains),
        sessions=sessions,
        api_keys=key_service,
        authenticator=Authenticator(settings, users, keys, chains),
        leases=leases,
        workers=workers,
        cache=cache,
        router=router,
        lifecycle=LifecycleService(sessions, session_repo, router, cache, auth_state),
        status=status,
        dev_phone=DevPhone(sessions, session_repo, router, status, messages),
        ingestion=ingestion,
        messaging=MessagingService(settings, session_repo, messages, journal, router, MediaStore(settings),
                                   RecipientCap(redis_client), usage_counters),
        chats=ChatService(session_repo, router, chat_store),
        chat_list=ChatListService(chat_store, engine_calls),
        contacts=ContactService(engine_calls, identities),
        identities=identities,
        session_settings=SessionSettingsService(sessions, SessionSettingsRepository(), ProxySealer(
            SecretBox(settings), SsrfGuard(allow_insecure=settings.dev_mode), dev_mode=settings.dev_mode)),
        engine_calls=engine_calls,
        groups=GroupService(engine_calls, joined_groups, MediaStore(settings)),
        profile=ProfileService(engine_calls, MediaStore(settings)),
        channels=ChannelService(engine_calls),
        reaper=Reaper(settings, workers, leases, session_repo, queues, router, cache, ingestion,
                      stale_after=timedelta(seconds=settings.worker_stale_seconds)),
        webhooks=webhooks,
        billing=billing,
        admin=AdminService(users, Directory(), workers, usage_counters, billing.records, session_repo, teardown),
        usage_counters=usage_counters,
        rate_limiter=RateLimiter(redis_client),
        rate_policies=PolicyTable.from_text(settings.rate_limits),
    )
    # Every applied event fans out to the tenant's webhook endpoints.
    built.ingestion.subscribe(webhooks.fanout)
    return built


@lru_cache(maxsize=1)
def container() -> Container:
    return build(get_settings())
