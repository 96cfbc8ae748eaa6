"""Baton's API for partner systems: tokens, safe retries, pages, verified webhooks.

from baton_client import BatonClient, ClientCredentials

with BatonClient("https://baton.example.org", credentials=ClientCredentials(id, secret)) as baton:
    referral = baton.post("/referrals/v1/referrals", body).json()
"""

from baton_client.async_client import AsyncBatonClient
from baton_client.calls import etag, replayed
from baton_client.problems import BatonProblem, FieldError
from baton_client.retries import RetryPolicy
from baton_client.sync_client import BatonClient
from baton_client.tokens import ClientCredentials
from baton_client.webhooks import WebhookVerificationError, verify_webhook

__all__ = [
    "AsyncBatonClient",
    "BatonClient",
    "BatonProblem",
    "ClientCredentials",
    "FieldError",
    "RetryPolicy",
    "WebhookVerificationError",
    "etag",
    "replayed",
    "verify_webhook",
]
