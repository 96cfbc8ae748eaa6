"""Envelope encryption of what identifies a person, bound to its beneficiary and organisation.

Each beneficiary has a data key, wrapped by the current master key. Ciphertexts
carry the beneficiary, the organisation and what they hold as associated data,
so a ciphertext copied to another row or organisation does not decrypt.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from pathlib import Path
from typing import Any

from fastapi import Request

from baton import crypto
from baton.errors import BatonError, ServiceUnavailable
from cases_api.beneficiaries.models import BeneficiaryKey

logger = logging.getLogger("cases_api.protection")


class ProtectedDataUnavailable(ServiceUnavailable):
    code = "protected-data-unavailable"
    title = "Protected data cannot be read or written now"

    def __init__(self) -> None:
        super().__init__(
            "The keys that protect identities are unavailable; nothing was read or written.",
            headers={"Retry-After": "30"},
        )


class ProtectedDataCorrupt(BatonError):
    code = "protected-data-integrity"
    status = 500
    title = "Protected data failed its integrity check"


def _context(kind: str, beneficiary_id: uuid.UUID, organisation_id: uuid.UUID) -> bytes:
    return f"baton:cases:{kind}:{beneficiary_id}:{organisation_id}".encode()


class IdentityVault:
    """Seals and opens identity documents; None keys mean: fail closed with 503."""

    def __init__(
        self,
        ring: crypto.MasterKeyRing | None,
        index: crypto.BlindIndex | None,
        *,
        keys_dir: Path | None = None,
        reload_seconds: float = 30.0,
    ):
        self._ring = ring
        self._index = index
        # Rotation runs in another process: re-read the keys now and then, and at once
        # (at most every second) when a data key names a master key not yet seen.
        self._keys_dir = keys_dir
        self._reload_seconds = reload_seconds
        self._loaded_at = time.monotonic()

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

    def blind_index(self, *parts: str) -> bytes:
        if self._index is None:
            raise ProtectedDataUnavailable()
        return self._index.of(*parts)

    def new_key(
        self, beneficiary_id: uuid.UUID, organisation_id: uuid.UUID
    ) -> tuple[bytes, BeneficiaryKey]:
        """A fresh data key and its wrapped form, ready to store."""
        ring = self._require_ring()
        data_key = crypto.new_data_key()
        wrapped = ring.wrap(data_key, context=_context("key", beneficiary_id, organisation_id))
        row = BeneficiaryKey(
            beneficiary_id=beneficiary_id,
            organisation_id=organisation_id,
            master_key_id=wrapped.key_id,
            wrapped_key=wrapped.ciphertext,
        )
        return data_key, row

    def data_key(self, row: BeneficiaryKey) -> bytes:
        ring = self._require_ring()
        if row.master_key_id not in ring.key_ids:
            self._reload(min_age=1.0)
            ring = self._require_ring()
        wrapped = crypto.WrappedKey(key_id=row.master_key_id, ciphertext=row.wrapped_key)
        context = _context("key", row.beneficiary_id, row.organisation_id)
        try:
            return ring.unwrap(wrapped, context=context)
        except crypto.MasterKeyUnavailable as exc:
            logger.error("master key missing", extra={"master_key_id": row.master_key_id})
            raise ProtectedDataUnavailable() from exc
        except crypto.DecryptionFailed as exc:
            raise ProtectedDataCorrupt() from exc

    def rewrap(self, row: BeneficiaryKey) -> bool:
        """Re-wrap the data key under the current master key; False if already there."""
        ring = self._require_ring()
        if row.master_key_id == ring.current_key_id:
            return False
        context = _context("key", row.beneficiary_id, row.organisation_id)
        wrapped = crypto.WrappedKey(key_id=row.master_key_id, ciphertext=row.wrapped_key)
        try:
            rewrapped = ring.rewrap(wrapped, context=context)
        except crypto.MasterKeyUnavailable as exc:
            raise ProtectedDataUnavailable() from exc
        except crypto.DecryptionFailed as exc:
            raise ProtectedDataCorrupt() from exc
        row.master_key_id = rewrapped.key_id
        row.wrapped_key = rewrapped.ciphertext
        return True

    @staticmethod
    def seal(
        data_key: bytes,
        kind: str,
        beneficiary_id: uuid.UUID,
        organisation_id: uuid.UUID,
        document: dict[str, Any],
    ) -> bytes:
        plaintext = json.dumps(document, separators=(",", ":")).encode()
        return crypto.encrypt(data_key, plaintext, _context(kind, beneficiary_id, organisation_id))

    @staticmethod
    def open(
        data_key: bytes,
        kind: str,
        beneficiary_id: uuid.UUID,
        organisation_id: uuid.UUID,
        ciphertext: bytes,
    ) -> dict[str, Any]:
        try:
            plaintext = crypto.decrypt(
                data_key, ciphertext, _context(kind, beneficiary_id, organisation_id)
            )
        except crypto.DecryptionFailed as exc:
            raise ProtectedDataCorrupt() from exc
        document: dict[str, Any] = json.loads(plaintext)
        return document


def get_vault(request: Request) -> IdentityVault:
    vault: IdentityVault = request.app.state.identity_vault
    return vault
