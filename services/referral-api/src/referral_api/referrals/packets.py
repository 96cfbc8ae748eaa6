"""The person packet sealed under a data key of its own, bound to the referral.

The wrap context and the associated data name the referral and both of its
organisations, so a wrapped key or ciphertext copied onto another referral (or a
forward's child) does not open: a forward re-seals under a new key. Purging
deletes the row that holds both the ciphertext and its wrapped key.
"""

from __future__ import annotations

from baton import crypto
from baton.db import utcnow
from baton.vault import EnvelopeVault
from referral_api.referrals.models import Referral, ReferralPacket
from referral_api.referrals.schemas import PersonPacket
from referral_api.referrals.vocabulary import FieldGroup

# Which part of the packet each field group of a consent releases.
FIELDS_OF_GROUP = {
    FieldGroup.identity: "identity",
    FieldGroup.contact: "safe_contact",
    FieldGroup.needs: "needs_summary",
    FieldGroup.risk: "risk_summary",
}


def _context(kind: str, referral_id: object, referrer: object, recipient: object) -> bytes:
    return f"baton:referrals:{kind}:{referral_id}:{referrer}:{recipient}".encode()


def _key_context(row: ReferralPacket) -> bytes:
    return _context(
        "packet-key", row.referral_id, row.referrer_organisation_id, row.recipient_organisation_id
    )


def _associated_data(row: ReferralPacket) -> bytes:
    return _context(
        "packet", row.referral_id, row.referrer_organisation_id, row.recipient_organisation_id
    )


def seal(vault: EnvelopeVault, referral: Referral, packet: PersonPacket) -> ReferralPacket:
    """A new packet row for `referral`, under a fresh data key."""
    row = ReferralPacket(
        referral_id=referral.id,
        referrer_organisation_id=referral.referrer_organisation_id,
        recipient_organisation_id=referral.recipient_organisation_id,
        master_key_id="",
        wrapped_key=b"",
        ciphertext=b"",
    )
    reseal(vault, row, packet)
    return row


def reseal(vault: EnvelopeVault, row: ReferralPacket, packet: PersonPacket) -> None:
    """Put `packet` in `row` under a fresh data key: the old key and ciphertext are gone."""
    data_key, wrapped = vault.new_key(_key_context(row))
    row.master_key_id, row.wrapped_key = wrapped.key_id, wrapped.ciphertext
    document = packet.model_dump(mode="json", exclude_none=True)
    row.ciphertext = vault.seal(data_key, document, _associated_data(row))
    row.created_at = utcnow()


def open_packet(vault: EnvelopeVault, row: ReferralPacket) -> PersonPacket:
    wrapped = crypto.WrappedKey(key_id=row.master_key_id, ciphertext=row.wrapped_key)
    data_key = vault.data_key(wrapped, _key_context(row))
    return PersonPacket.model_validate(vault.open(data_key, row.ciphertext, _associated_data(row)))


def within(packet: PersonPacket, scope: list[FieldGroup]) -> PersonPacket:
    """Only the field groups the consent covers; the rest is left out."""
    kept = {FIELDS_OF_GROUP[group] for group in scope}
    return PersonPacket.model_validate(
        {name: value for name, value in packet.model_dump().items() if name in kept}
    )
