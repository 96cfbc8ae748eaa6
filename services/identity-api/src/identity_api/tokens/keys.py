"""Signing keys on disk: one JSON file per key, published before use, kept while needed.

A key signs only from `activates_at`; until then it is already in the JWKS, so
verifiers that cache the JWKS learn it first. A replaced key stays published until
every token it signed has expired. Deleting a key's file withdraws it at once.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from baton import jose


@dataclass(frozen=True)
class SigningKey:
    kid: str
    algorithm: jose.SigningAlgorithm
    created_at: float
    activates_at: float
    private_key_pem: str

    def public_jwk(self) -> dict[str, Any]:
        return jose.public_jwk(self.private_key_pem, kid=self.kid, algorithm=self.algorithm)


class KeyStore:
    def __init__(
        self, directory: Path, algorithm: jose.SigningAlgorithm, reload_seconds: float = 2.0
    ):
        self.directory = directory
        self.algorithm = algorithm
        self.reload_seconds = reload_seconds
        self._keys: list[SigningKey] = []
        self._loaded_at = float("-inf")

    def _load(self) -> list[SigningKey]:
        # Re-read now and then: `rotate-key` runs in another process.
        if time.monotonic() - self._loaded_at < self.reload_seconds:
            return self._keys
        keys = []
        for path in sorted(self.directory.glob("*.json")):
            data = json.loads(path.read_text())
            keys.append(SigningKey(**data))
        self._keys = sorted(keys, key=lambda key: (key.activates_at, key.kid))
        self._loaded_at = time.monotonic()
        return self._keys

    def add(self, activation_delay_seconds: float) -> SigningKey:
        """Create a key that starts signing after the delay."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o700)
        now = time.time()
        stamp = datetime.fromtimestamp(now, UTC).strftime("%Y%m%dT%H%M%SZ")
        key = SigningKey(
            kid=f"{stamp}-{secrets.token_hex(4)}",
            algorithm=self.algorithm,
            created_at=now,
            activates_at=now + activation_delay_seconds,
            private_key_pem=jose.generate_private_key(self.algorithm),
        )
        path = self.directory / f"{key.kid}.json"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(key.__dict__, handle)
        self._loaded_at = float("-inf")
        return key

    def ensure_one(self) -> None:
        """On first run there is no key: make one that signs at once."""
        if not self._load() and not any(self.directory.glob("*.json")):
            self.add(activation_delay_seconds=0)

    def signing_key(self) -> SigningKey:
        now = time.time()
        active = [key for key in self._load() if key.activates_at <= now]
        if not active:
            raise RuntimeError(f"no active signing key in {self.directory}")
        return active[-1]

    def published(self, token_ttl_seconds: float, leeway_seconds: float) -> list[SigningKey]:
        """Pending keys, the active one, and replaced ones whose tokens may still be valid."""
        now = time.time()
        keys = self._load()
        published = []
        for index, key in enumerate(keys):
            successor = keys[index + 1] if index + 1 < len(keys) else None
            retired_at = successor.activates_at if successor else None
            if retired_at is None or retired_at > now:
                published.append(key)
            elif now - retired_at < token_ttl_seconds + leeway_seconds:
                published.append(key)
        return published

    def withdraw(self, kid: str) -> None:
        """Remove a (compromised) key at once: tokens it signed stop verifying.

        The last key that can sign is never withdrawn: add its successor first.
        """
        keys = self._load_now()
        if kid not in {key.kid for key in keys}:
            raise KeyError(kid)
        now = time.time()
        if not [key for key in keys if key.kid != kid and key.activates_at <= now]:
            raise ValueError("no other key can sign yet: run rotate-key --delay 0 first")
        (self.directory / f"{kid}.json").unlink()
        self._loaded_at = float("-inf")

    def _load_now(self) -> list[SigningKey]:
        self._loaded_at = float("-inf")
        return self._load()

    def prune(self, token_ttl_seconds: float, leeway_seconds: float) -> list[str]:
        """Delete the files of keys no longer published; returns their kids."""
        keep = {key.kid for key in self.published(token_ttl_seconds, leeway_seconds)}
        removed = []
        for key in self._load():
            if key.kid not in keep:
                (self.directory / f"{key.kid}.json").unlink(missing_ok=True)
                removed.append(key.kid)
        self._loaded_at = float("-inf")
        return removed
