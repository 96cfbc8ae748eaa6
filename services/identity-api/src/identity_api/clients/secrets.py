"""Client secrets: generated here, shown once, stored as Argon2id hashes only."""

from __future__ import annotations

import asyncio
import secrets

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


async def matches_any(hashes: list[str], secret: str) -> bool:
    """Whether `secret` matches one of `hashes`; spends one verification even for none."""
    candidates = hashes or [_DECOY_HASH]
    results = [await asyncio.to_thread(_matches, candidate, secret) for candidate in candidates]
    return any(results) and bool(hashes)
