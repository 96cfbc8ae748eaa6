"""The gateway's rate limits: one bucket per client address, then one per verified caller.

Two local rate-limit filters, each configured per route. The first runs before token
verification and is keyed on the connection's peer address (Envoy's own, never a
header a client could set: `use_remote_address` with no trusted hops), so a flood
costs no signature checks and one address cannot drain another's bucket. The
second runs after verification and is keyed on the verified token's issuer,
organisation and subject (read from the JWT filter's metadata, never from a
header), so one partner's client cannot starve another's, whichever address it
comes from and however many tokens it mints. Buckets hold two seconds of requests.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

PER_ADDRESS_FILTER = "baton.rate_limit_per_address"
PER_CALLER_FILTER = "baton.rate_limit_per_caller"
# Distinct callers (or addresses) remembered per route; the least recent is forgotten.
TRACKED_KEYS = 10000
UNLIMITED = 1_000_000_000
_LOCAL_RATE_LIMIT = "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3"
_JWT_FILTER = "envoy.filters.http.jwt_authn"
_ALWAYS = {
    "default_value": {"numerator": 100, "denominator": "HUNDRED"},
    "runtime_key": "baton.none",
}


def _bucket(per_second: int) -> dict[str, Any]:
    return {"max_tokens": per_second * 2, "tokens_per_fill": per_second, "fill_interval": "1s"}


def _limit(
    stat_prefix: str,
    rate_limits: list[dict[str, Any]],
    descriptors: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "@type": f"{_LOCAL_RATE_LIMIT}.LocalRateLimit",
        "stat_prefix": stat_prefix,
        # Envoy requires a default bucket per route; this one is for requests that yield
        # no descriptor and is never the limit: sharing one across callers would let
        # anyone drain it for everyone.
        "token_bucket": _bucket(UNLIMITED),
        "always_consume_default_token_bucket": False,
        "filter_enabled": _ALWAYS,
        "filter_enforced": _ALWAYS,
        "rate_limits": rate_limits,
        # An empty value is a wildcard: one bucket per distinct value seen.
        "descriptors": descriptors,
        "max_dynamic_descriptors": TRACKED_KEYS,
    }


def per_address(per_second: int) -> dict[str, Any]:
    """The per-route config of the first filter: a bucket per peer address."""
    return _limit(
        "rate_limit_per_address",
        rate_limits=[{"actions": [{"remote_address": {}}]}],
        descriptors=[
            {
                "entries": [{"key": "remote_address", "value": ""}],
                "token_bucket": _bucket(per_second),
            }
        ],
    )


def _claim(provider: str, claim: str, key: str) -> dict[str, Any]:
    return {
        "metadata": {
            "descriptor_key": key,
            "metadata_key": {
                "key": _JWT_FILTER,
                "path": [{"key": part} for part in [provider, *claim.split(".")]],
            },
            "source": "DYNAMIC",
            # No verified token from this provider: no descriptor from this entry.
            "skip_if_absent": True,
        }
    }


def per_caller(per_second: int, providers: Sequence[tuple[str, str, str]]) -> dict[str, Any]:
    """The per-route config of the second filter: a bucket per verified caller.

    `providers` are (JWT provider name, organisation claim path, subject claim path).
    """
    rate_limits = [
        {
            "actions": [
                {"generic_key": {"descriptor_key": "issuer", "descriptor_value": provider}},
                _claim(provider, org_claim, "organisation"),
                _claim(provider, subject_claim, "subject"),
            ]
        }
        for provider, org_claim, subject_claim in providers
    ]
    descriptors = [
        {
            "entries": [
                {"key": "issuer", "value": provider},
                {"key": "organisation", "value": ""},
                {"key": "subject", "value": ""},
            ],
            "token_bucket": _bucket(per_second),
        }
        for provider, _, _ in providers
    ]
    # Health, docs and discovery carry no token: only the address's bucket applies to them.
    return _limit("rate_limit_per_caller", rate_limits, descriptors)
