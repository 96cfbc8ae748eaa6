"""Renders the Envoy configuration from `deploy/gateway/envoy.yaml.tmpl`.

The parts that vary with the deployment (token issuers, public paths, RBAC
policies, CORS origins) are generated here as JSON, which YAML reads as it is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import urlsplit

from baton.auth import TrustedIssuer
from baton.authz import VICTIM_DATA_ORG_KINDS
from baton.stack import gateway_limits, gateway_observability
from baton.stack.services import SERVICES

TEMPLATE = Path("deploy/gateway/envoy.yaml.tmpl")
_TYPES = "type.googleapis.com/envoy.extensions"
IDENTITY_CLUSTER = "identity_api"
VICTIM_DATA_ROUTES = ("cases", "referrals")
# Headers that claim an identity: only a verified token may say who the caller is.
STRIPPED_HEADERS = (
    "x-jwt-payload",
    "x-org-id",
    "x-org-kind",
    "x-tenant-id",
    "x-user-id",
    "x-user-roles",
    "x-roles",
    "x-principal",
    "x-forwarded-user",
    "x-forwarded-email",
    "x-auth-request-user",
    "x-baton-principal",
)


@dataclass(frozen=True)
class Upstream:
    host: str
    port: int


def otel_collector_from_environment() -> Upstream | None:
    address = gateway_observability.collector_address_from_environment()
    return Upstream(*address) if address is not None else None


@dataclass(frozen=True)
class GatewayIssuer:
    """A trusted issuer as the gateway sees it: where it fetches the JWKS from."""

    trusted: TrustedIssuer
    # False for Baton's own issuer: its JWKS is fetched through identity-api's cluster.
    external: bool = True


@dataclass(frozen=True)
class GatewayLayout:
    listen_address: str
    listen_port: int
    admin_address: str
    admin_port: int
    access_log_path: str
    upstreams: Mapping[str, Upstream]  # by service route
    issuers: Sequence[GatewayIssuer] = ()
    jwks_cache_seconds: int = 300
    cors_origins: Sequence[str] = ()
    # Per peer address (token endpoint, each service route) and per verified caller.
    token_requests_per_second: int = 20
    route_requests_per_second: int = 1000
    caller_requests_per_second: int = 200
    # Peers Envoy treats as internal (their x-envoy-* headers would count); none by
    # default, and the strip filter removes such headers from every request anyway.
    internal_networks: Sequence[str] = ()
    # Where Envoy sends its spans (OTLP/HTTP); None: no tracing at the gateway.
    otel_collector: Upstream | None = field(default_factory=otel_collector_from_environment)


def public_paths() -> list[str]:
    """Paths open without a token: health, docs, the token endpoint, discovery."""
    paths = [
        f"/{spec.route}/{leaf}"
        for spec in SERVICES
        for leaf in ("healthz", "readyz", "docs", "docs/oauth2-redirect", "openapi.json")
    ]
    paths += [
        "/identity/v1/oauth/token",
        "/identity/.well-known/openid-configuration",
        "/identity/.well-known/jwks.json",
    ]
    return paths


def _provider_name(index: int, issuer: GatewayIssuer) -> str:
    return "baton" if not issuer.external else f"external_{index}"


def _jwks_cluster(index: int) -> str:
    return f"jwks_external_{index}"


def _providers(layout: GatewayLayout) -> dict[str, Any]:
    providers = {}
    for index, issuer in enumerate(layout.issuers):
        trusted = issuer.trusted
        audiences = [trusted.audience] if trusted.audience else [spec.name for spec in SERVICES]
        if issuer.external:
            uri, cluster = trusted.jwks_url, _jwks_cluster(index)
        else:
            uri, cluster = "http://identity-api/.well-known/jwks.json", IDENTITY_CLUSTER
        providers[_provider_name(index, issuer)] = {
            "issuer": trusted.issuer,
            "audiences": audiences,
            "remote_jwks": {
                "http_uri": {"uri": uri, "cluster": cluster, "timeout": "3s"},
                "cache_duration": f"{layout.jwks_cache_seconds}s",
                # The listener waits for the first fetch and its retries; if they fail it
                # opens without this issuer's keys and refuses its tokens until a fetch
                # succeeds (tests/test_crash_recovery.py).
                "async_fetch": {"fast_listener": False},
                "retry_policy": {"num_retries": 3},
            },
            "from_headers": [{"name": "authorization", "value_prefix": "Bearer "}],
            "forward": True,
            "payload_in_metadata": _provider_name(index, issuer),
            "require_expiration": True,
            "max_lifetime": f"{trusted.max_lifetime_seconds}s",
            "clock_skew_seconds": 30,
            # No `jwt_cache_config`: Envoy's cache of verified tokens would save about a
            # tenth of a case read (`make bench`) but keeps accepting a token after its
            # key is withdrawn from the JWKS, until the token expires
            # (tests/test_token_sources.py, key rotation).
        }
    return providers


def _requirement(layout: GatewayLayout, audience: str | None) -> dict[str, Any]:
    options: list[dict[str, Any]] = []
    for index, issuer in enumerate(layout.issuers):
        name = _provider_name(index, issuer)
        if audience is not None and issuer.trusted.audience is None:
            options.append(
                {"provider_and_audiences": {"provider_name": name, "audiences": [audience]}}
            )
        else:
            options.append({"provider_name": name})
    if len(options) == 1:
        return options[0]
    return {"requires_any": {"requirements": options}}


def _rules(layout: GatewayLayout) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = [{"match": {"path": path}} for path in public_paths()]
    rules += [
        {"match": {"prefix": f"/{spec.route}/"}, "requires": _requirement(layout, spec.name)}
        for spec in SERVICES
    ]
    # Catch-all: a path that matches nothing above still needs a valid token.
    rules.append({"match": {"prefix": "/"}, "requires": _requirement(layout, None)})
    return rules


def _status_is(status: int) -> dict[str, Any]:
    return {
        "status_code_filter": {
            "comparison": {
                "op": "EQ",
                "value": {"default_value": status, "runtime_key": "baton.none"},
            }
        }
    }


def _verified_refusal_filter(layout: GatewayLayout) -> dict[str, Any]:
    """A 403 after some provider verified the token: RBAC's refusal, which stays a 403.

    Any other 403 of the gateway is the JWT filter's (wrong audience), mapped to 401.
    """
    verified = [
        {
            "metadata_filter": {
                "matcher": {
                    "filter": "envoy.filters.http.jwt_authn",
                    # A primitive value: present_match never matches a whole struct.
                    "path": [{"key": _provider_name(index, issuer)}, {"key": "iss"}],
                    "value": {"present_match": True},
                },
                "match_if_key_not_found": False,
            }
        }
        for index, issuer in enumerate(layout.issuers)
    ]
    any_verified = verified[0] if len(verified) == 1 else {"or_filter": {"filters": verified}}
    return {"and_filter": {"filters": [_status_is(403), any_verified]}}


def _internal_addresses(layout: GatewayLayout) -> dict[str, Any]:
    ranges = []
    for network in layout.internal_networks:
        address, _, length = network.partition("/")
        ranges.append({"address_prefix": address, "prefix_len": int(length or 32)})
    return {"unix_sockets": False, "cidr_ranges": ranges}


def _strip_headers() -> list[dict[str, Any]]:
    # Envoy trusts some x-envoy-* request headers (retries, timeouts, original path)
    # when the peer looks internal; a client must never set them.
    return [
        {"remove_on_match": {"key_matcher": {"prefix": "x-envoy-"}}},
        *({"remove": name} for name in STRIPPED_HEADERS),
    ]


def _org_kind_principal(index: int, issuer: GatewayIssuer, kind: str) -> dict[str, Any]:
    claim_path = issuer.trusted.claims.org_kind.split(".")
    return {
        "sourced_metadata": {
            "metadata_matcher": {
                "filter": "envoy.filters.http.jwt_authn",
                "path": [{"key": key} for key in [_provider_name(index, issuer), *claim_path]],
                "value": {"string_match": {"exact": kind}},
            }
        }
    }


def _victim_data_paths() -> dict[str, Any]:
    return {
        "or_rules": {
            "rules": [
                {"url_path": {"path": {"prefix": f"/{route}", "ignore_case": True}}}
                for route in VICTIM_DATA_ROUTES
            ]
        }
    }


def _donor_denial(layout: GatewayLayout) -> dict[str, Any]:
    """An explicit DENY ahead of the allow list, so no future ALLOW policy can let a donor in."""
    donors = [
        _org_kind_principal(index, issuer, "donor") for index, issuer in enumerate(layout.issuers)
    ]
    return {
        "donor-tokens-never-reach-victim-data": {
            "permissions": [_victim_data_paths()],
            "principals": [{"or_ids": {"ids": donors}}],
        }
    }


def _rbac_policies(layout: GatewayLayout) -> dict[str, Any]:
    def paths(rules: list[dict[str, Any]]) -> dict[str, Any]:
        return {"or_rules": {"rules": rules}}

    victim_principals = [
        _org_kind_principal(index, issuer, kind)
        for index, issuer in enumerate(layout.issuers)
        for kind in sorted(VICTIM_DATA_ORG_KINDS)
    ]
    other_routes = [spec.route for spec in SERVICES if spec.route not in VICTIM_DATA_ROUTES]
    return {
        "public": {
            "permissions": [paths([{"url_path": {"path": {"exact": p}}} for p in public_paths()])],
            "principals": [{"any": True}],
        },
        "victim-data-for-care-and-referral-organisations": {
            "permissions": [
                paths(
                    [
                        {"url_path": {"path": {"prefix": f"/{route}/", "ignore_case": True}}}
                        for route in VICTIM_DATA_ROUTES
                    ]
                )
            ],
            "principals": [{"or_ids": {"ids": victim_principals}}]
            if victim_principals
            else [{"not_id": {"any": True}}],
        },
        "other-services-for-any-verified-token": {
            "permissions": [
                paths([{"url_path": {"path": {"prefix": f"/{route}/"}}} for route in other_routes])
            ],
            "principals": [{"any": True}],
        },
    }


def _external_clusters(layout: GatewayLayout) -> str:
    clusters = []
    for index, issuer in enumerate(layout.issuers):
        if not issuer.external:
            continue
        url = urlsplit(issuer.trusted.jwks_url)
        secure = url.scheme == "https"
        cluster: dict[str, Any] = {
            "name": _jwks_cluster(index),
            "type": "STRICT_DNS",
            "connect_timeout": "3s",
            "load_assignment": {
                "cluster_name": _jwks_cluster(index),
                "endpoints": [
                    {
                        "lb_endpoints": [
                            {
                                "endpoint": {
                                    "address": {
                                        "socket_address": {
                                            "address": url.hostname,
                                            "port_value": url.port or (443 if secure else 80),
                                        }
                                    }
                                }
                            }
                        ]
                    }
                ],
            },
        }
        if secure:
            cluster["transport_socket"] = {
                "name": "envoy.transport_sockets.tls",
                "typed_config": {
                    "@type": f"{_TYPES}.transport_sockets.tls.v3.UpstreamTlsContext",
                    "sni": url.hostname,
                },
            }
        clusters.append(f"  - {json.dumps(cluster)}")
    return "\n".join(clusters)


def _caller_keys(layout: GatewayLayout) -> list[tuple[str, str, str]]:
    return [
        (_provider_name(index, issuer), issuer.trusted.claims.org_id, issuer.trusted.claims.sub)
        for index, issuer in enumerate(layout.issuers)
    ]


def render(root: Path, layout: GatewayLayout) -> str:
    """The Envoy YAML for `layout`; fails on any placeholder left without a value."""
    if not layout.issuers:
        raise ValueError("a gateway needs at least one trusted issuer")
    values: dict[str, object] = {
        "listen_address": layout.listen_address,
        "listen_port": layout.listen_port,
        "admin_address": layout.admin_address,
        "admin_port": layout.admin_port,
        "access_log_path": layout.access_log_path,
        "jwt_providers": json.dumps(_providers(layout)),
        "jwt_rules": json.dumps(_rules(layout)),
        "rbac_policies": json.dumps(_rbac_policies(layout)),
        "rbac_denials": json.dumps(_donor_denial(layout)),
        "internal_address_config": json.dumps(_internal_addresses(layout)),
        "verified_refusal_filter": json.dumps(_verified_refusal_filter(layout)),
        "extra_clusters": "\n".join(
            part
            for part in (
                _external_clusters(layout),
                gateway_observability.collector_cluster(layout.otel_collector),
            )
            if part
        ),
        "metrics_refusals": gateway_observability.metrics_refusals(),
        "tracing": gateway_observability.tracing(layout.otel_collector),
        "strip_headers": json.dumps(_strip_headers()),
        "cors_origins": json.dumps([{"exact": origin} for origin in layout.cors_origins]),
        "token_address_limit": json.dumps(
            gateway_limits.per_address(layout.token_requests_per_second)
        ),
        "route_address_limit": json.dumps(
            gateway_limits.per_address(layout.route_requests_per_second)
        ),
        "route_caller_limit": json.dumps(
            gateway_limits.per_caller(layout.caller_requests_per_second, _caller_keys(layout))
        ),
    }
    for spec in SERVICES:
        upstream = layout.upstreams[spec.route]
        values[f"{spec.route}_host"] = upstream.host
        values[f"{spec.route}_port"] = upstream.port
        values[f"{spec.route}_timeout"] = spec.route_timeout_seconds
    return Template((root / TEMPLATE).read_text()).substitute(values)


def internal_issuer(issuer_url: str, jwks_url: str) -> TrustedIssuer:
    """Baton's own issuer (identity-api): ES256, per-service audiences."""
    return TrustedIssuer(
        issuer=issuer_url, jwks_url=jwks_url, algorithms=["ES256"], max_lifetime_seconds=900
    )


def container_layout(
    public_url: str = "http://127.0.0.1:8080",
    external_issuers: Sequence[TrustedIssuer] = (),
    cors_origins: Sequence[str] = (),
) -> GatewayLayout:
    """The layout of docker-compose: services by name on port 8000, logs to stdout."""
    internal = internal_issuer(
        f"{public_url}/identity", "http://identity-api:8000/.well-known/jwks.json"
    )
    return GatewayLayout(
        listen_address="0.0.0.0",
        listen_port=8080,
        # Loopback only: the admin interface can stop the gateway.
        admin_address="127.0.0.1",
        admin_port=9901,
        access_log_path="/dev/stdout",
        upstreams={spec.route: Upstream(spec.name, 8000) for spec in SERVICES},
        issuers=[
            GatewayIssuer(internal, external=False),
            *(GatewayIssuer(issuer) for issuer in external_issuers),
        ],
        cors_origins=cors_origins,
    )
