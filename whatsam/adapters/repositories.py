"""Repositories: domain entities in, domain entities out, over the PynamoDB models.

Invariants that must hold under concurrency (unique email, the tier's session limit, one
use per refresh token) are DynamoDB conditions, not read-then-write checks."""

from __future__ import annotations

import random
import time
from dataclasses import replace
from datetime import datetime

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from whatsam.adapters.conditions import conditional_failed, transaction_conflicted, update_if
from whatsam.adapters.dynamo_models import (
    ApiKeyModel,
    RefreshFamilyModel,
    RefreshTokenModel,
    SessionModel,
    UserEmailModel,
    UserModel,
)
from whatsam.domain.model import ApiKey, Role, SessionCard, SessionStatus, User, utcnow
from whatsam.domain.tiers import Tier, limits_for
from whatsam.errors import Conflict, NotFound

_TRANSACTION_ATTEMPTS = 4


def _connection() -> Connection:
    return UserModel._get_connection().connection


# ---------------------------------------------------------------- users


def _user(item: UserModel) -> User:
    return User(user_id=item.user_id, email=item.email, name=item.name, password_hash=item.password_hash,
                role=Role(item.role), tier=Tier(item.tier), active=item.active, created_at=item.created_at)


class UserRepository:
    def add(self, user: User) -> None:
        """Create the user and claim the email in one transaction; Conflict if the email is taken."""
        item = UserModel(user_id=user.user_id, email=user.email, name=user.name,
                         password_hash=user.password_hash, role=user.role.value, tier=user.tier.value,
                         active=user.active, session_count=0, created_at=user.created_at)
        claim = UserEmailModel(email=user.email, user_id=user.user_id)
        try:
            with TransactWrite(connection=_connection()) as tx:
                tx.save(claim, condition=UserEmailModel.email.does_not_exist())
                tx.save(item, condition=UserModel.user_id.does_not_exist())
        except TransactWriteError as exc:
            if conditional_failed(exc):
                raise Conflict("An account with this email already exists.", code="email_taken") from exc
            raise

    def get(self, user_id: str) -> User | None:
        try:
            return _user(UserModel.get(user_id, consistent_read=True))
        except DoesNotExist:
            return None

    def get_by_email(self, email: str) -> User | None:
        try:
            claim = UserEmailModel.get(email, consistent_read=True)
        except DoesNotExist:
            return None
        return self.get(claim.user_id)

    def set_password_hash(self, user_id: str, password_hash: str) -> None:
        UserModel(user_id=user_id).update(actions=[UserModel.password_hash.set(password_hash)])

    def update_plan(self, user_id: str, *, role: Role | None = None, tier: Tier | None = None,
                    active: bool | None = None) -> None:
        actions: list[Action] = []
        if role is not None:
            actions.append(UserModel.role.set(role.value))
        if tier is not None:
            actions.append(UserModel.tier.set(tier.value))
        if active is not None:
            actions.append(UserModel.active.set(active))
        if actions:
            UserModel(user_id=user_id).update(actions=actions, condition=UserModel.user_id.exists())


# ---------------------------------------------------------------- session cards


def _card(item: SessionModel) -> SessionCard:
    return SessionCard(session_id=item.session_id, tenant_id=item.tenant_id, name=item.name,
                       description=item.description, status=SessionStatus(item.status),
                       status_version=int(item.status_version), phone=item.phone, worker_id=item.worker_id,
                       event_seq=int(item.event_seq or 0), created_at=item.created_at, updated_at=item.updated_at)


def _session_item(card: SessionCard) -> SessionModel:
    return SessionModel(session_id=card.session_id, tenant_id=card.tenant_id, name=card.name,
                        description=card.description, status=card.status.value,
                        status_version=card.status_version, phone=card.phone, worker_id=card.worker_id,
                        created_at=card.created_at, updated_at=card.updated_at)


class SessionRepository:
    def add(self, card: SessionCard, tier: Tier, first_key: ApiKey) -> None:
        """Create the card with its first API key, counted against the tenant's tier, in one
        transaction: either all three writes happen or none."""
        limit = limits_for(tier).sessions
        owner = UserModel(user_id=card.tenant_id)
        for attempt in range(_TRANSACTION_ATTEMPTS):
            try:
                with TransactWrite(connection=_connection()) as tx:
                    tx.update(owner, actions=[UserModel.session_count.add(1)],
                              condition=UserModel.user_id.exists()
                              & (UserModel.session_count.does_not_exist() | (UserModel.session_count < limit)))
                    tx.save(_session_item(card), condition=SessionModel.session_id.does_not_exist())
                    tx.save(_api_key_item(first_key), condition=ApiKeyModel.key_hash.does_not_exist())
                return
            except TransactWriteError as exc:
                if conditional_failed(exc):
                    raise Conflict(f"Your {tier.value} plan allows {limit} session(s).",
                                   code="session_limit_reached",
                                   details={"tier": tier.value, "limit": limit}) from exc
                if not transaction_conflicted(exc) or attempt == _TRANSACTION_ATTEMPTS - 1:
                    raise
                time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))  # noqa: S311 (jitter, not crypto)

    def get(self, session_id: str) -> SessionCard | None:
        try:
            return _card(SessionModel.get(session_id, consistent_read=True))
        except DoesNotExist:
            return None

    def list_for_tenant(self, tenant_id: str) -> list[SessionCard]:
        return [_card(item) for item in SessionModel.tenant_index.query(tenant_id, scan_index_forward=True)]

    def rename(self, card: SessionCard, *, name: str | None, description: str | None) -> SessionCard:
        updated = replace(card, name=card.name if name is None else name,
                          description=card.description if description is None else description,
                          updated_at=utcnow())
        SessionModel(session_id=card.session_id).update(
            actions=[SessionModel.name.set(updated.name), SessionModel.description.set(updated.description),
                     SessionModel.updated_at.set(updated.updated_at)],
            condition=SessionModel.session_id.exists())
        return updated

    def save_status(self, before: SessionCard, after: SessionCard) -> bool:
        """Write the new status (and phone, a logout forgets it; and worker, a connect waits for
        one) only if nobody moved the card since `before` was read."""
        actions = [SessionModel.status.set(after.status.value), SessionModel.status_version.set(after.status_version),
                   SessionModel.updated_at.set(after.updated_at)]
        if after.phone != before.phone:
            actions.append(SessionModel.phone.set(after.phone) if after.phone else SessionModel.phone.remove())
        if after.worker_id != before.worker_id:
            actions.append(SessionModel.worker_id.set(after.worker_id) if after.worker_id
                           else SessionModel.worker_id.remove())
        return update_if(SessionModel(session_id=after.session_id), actions,
                         SessionModel.status_version == before.status_version)

    def next_send_seq(self, session_id: str) -> int:
        """The next number of the session's send order (an atomic counter on the card)."""
        item = SessionModel(session_id=session_id)
        item.update(actions=[SessionModel.send_seq.add(1)], condition=SessionModel.session_id.exists())
        return int(item.send_seq)

    def apply_event(self, before: SessionCard, after: SessionCard, seq: int) -> bool:
        """Write a worker event's effect if the card is as read and the event is newer."""
        return update_if(SessionModel(session_id=after.session_id),
                         [SessionModel.status.set(after.status.value),
                          SessionModel.status_version.set(after.status_version),
                          SessionModel.phone.set(after.phone) if after.phone else SessionModel.phone.remove(),
                          SessionModel.worker_id.set(after.worker_id) if after.worker_id
                          else SessionModel.worker_id.remove(),
                          SessionModel.event_seq.set(seq),
                          SessionModel.updated_at.set(after.updated_at)],
                         (SessionModel.status_version == before.status_version)
                         & (SessionModel.event_seq.does_not_exist() | (SessionModel.event_seq < seq)))

    def remove(self, card: SessionCard) -> None:
        owner = UserModel(user_id=card.tenant_id)
        try:
            with TransactWrite(connection=_connection()) as tx:
                tx.delete(SessionModel(session_id=card.session_id), condition=SessionModel.session_id.exists())
                tx.update(owner, actions=[UserModel.session_count.add(-1)],
                          condition=UserModel.session_count > 0)
        except TransactWriteError as exc:
            if conditional_failed(exc) or transaction_conflicted(exc):
                # A concurrent delete got there first.
                raise NotFound("No such session.", code="session_not_found") from exc
            raise


# ---------------------------------------------------------------- API keys


def _api_key(item: ApiKeyModel) -> ApiKey:
    return ApiKey(key_id=item.key_id, session_id=item.session_id, tenant_id=item.tenant_id,
                  key_hash=item.key_hash, prefix=item.prefix, name=item.name, created_at=item.created_at,
                  last_used_at=item.last_used_at, revoked_at=item.revoked_at)


def _api_key_item(key: ApiKey) -> ApiKeyModel:
    return ApiKeyModel(key_hash=key.key_hash, key_id=key.key_id, session_id=key.session_id,
                       tenant_id=key.tenant_id, prefix=key.prefix, name=key.name, created_at=key.created_at)


class ApiKeyRepository:
    def add(self, key: ApiKey) -> None:
        _api_key_item(key).save(condition=ApiKeyModel.key_hash.does_not_exist())

    def get_by_hash(self, key_hash: str) -> ApiKey | None:
        try:
            return _api_key(ApiKeyModel.get(key_hash, consistent_read=True))
        except DoesNotExist:
            return None

    def list_for_session(self, session_id: str) -> list[ApiKey]:
        return [_api_key(i) for i in ApiKeyModel.session_index.query(session_id)]

    def revoke(self, key: ApiKey) -> ApiKey:
        when = utcnow()
        ApiKeyModel(key_hash=key.key_hash).update(actions=[ApiKeyModel.revoked_at.set(when)],
                                                  condition=ApiKeyModel.key_hash.exists())
        return replace(key, revoked_at=when)

    def touch(self, key: ApiKey, when: datetime) -> None:
        # Conditional: an update would otherwise re-create a key deleted meanwhile, as a husk.
        update_if(ApiKeyModel(key_hash=key.key_hash), [ApiKeyModel.last_used_at.set(when)],
                  ApiKeyModel.key_hash.exists())

    def delete_for_session(self, session_id: str) -> int:
        keys = self.list_for_session(session_id)
        for key in keys:
            ApiKeyModel(key_hash=key.key_hash).delete()
        return len(keys)


# ---------------------------------------------------------------- refresh tokens


class RefreshTokenRepository:
    def start_family(self, family_id: str, user_id: str, expires_at: int) -> None:
        RefreshFamilyModel(family_id=family_id, user_id=user_id, expires_at=expires_at,
                           ttl=expires_at).save(condition=RefreshFamilyModel.family_id.does_not_exist())

    def add(self, token_hash: str, family_id: str, user_id: str, expires_at: int) -> None:
        RefreshTokenModel(token_hash=token_hash, family_id=family_id, user_id=user_id,
                          expires_at=expires_at, ttl=expires_at).save()

    def get(self, token_hash: str) -> RefreshTokenModel | None:
        try:
            return RefreshTokenModel.get(token_hash, consistent_read=True)
        except DoesNotExist:
            return None

    def family_revoked(self, family_id: str) -> bool:
        try:
            family = RefreshFamilyModel.get(family_id, consistent_read=True)
        except DoesNotExist:
            return True
        return family.revoked_at is not None

    def mark_used(self, token_hash: str) -> bool:
        """Spend a refresh token exactly once; False means it was already spent (a replay)."""
        return update_if(RefreshTokenModel(token_hash=token_hash), [RefreshTokenModel.used_at.set(utcnow())],
                         RefreshTokenModel.token_hash.exists() & RefreshTokenModel.used_at.does_not_exist())

    def revoke_family(self, family_id: str) -> None:
        update_if(RefreshFamilyModel(family_id=family_id), [RefreshFamilyModel.revoked_at.set(utcnow())],
                  RefreshFamilyModel.family_id.exists())
