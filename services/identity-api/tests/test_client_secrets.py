"""Client secrets: Argon2id at rest; a verified secret is remembered, a wrong one never."""

from __future__ import annotations

import hashlib

import pytest

from identity_api.clients import secrets
from identity_api.clients.secrets import VerifiedSecrets, hash_secret, matches_any, new_secret


@pytest.fixture(autouse=True)
def fresh_memory(monkeypatch: pytest.MonkeyPatch) -> VerifiedSecrets:
    memory = VerifiedSecrets()
    monkeypatch.setattr(secrets, "verified_secrets", memory)
    return memory


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


async def test_a_verified_secret_is_remembered_only_while_its_hash_is_stored(
    fresh_memory: VerifiedSecrets,
) -> None:
    secret, other = new_secret(), new_secret()
    stored, rotated_in = await hash_secret(secret), await hash_secret(other)
    assert await matches_any([stored], secret)
    assert fresh_memory.known([stored], _digest(secret))
    # Revoked or rotated out: the pair is remembered, but the hash is no longer stored.
    assert not await matches_any([rotated_in], secret)
    assert not await matches_any([], secret)


async def test_a_wrong_secret_is_never_remembered(fresh_memory: VerifiedSecrets) -> None:
    stored = await hash_secret(new_secret())
    wrong = new_secret()
    assert not await matches_any([stored], wrong)
    assert not fresh_memory.known([stored], _digest(wrong))
    assert not await matches_any([stored], wrong)


def test_remembered_pairs_expire_and_are_bounded() -> None:
    expired = VerifiedSecrets(ttl_seconds=0)
    expired.remember("hash", b"digest")
    assert not expired.known(["hash"], b"digest")

    small = VerifiedSecrets(capacity=2)
    for index in range(3):
        small.remember(f"hash-{index}", b"digest")
    assert not small.known(["hash-0"], b"digest")
    assert small.known(["hash-1", "hash-2"], b"digest")
