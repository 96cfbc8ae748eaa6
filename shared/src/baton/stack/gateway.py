"""Renders the Envoy configuration from `deploy/gateway/envoy.yaml.tmpl`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from string import Template

from baton.stack.services import SERVICES

TEMPLATE = Path("deploy/gateway/envoy.yaml.tmpl")


@dataclass(frozen=True)
class Upstream:
    host: str
    port: int


@dataclass(frozen=True)
class GatewayLayout:
    listen_address: str
    listen_port: int
    admin_address: str
    admin_port: int
    access_log_path: str
    upstreams: Mapping[str, Upstream]  # by service route


def render(root: Path, layout: GatewayLayout) -> str:
    """The Envoy YAML for `layout`; fails on any placeholder left without a value."""
    values: dict[str, object] = {
        "listen_address": layout.listen_address,
        "listen_port": layout.listen_port,
        "admin_address": layout.admin_address,
        "admin_port": layout.admin_port,
        "access_log_path": layout.access_log_path,
    }
    for spec in SERVICES:
        upstream = layout.upstreams[spec.route]
        values[f"{spec.route}_host"] = upstream.host
        values[f"{spec.route}_port"] = upstream.port
        values[f"{spec.route}_timeout"] = spec.route_timeout_seconds
    return Template((root / TEMPLATE).read_text()).substitute(values)


def container_layout() -> GatewayLayout:
    """The layout of docker-compose: services by name on port 8000, logs to stdout."""
    return GatewayLayout(
        listen_address="0.0.0.0",
        listen_port=8080,
        # Loopback only: the admin interface can stop the gateway.
        admin_address="127.0.0.1",
        admin_port=9901,
        access_log_path="/dev/stdout",
        upstreams={spec.route: Upstream(spec.name, 8000) for spec in SERVICES},
    )
