"""The gateway's part in observability: no public `/metrics`, and W3C traces when asked.

Tracing is rendered only when `BATON_OTEL_COLLECTOR` (host:port of an OTLP/HTTP
collector) is set: Envoy then starts a trace for each request, or continues the
client's `traceparent`, and passes the context on to the service.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from baton.stack.services import SERVICES

if TYPE_CHECKING:
    from baton.stack.gateway import Upstream

COLLECTOR_VARIABLE = "BATON_OTEL_COLLECTOR"
COLLECTOR_CLUSTER = "otel_collector"
GATEWAY_SERVICE_NAME = "baton-gateway"
_ROUTE_INDENT = " " * 14


def collector_address_from_environment() -> tuple[str, int] | None:
    """`BATON_OTEL_COLLECTOR`, e.g. `otel-collector:4318`, as (host, port); None when unset."""
    raw = os.environ.get(COLLECTOR_VARIABLE, "").strip()
    if not raw:
        return None
    host, _, port = raw.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{COLLECTOR_VARIABLE} must be host:port, got {raw!r}")
    return host, int(port)


def metrics_refusals() -> str:
    """Routes answering 404 for `/<service>/metrics` (and anything below it)."""
    routes = [
        {
            "match": {"path_separated_prefix": f"/{spec.route}/metrics"},
            "direct_response": {"status": 404},
        }
        for spec in SERVICES
    ]
    return "\n".join(f"{_ROUTE_INDENT}- {json.dumps(route)}" for route in routes)


def tracing(collector: Upstream | None) -> str:
    """The connection manager's `tracing` entry, or a comment saying how to turn it on."""
    if collector is None:
        return (
            f"# No tracing: set {COLLECTOR_VARIABLE} (host:port of an OTLP/HTTP collector)"
            " and render again."
        )
    config: dict[str, Any] = {
        "provider": {
            "name": "envoy.tracers.opentelemetry",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig",
                "http_service": {
                    "http_uri": {
                        "uri": f"http://{collector.host}:{collector.port}/v1/traces",
                        "cluster": COLLECTOR_CLUSTER,
                        "timeout": "2s",
                    }
                },
                "service_name": GATEWAY_SERVICE_NAME,
            },
        },
    }
    return f"tracing: {json.dumps(config)}"


def collector_cluster(collector: Upstream | None) -> str:
    """The cluster Envoy sends its spans to (a line of the `clusters` list), or nothing."""
    if collector is None:
        return ""
    cluster = {
        "name": COLLECTOR_CLUSTER,
        "type": "STRICT_DNS",
        "connect_timeout": "2s",
        "load_assignment": {
            "cluster_name": COLLECTOR_CLUSTER,
            "endpoints": [
                {
                    "lb_endpoints": [
                        {
                            "endpoint": {
                                "address": {
                                    "socket_address": {
                                        "address": collector.host,
                                        "port_value": collector.port,
                                    }
                                }
                            }
                        }
                    ]
                }
            ],
        },
    }
    return f"  - {json.dumps(cluster)}"
