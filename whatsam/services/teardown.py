"""Ending a session's WhatsApp link from the control plane, without relying on its worker:
for good when the card is deleted, and for a deactivated owner (their cards stay, unlinked).

The order matters. The lease is revoked first: from then on the holder's renewals and
auth-state snapshots are refused (a snapshot it writes after the purge below is deleted again
by the refused writer, see `AuthStateStore.save`), and a deleted session's lease is never
granted again, so a connect command still in flight cannot bring the session back. The holder
is then told to log the device out; if that command is lost, or the holder is busy or dead,
its next renewal fails and, seeing the lease revoked, it logs out and forgets the session
anyway. Everything stored about the session is purged here, not by the worker. A revoked
lease is granted to no worker, so neither a connect still queued nor a worker re-queuing the
session after a drain or a crash brings it back; a deactivated owner's is reinstated on
reactivation."""

from __future__ import annotations

import logging
from dataclasses import replace

from botocore.exceptions import ClientError

from whatsam.adapters.auth_state import AuthStateStore
from whatsam.adapters.chats import ChatRepository
from whatsam.adapters.identity_map import IdentityMap
from whatsam.adapters.joined_groups import JoinedGroups
from whatsam.adapters.leases import LeaseRepository
from whatsam.adapters.messages import JournalRepository, MessageRepository
from whatsam.adapters.repositories import ApiKeyRepository, SessionRepository
from whatsam.adapters.session_cache import SessionCache
from whatsam.contracts.commands import LogoutSession
from whatsam.contracts.events import make_seq
from whatsam.domain.model import SessionCard, SessionStatus, utcnow
from whatsam.services.routing import CommandRouter

log = logging.getLogger(__name__)

_SETTLE_ATTEMPTS = 5


class SessionTeardown:
    def __init__(self, repository: SessionRepository, keys: ApiKeyRepository, leases: LeaseRepository,
                 router: CommandRouter, cache: SessionCache, auth_state: AuthStateStore,
                 messages: MessageRepository, journal: JournalRepository, groups: JoinedGroups,
                 identities: IdentityMap | None = None, chats: ChatRepository | None = None):
        self._repository = repository
        self._keys = keys
        self._leases = leases
        self._router = router
        self._cache = cache
        self._auth_state = auth_state
        self._messages = messages
        self._journal = journal
        self._groups = groups
        self._identities = identities
        self._chats = chats

    def delete(self, card: SessionCard) -> None:
        """Unlink and forget the session: card, API keys, credentials, QR, journal, messages, identities, chats.
        NotFound if a concurrent delete removed the card first."""
        holder = self._router.owner(card.session_id)
        self._leases.revoke(card.session_id, card.tenant_id, "deleted")
        self._repository.remove(card)
        self._keys.delete_for_session(card.session_id)
        self._unlink(card, holder)
        purged = self._messages.purge_session(card.session_id)
        events = self._journal.purge_session(card.session_id)
        if self._identities is not None:
            self._identities.purge_session(card.session_id)
        if self._chats is not None:
            self._chats.purge_session(card.session_id)
        log.info("session %s deleted: %d message(s), %d journal event(s) purged", card.session_id, purged, events)

    def deactivate(self, card: SessionCard) -> None:
        """Unlink the session of a deactivated owner: the card, its keys and its history stay
        (the owner may be reactivated, then connects with a new scan)."""
        holder = self._router.owner(card.session_id)
        lease = self._leases.revoke(card.session_id, card.tenant_id, "deactivated")
        self._unlink(card, holder)
        self._settle_unlinked(card.session_id, make_seq(lease.fence, 0))

    def reactivate(self, card: SessionCard) -> None:
        """The owner is active again: the session may be connected (with a new scan)."""
        self._leases.reinstate(card.session_id)

    def _unlink(self, card: SessionCard, holder: str | None) -> None:
        if holder is not None:
            try:
                self._router.send(holder, card.session_id,
                                  LogoutSession(session_id=card.session_id, tenant_id=card.tenant_id))
            except ClientError:
                # A vanished worker: its lease is revoked, nothing it could still write counts.
                log.warning("could not tell %s to log %s out", holder, card.session_id, exc_info=True)
        self._auth_state.delete(card.tenant_id, card.session_id)
        self._cache.forget_session(card.session_id)
        self._groups.forget_session(card.session_id)

    def _settle_unlinked(self, session_id: str, seq: int) -> None:
        """Show the card unlinked, numbered at the revoked lease's fence so that no event of the
        former holder, still on its way, can show it linked again."""
        for _ in range(_SETTLE_ATTEMPTS):
            card = self._repository.get(session_id)
            if card is None or card.event_seq >= seq:
                return
            never_linked = card.status is SessionStatus.DISCONNECTED and card.phone is None
            status = SessionStatus.DISCONNECTED if never_linked else SessionStatus.LOGGED_OUT
            changed = (status, card.phone, card.worker_id) != (card.status, None, None)
            after = replace(card, status=status, phone=None, worker_id=None, event_seq=seq, updated_at=utcnow(),
                            status_version=card.status_version + (1 if changed else 0))
            if self._repository.apply_event(card, after, seq):
                if changed:
                    self._cache.announce_status(session_id, after.status_version)
                return
        raise RuntimeError(f"could not settle {session_id}: the card kept changing")
