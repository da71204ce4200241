"""Password hashing: argon2id at OWASP's minimum parameters."""

from __future__ import annotations

from argon2 import PasswordHasher

from whatsam.security import passwords


def test_hash_is_argon2id_with_owasp_parameters() -> None:
    hashed = passwords.hash_password("correct horse battery staple")
    assert hashed.startswith("$argon2id$")
    assert "$m=19456,t=2,p=1$" in hashed
    assert "correct horse" not in hashed


def test_same_password_hashes_differently_salted() -> None:
    assert passwords.hash_password("pw-123456") != passwords.hash_password("pw-123456")


def test_verify() -> None:
    hashed = passwords.hash_password("s3cret-passphrase")
    assert passwords.verify_password(hashed, "s3cret-passphrase") is True
    assert passwords.verify_password(hashed, "s3cret-passphrasE") is False
    assert passwords.verify_password(hashed, "") is False


def test_verify_without_a_hash_is_false_even_for_the_dummy_password() -> None:
    assert passwords.verify_password(None, "whatever") is False
    # The dummy hash used for timing uniformity must never let anyone in.
    assert passwords.verify_password(None, "not-a-real-password") is False


def test_verify_with_garbage_hash_is_false() -> None:
    assert passwords.verify_password("not a hash", "pw") is False
    assert passwords.verify_password("$argon2id$v=19$m=19456,t=2,p=1$broken", "pw") is False


def test_needs_rehash_for_weaker_parameters_only() -> None:
    assert passwords.needs_rehash(passwords.hash_password("pw-123456")) is False
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash("pw-123456")
    assert passwords.needs_rehash(weak) is True
    # A weaker hash still verifies, so login can upgrade it.
    assert passwords.verify_password(weak, "pw-123456") is True
