"""Envelope encryption for services that hold protected data: data keys under master keys.

A record gets a data key (AES-256-GCM), stored wrapped by the current master key;
`context` names the record so a wrapped key copied elsewhere does not unwrap, and
ciphertexts carry their own associated data for the same reason. Missing master
keys fail closed (503); a failed integrity check is an error, never plaintext.
The ring is re-read now and then: rotation runs in another process.
"""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path
from typing import Any

from baton import crypto
from baton.errors import BatonError, ServiceUnavailable

logger = logging.getLogger("baton.vault")


class ProtectedDataUnavailable(ServiceUnavailable):
    code = "protected-data-unavailable"
    title = "Protected data cannot be read or written now"

    def __init__(self) -> None:
        super().__init__(
            "The keys that protect this data are unavailable; nothing was read or written.",
            headers={"Retry-After": "30"},
        )


class ProtectedDataCorrupt(BatonError):
    code = "protected-data-integrity"
    status = 500
    title = "Protected data failed its integrity check"


def open_master_keys(directory: Path, *, create: bool) -> crypto.MasterKeyRing | None:
    """The master keys; created on first use only if `create` (never in production)."""
    try:
        if create:
            return crypto.MasterKeyRing.load_or_create(directory)
        return crypto.MasterKeyRing.load(directory)
    except crypto.CryptoError:
        logger.error("master keys unavailable: protected data is refused until they are")
        return None


def ensure_master_key(directory: Path) -> str | None:
    """Create the first master key if there is none; the new key's id, or None.

    For a deployment's `init-keys` step: it never replaces a key (rotation adds one).
    """
    try:
        crypto.MasterKeyRing.load(directory)
    except crypto.MasterKeyUnavailable:
        return crypto.MasterKeyRing.add_key(directory)
    return None


class EnvelopeVault:
    def __init__(
        self,
        ring: crypto.MasterKeyRing | None,
        *,
        keys_dir: Path | None = None,
        reload_seconds: float = 30.0,
    ):
        self._ring = ring
        self._keys_dir = keys_dir
        self._reload_seconds = reload_seconds
        self._loaded_at = time.monotonic()
        # When an unknown key id last made the ring load again; never, so far.
        self._unknown_key_reload_at = -math.inf

    def _reload(self, *, min_age: float) -> None:
        if self._keys_dir is None or time.monotonic() - self._loaded_at < min_age:
            return
        self._loaded_at = time.monotonic()
        try:
            self._ring = crypto.MasterKeyRing.load(self._keys_dir)
        except crypto.CryptoError:
            logger.error("master keys could not be loaded")

    def _require_ring(self) -> crypto.MasterKeyRing:
        self._reload(min_age=self._reload_seconds)
        if self._ring is None:
            raise ProtectedDataUnavailable()
        return self._ring

    def current_key_id(self) -> str:
        return self._require_ring().current_key_id

    def new_key(self, context: bytes) -> tuple[bytes, crypto.WrappedKey]:
        """A fresh data key and its wrapped form, ready to store."""
        data_key = crypto.new_data_key()
        return data_key, self._require_ring().wrap(data_key, context=context)

    def data_key(self, wrapped: crypto.WrappedKey, context: bytes) -> bytes:
        ring = self._require_ring()
        now = time.monotonic()
        if wrapped.key_id not in ring.key_ids and now - self._unknown_key_reload_at >= 1.0:
            # At once (at most every second) when a key names a master key not yet seen,
            # e.g. one a rotation running elsewhere just added, however recent the last load.
            self._unknown_key_reload_at = now
            self._reload(min_age=0.0)
            ring = self._require_ring()
        try:
            return ring.unwrap(wrapped, context=context)
        except crypto.MasterKeyUnavailable as exc:
            logger.error("master key missing", extra={"master_key_id": wrapped.key_id})
            raise ProtectedDataUnavailable() from exc
        except crypto.DecryptionFailed as exc:
            raise ProtectedDataCorrupt() from exc

    def rewrap(self, wrapped: crypto.WrappedKey, context: bytes) -> crypto.WrappedKey | None:
        """The data key wrapped under the current master key; None if it already is."""
        ring = self._require_ring()
        if wrapped.key_id == ring.current_key_id:
            return None
        try:
            return ring.rewrap(wrapped, context=context)
        except crypto.MasterKeyUnavailable as exc:
            raise ProtectedDataUnavailable() from exc
        except crypto.DecryptionFailed as exc:
            raise ProtectedDataCorrupt() from exc

    @staticmethod
    def seal(data_key: bytes, document: dict[str, Any], associated_data: bytes) -> bytes:
        plaintext = json.dumps(document, separators=(",", ":")).encode()
        return crypto.encrypt(data_key, plaintext, associated_data)

    @staticmethod
    def open(data_key: bytes, ciphertext: bytes, associated_data: bytes) -> dict[str, Any]:
        try:
            plaintext = crypto.decrypt(data_key, ciphertext, associated_data)
        except crypto.DecryptionFailed as exc:
            raise ProtectedDataCorrupt() from exc
        document: dict[str, Any] = json.loads(plaintext)
        return document
