"""Envelope encryption of what identifies a person, bound to its beneficiary and organisation.

Each beneficiary has a data key, wrapped by the current master key. Ciphertexts
carry the beneficiary, the organisation and what they hold as associated data,
so a ciphertext copied to another row or organisation does not decrypt.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from fastapi import Request

from baton import crypto
from baton.vault import EnvelopeVault, ProtectedDataCorrupt, ProtectedDataUnavailable
from cases_api.beneficiaries.models import BeneficiaryKey

__all__ = ["IdentityVault", "ProtectedDataCorrupt", "ProtectedDataUnavailable", "get_vault"]


def _context(kind: str, beneficiary_id: uuid.UUID, organisation_id: uuid.UUID) -> bytes:
    return f"baton:cases:{kind}:{beneficiary_id}:{organisation_id}".encode()


def _key_context(row: BeneficiaryKey) -> bytes:
    return _context("key", row.beneficiary_id, row.organisation_id)


def _wrapped(row: BeneficiaryKey) -> crypto.WrappedKey:
    return crypto.WrappedKey(key_id=row.master_key_id, ciphertext=row.wrapped_key)


class IdentityVault:
    """Seals and opens identity documents; missing keys mean: fail closed with 503."""

    def __init__(
        self,
        ring: crypto.MasterKeyRing | None,
        index: crypto.BlindIndex | None,
        *,
        keys_dir: Path | None = None,
        reload_seconds: float = 30.0,
    ):
        self._envelope = EnvelopeVault(ring, keys_dir=keys_dir, reload_seconds=reload_seconds)
        self._index = index

    def current_key_id(self) -> str:
        return self._envelope.current_key_id()

    def blind_index(self, *parts: str) -> bytes:
        if self._index is None:
            raise ProtectedDataUnavailable()
        return self._index.of(*parts)

    def new_key(
        self, beneficiary_id: uuid.UUID, organisation_id: uuid.UUID
    ) -> tuple[bytes, BeneficiaryKey]:
        """A fresh data key and its wrapped form, ready to store."""
        row = BeneficiaryKey(
            beneficiary_id=beneficiary_id,
            organisation_id=organisation_id,
            master_key_id="",
            wrapped_key=b"",
        )
        data_key, wrapped = self._envelope.new_key(_key_context(row))
        row.master_key_id, row.wrapped_key = wrapped.key_id, wrapped.ciphertext
        return data_key, row

    def data_key(self, row: BeneficiaryKey) -> bytes:
        return self._envelope.data_key(_wrapped(row), _key_context(row))

    def rewrap(self, row: BeneficiaryKey) -> bool:
        """Re-wrap the data key under the current master key; False if already there."""
        rewrapped = self._envelope.rewrap(_wrapped(row), _key_context(row))
        if rewrapped is None:
            return False
        row.master_key_id, row.wrapped_key = rewrapped.key_id, rewrapped.ciphertext
        return True

    @staticmethod
    def seal(
        data_key: bytes,
        kind: str,
        beneficiary_id: uuid.UUID,
        organisation_id: uuid.UUID,
        document: dict[str, Any],
    ) -> bytes:
        return EnvelopeVault.seal(
            data_key, document, _context(kind, beneficiary_id, organisation_id)
        )

    @staticmethod
    def open(
        data_key: bytes,
        kind: str,
        beneficiary_id: uuid.UUID,
        organisation_id: uuid.UUID,
        ciphertext: bytes,
    ) -> dict[str, Any]:
        return EnvelopeVault.open(
            data_key, ciphertext, _context(kind, beneficiary_id, organisation_id)
        )


async def get_vault(request: Request) -> IdentityVault:
    vault: IdentityVault = request.app.state.identity_vault
    return vault
