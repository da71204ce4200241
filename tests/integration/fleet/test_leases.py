"""Leases with fencing and the fenced, encrypted auth-state store, against a moto server."""

from __future__ import annotations

import threading
import uuid

import pytest

from tests.support.waiting import wait_until
from whatsam.adapters.auth_state import AuthStateStore, StaleFence, auth_state_prefix
from whatsam.adapters.aws import client
from whatsam.adapters.dynamo_models import bind_models
from whatsam.adapters.leases import LeaseRepository
from whatsam.config import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
def leases(settings: Settings) -> LeaseRepository:
    """Leases that outlive any pause of a busy machine: only the expiry test wants them short."""
    bind_models(settings)
    return LeaseRepository(ttl_ms=120_000)


@pytest.fixture
def short_leases(settings: Settings) -> LeaseRepository:
    bind_models(settings)
    return LeaseRepository(ttl_ms=2_000)


def _session() -> str:
    return f"ses_{uuid.uuid4().hex}"


def test_grant_renew_release_and_fence_grows(leases: LeaseRepository) -> None:
    session = _session()
    first = leases.acquire(session, "usr_a", "worker-a")
    assert first is not None and first.fence == 1
    assert leases.acquire(session, "usr_a", "worker-b") is None, "a live lease is exclusive"
    renewed = leases.renew(first)
    assert renewed is not None and renewed.expires_at >= first.expires_at
    assert leases.release(first)
    second = leases.acquire(session, "usr_a", "worker-b")
    assert second is not None and second.fence == 2
    assert leases.renew(first) is None, "the old holder learns it lost the lease"
    assert not leases.release(first), "and cannot release the new holder's lease"


def test_expired_lease_can_be_taken_over(short_leases: LeaseRepository) -> None:
    leases = short_leases
    session = _session()
    dead = leases.acquire(session, "usr_a", "worker-dead")
    assert dead is not None
    # Asked until granted (a live lease is refused: see the test above); granted only once the
    # dead one had expired: a grant's clock is its own expiry minus the TTL.
    taken = wait_until(lambda: leases.acquire(session, "usr_a", "worker-b"), every=0.1,
                       what="the expired lease taken over")
    assert taken.expires_at - leases.ttl_ms >= dead.expires_at
    assert taken.fence == dead.fence + 1
    assert leases.renew(dead) is None


@pytest.mark.parametrize("round_", range(5))
def test_race_never_two_owners(leases: LeaseRepository, round_: int) -> None:
    """Several workers grab one session at the same instant: exactly one wins, every time."""
    session = _session()
    barrier = threading.Barrier(6)
    winners: list[str] = []
    lock = threading.Lock()

    def contend(worker: str) -> None:
        barrier.wait()
        lease = leases.acquire(session, "usr_a", worker)
        if lease is not None:
            with lock:
                winners.append(worker)

    threads = [threading.Thread(target=contend, args=(f"worker-{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1, winners
    current = leases.get(session)
    assert current is not None and current.worker_id == winners[0] and current.fence == 1


def test_stale_fence_write_is_refused(settings: Settings, leases: LeaseRepository) -> None:
    store = AuthStateStore(settings, leases)
    session = _session()
    old = leases.acquire(session, "usr_t", "worker-a")
    assert old is not None
    store.save(old, b"credentials v1")
    assert store.load(old) == b"credentials v1"

    assert leases.release(old)
    new = leases.acquire(session, "usr_t", "worker-b")
    assert new is not None
    store.save(new, b"credentials v2")
    with pytest.raises(StaleFence):
        store.save(old, b"stale credentials")
    assert store.load(new) == b"credentials v2"

    s3 = client("s3", settings)
    objects = s3.list_objects_v2(Bucket=settings.bucket_name("auth-state"),
                                 Prefix=auth_state_prefix("usr_t", session)).get("Contents", [])
    assert len(objects) == 1, "the refused object is removed and older snapshots pruned"
    stored = s3.get_object(Bucket=settings.bucket_name("auth-state"), Key=objects[0]["Key"])["Body"].read()
    assert b"credentials v2" not in stored, "stored encrypted, never in clear"


def test_auth_state_is_bound_to_its_tenant_and_session(settings: Settings, leases: LeaseRepository) -> None:
    store = AuthStateStore(settings, leases)
    session = _session()
    lease = leases.acquire(session, "usr_owner", "worker-a")
    assert lease is not None
    key = store.save(lease, b"secret keys")
    blob = client("s3", settings).get_object(Bucket=settings.bucket_name("auth-state"), Key=key)["Body"].read()
    from whatsam.security.envelope import open_sealed

    with pytest.raises(Exception):  # noqa: B017 - KMS refuses the data key under another context
        open_sealed(client("kms", settings), blob, {"tenant": "usr_other", "session": session})
    store.delete("usr_owner", session)
    assert store.load(lease) is None
