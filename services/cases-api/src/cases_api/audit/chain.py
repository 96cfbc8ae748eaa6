"""The hash chain of the audit log: each event's hash covers its fields and the previous hash."""

from __future__ import annotations

import hashlib
import json

from cases_api.audit.models import AuditEvent

GENESIS_HASH = bytes(32)


def event_hash(event: AuditEvent, previous_hash: bytes) -> bytes:
    """SHA-256 over the previous hash and a canonical encoding of every field."""
    fields: list[object] = [
        event.sequence,
        event.occurred_at.isoformat(),
        event.actor,
        str(event.actor_organisation_id),
        str(event.organisation_id),
        event.action,
        event.resource_type,
        str(event.resource_id),
        event.purpose,
        event.request_id,
    ]
    # Appended only when set, so events written before the column existed keep their hash.
    if event.break_glass_id is not None:
        fields.append(str(event.break_glass_id))
    encoded = json.dumps(fields, separators=(",", ":"), ensure_ascii=True).encode()
    return hashlib.sha256(previous_hash + encoded).digest()
