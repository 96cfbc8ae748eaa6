"""Verifying Baton's webhooks (Standard Webhooks, https://www.standardwebhooks.com).

Each delivery carries `webhook-id`, `webhook-timestamp` (Unix seconds) and
`webhook-signature`: space-separated `v1,<base64 HMAC-SHA256>` over
`{id}.{timestamp}.{body}`, keyed with the endpoint's secret (`whsec_<base64>`).
During a secret rotation's grace period it carries one signature per secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE = 300


class WebhookVerificationError(Exception):
    """The delivery is not from Baton, was altered, or is too old or too new: refuse it."""


def _key(secret: str) -> bytes:
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error as error:
        raise ValueError("a webhook secret is `whsec_` and base64") from error
    if not key:
        raise ValueError("the webhook secret is empty")
    return key


def _signatures(header: str) -> list[bytes]:
    found = []
    for entry in header.split():
        version, _, encoded = entry.partition(",")
        if version != "v1":
            continue  # another scheme (v1a: asymmetric) is not ours to check
        try:
            found.append(base64.b64decode(encoded, validate=True))
        except binascii.Error:
            continue
    return found


def verify_webhook(
    secret: str,
    headers: Mapping[str, str],
    body: bytes | str,
    tolerance: int = DEFAULT_TOLERANCE,
    *,
    now: float | None = None,
) -> dict[str, Any]:
    """The delivery's JSON payload, once its signature and timestamp are proved.

    `body` is the request body exactly as received (before any JSON parsing);
    `tolerance` is how many seconds the timestamp may differ from now, which
    bounds how long a captured delivery could be replayed. Raises
    `WebhookVerificationError`, and `ValueError` if `secret` is malformed.
    """
    raw = body.encode() if isinstance(body, str) else body
    named = {name.lower(): value for name, value in headers.items()}
    event_id = named.get("webhook-id")
    timestamp = named.get("webhook-timestamp")
    signature_header = named.get("webhook-signature")
    if not event_id or not timestamp or not signature_header:
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature")
    if not timestamp.isascii() or not timestamp.isdigit():
        raise WebhookVerificationError("webhook-timestamp is not a Unix time in seconds")
    drift = (time.time() if now is None else now) - int(timestamp)
    if abs(drift) > tolerance:
        raise WebhookVerificationError(f"webhook-timestamp is too {'old' if drift > 0 else 'new'}")
    signed = f"{event_id}.{timestamp}.".encode() + raw
    expected = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    # Compare with every signature, in constant time, without stopping at a match.
    matches = [hmac.compare_digest(expected, given) for given in _signatures(signature_header)]
    if not any(matches):
        raise WebhookVerificationError("no signature matches the secret")
    try:
        payload = json.loads(raw)
    except ValueError as error:
        raise WebhookVerificationError("the body is not JSON") from error
    if not isinstance(payload, dict):
        raise WebhookVerificationError("the body is not a JSON object")
    return payload
