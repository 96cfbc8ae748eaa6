"""Standard Webhooks signing secrets: made here, shown once, kept sealed, used to sign.

A secret is `whsec_` + base64 of random bytes; a signature is
`v1,` + base64(HMAC-SHA256(secret bytes, "{webhook-id}.{webhook-timestamp}.{body}")).
During a rotation's grace period a delivery carries both signatures, space-separated,
so a receiver still holding the previous secret keeps verifying.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from baton import crypto
from baton.vault import EnvelopeVault
from referral_api.webhooks.models import WebhookEndpoint

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signature(secret: str, event_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{event_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(
    signing_secrets: Sequence[str], event_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The request headers of one attempt, signed with every secret given."""
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            signature(secret, event_id, timestamp, body) for secret in signing_secrets
        ),
        "content-type": "application/json",
    }


@dataclass(frozen=True)
class SigningSecrets:
    current: str
    previous: str | None = None

    def valid_at(self, endpoint: WebhookEndpoint, now: datetime) -> list[str]:
        """The secrets to sign with now: the previous one only within its grace period."""
        expires = endpoint.previous_secret_expires_at
        if self.previous is not None and expires is not None and now < expires:
            return [self.current, self.previous]
        return [self.current]


def _context(kind: str, endpoint: WebhookEndpoint) -> bytes:
    return f"baton:referrals:webhook-{kind}:{endpoint.id}:{endpoint.organisation_id}".encode()


def seal(vault: EnvelopeVault, endpoint: WebhookEndpoint, sealed: SigningSecrets) -> None:
    """Store the secrets on the endpoint, under a fresh data key (the current master key's)."""
    data_key, wrapped = vault.new_key(_context("key", endpoint))
    document = {"current": sealed.current, "previous": sealed.previous}
    endpoint.master_key_id, endpoint.wrapped_key = wrapped.key_id, wrapped.ciphertext
    endpoint.secrets_ciphertext = EnvelopeVault.seal(
        data_key, document, _context("secrets", endpoint)
    )


def open_secrets(vault: EnvelopeVault, endpoint: WebhookEndpoint) -> SigningSecrets:
    """The endpoint's secrets; 503 if the master key is missing, 500 if tampered with."""
    wrapped = crypto.WrappedKey(key_id=endpoint.master_key_id, ciphertext=endpoint.wrapped_key)
    data_key = vault.data_key(wrapped, _context("key", endpoint))
    document = EnvelopeVault.open(
        data_key, endpoint.secrets_ciphertext, _context("secrets", endpoint)
    )
    return SigningSecrets(current=document["current"], previous=document["previous"])
