"""`verify_webhook` agrees with the Standard Webhooks reference library, both ways."""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError as ReferenceRefused

from baton_client import WebhookVerificationError, verify_webhook

SECRET = "whsec_" + base64.b64encode(os.urandom(32)).decode()
OTHER_SECRET = "whsec_" + base64.b64encode(os.urandom(32)).decode()
BODY = json.dumps({"type": "referral.accepted", "data": {"referral_id": "r-1"}}).encode()

Headers = dict[str, str]


def signed(secret: str, body: bytes = BODY, at: float | None = None) -> Headers:
    """Headers of a delivery signed by the reference library."""
    timestamp = datetime.fromtimestamp(time.time() if at is None else at, tz=UTC)
    signature = Webhook(secret).sign("msg_1", timestamp, body.decode())
    return {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature,
    }


def test_a_delivery_signed_by_the_reference_verifies() -> None:
    headers = signed(SECRET)
    assert verify_webhook(SECRET, headers, BODY) == Webhook(SECRET).verify(BODY, headers)
    # The secret without its prefix, header names in any case, the body as text.
    bare = SECRET.removeprefix("whsec_")
    shouted = {name.upper(): value for name, value in headers.items()}
    assert verify_webhook(bare, shouted, BODY.decode())["type"] == "referral.accepted"


def test_one_matching_signature_among_several_verifies() -> None:
    """During a secret rotation a delivery carries a signature per secret."""
    headers = signed(SECRET)
    other = signed(OTHER_SECRET)["webhook-signature"]
    headers["webhook-signature"] = f"v1a,ignored {other} {headers['webhook-signature']}"
    assert verify_webhook(SECRET, headers, BODY) == Webhook(SECRET).verify(BODY, headers)


def _tampered_body(headers: Headers) -> tuple[Headers, bytes]:
    return headers, BODY.replace(b"accepted", b"rejected")


def _tampered_timestamp(headers: Headers) -> tuple[Headers, bytes]:
    return {**headers, "webhook-timestamp": str(int(headers["webhook-timestamp"]) - 1)}, BODY


def _tampered_id(headers: Headers) -> tuple[Headers, bytes]:
    return {**headers, "webhook-id": "msg_2"}, BODY


def _signed_elsewhere(_: Headers) -> tuple[Headers, bytes]:
    return signed(OTHER_SECRET), BODY


def _too_old(_: Headers) -> tuple[Headers, bytes]:
    return signed(SECRET, at=time.time() - 301), BODY


def _too_new(_: Headers) -> tuple[Headers, bytes]:
    return signed(SECRET, at=time.time() + 301), BODY


def _another_scheme_only(headers: Headers) -> tuple[Headers, bytes]:
    return {
        **headers,
        "webhook-signature": headers["webhook-signature"].replace("v1,", "v2,"),
    }, BODY


def _unsigned(headers: Headers) -> tuple[Headers, bytes]:
    return {name: value for name, value in headers.items() if name != "webhook-signature"}, BODY


@pytest.mark.parametrize(
    "tamper",
    [
        _tampered_body,
        _tampered_timestamp,
        _tampered_id,
        _signed_elsewhere,
        _too_old,
        _too_new,
        _another_scheme_only,
        _unsigned,
    ],
)
def test_what_the_reference_refuses_is_refused(
    tamper: Callable[[Headers], tuple[Headers, bytes]],
) -> None:
    headers, body = tamper(signed(SECRET))
    with pytest.raises(ReferenceRefused):
        Webhook(SECRET).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(SECRET, headers, body)


def test_the_tolerance_is_the_callers() -> None:
    headers = signed(SECRET, at=time.time() - 400)
    with pytest.raises(WebhookVerificationError, match="too old"):
        verify_webhook(SECRET, headers, BODY)
    assert verify_webhook(SECRET, headers, BODY, tolerance=600)["type"] == "referral.accepted"


def test_a_malformed_secret_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="base64"):
        verify_webhook("whsec_not base64!", signed(SECRET), BODY)
