"""Client secrets: generated here, shown once, stored as Argon2id hashes only."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from collections import OrderedDict

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Verified when the client id is unknown, so a miss costs what a hit costs.
_DECOY_HASH = _hasher.hash(secrets.token_urlsafe(32))


def new_client_id() -> str:
    return f"bcl_{secrets.token_hex(12)}"


def new_secret() -> str:
    return f"bsec_{secrets.token_urlsafe(32)}"


async def hash_secret(secret: str) -> str:
    # Argon2 is deliberately slow: keep it off the event loop.
    return await asyncio.to_thread(_hasher.hash, secret)


def _matches(secret_hash: str, secret: str) -> bool:
    try:
        return _hasher.verify(secret_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


class VerifiedSecrets:
    """Pairs (stored hash, SHA-256 of a secret) that Argon2 verified lately.

    Argon2id makes a stolen hash useless to guess from, and makes every verification
    cost about 0.1 s of CPU: a client asking for a token per job would cost that each
    time. Client secrets carry 256 random bits, so remembering a verified pair for a
    few minutes, by the secret's SHA-256 (which no one can reverse for such a secret),
    spares the repeat without making a wrong secret any cheaper to try: a miss always
    pays the full verification. A pair is only honoured while its hash is still one of
    the client's stored hashes, so a revoked or rotated secret stops at once.
    """

    def __init__(self, ttl_seconds: float = 300.0, capacity: int = 10_000) -> None:
        self.ttl_seconds = ttl_seconds
        self.capacity = capacity
        self._expiries: OrderedDict[tuple[str, bytes], float] = OrderedDict()

    def known(self, hashes: list[str], digest: bytes) -> bool:
        now = time.monotonic()
        for stored in hashes:
            expiry = self._expiries.get((stored, digest))
            if expiry is not None and expiry > now:
                return True
        return False

    def remember(self, stored: str, digest: bytes) -> None:
        self._expiries[(stored, digest)] = time.monotonic() + self.ttl_seconds
        self._expiries.move_to_end((stored, digest))
        while len(self._expiries) > self.capacity:
            self._expiries.popitem(last=False)


verified_secrets = VerifiedSecrets()


async def matches_any(hashes: list[str], secret: str) -> bool:
    """Whether `secret` matches one of `hashes`; spends one verification even for none."""
    digest = hashlib.sha256(secret.encode()).digest()
    if hashes and verified_secrets.known(hashes, digest):
        return True
    candidates = hashes or [_DECOY_HASH]
    results = [await asyncio.to_thread(_matches, candidate, secret) for candidate in candidates]
    for candidate, matched in zip(candidates, results, strict=True):
        if matched and hashes:
            verified_secrets.remember(candidate, digest)
    return any(results) and bool(hashes)
