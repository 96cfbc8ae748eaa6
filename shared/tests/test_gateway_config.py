"""The gateway template renders into configurations Envoy itself accepts."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from baton.auth import ClaimMapping, TrustedIssuer
from baton.stack.gateway import (
    GatewayIssuer,
    GatewayLayout,
    Upstream,
    container_layout,
    internal_issuer,
    render,
)
from baton.stack.services import SERVICES
from baton.testing import REPOSITORY_ROOT, envoy_validation

LOCAL = GatewayLayout(
    listen_address="127.0.0.1",
    listen_port=18080,
    admin_address="127.0.0.1",
    admin_port=19901,
    access_log_path="/dev/null",
    upstreams={spec.route: Upstream("127.0.0.1", 18100 + i) for i, spec in enumerate(SERVICES)},
    issuers=[
        GatewayIssuer(
            internal_issuer("http://127.0.0.1:18080/identity", "http://127.0.0.1:18100/jwks"),
            external=False,
        ),
        GatewayIssuer(
            TrustedIssuer(
                issuer="https://login.example.org/realms/baton",
                jwks_url="https://login.example.org/realms/baton/protocol/openid-connect/certs",
                algorithms=["RS256"],
                audience="baton",
                claims=ClaimMapping(org_kind="baton.org_kind", roles="realm_access.roles"),
            )
        ),
    ],
    cors_origins=["https://app.example.org"],
)


TRACED = dataclasses.replace(LOCAL, otel_collector=Upstream("127.0.0.1", 14318))


@pytest.mark.parametrize(
    "layout", [LOCAL, container_layout(), TRACED], ids=["local", "container", "traced"]
)
def test_envoy_accepts_the_rendered_configuration(layout: GatewayLayout, tmp_path: Path) -> None:
    config = tmp_path / "envoy.yaml"
    config.write_text(render(REPOSITORY_ROOT, layout))
    result = envoy_validation(config)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_admin_interface_stays_on_loopback_in_containers() -> None:
    rendered = render(REPOSITORY_ROOT, container_layout())
    admin = re.search(
        r"^admin:\n  address: \{ socket_address: \{ address: ([^,]+),", rendered, re.M
    )
    assert admin is not None
    assert admin.group(1) == "127.0.0.1"


def test_the_compose_configuration_is_the_rendered_template(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("BATON_OTEL_COLLECTOR", raising=False)
    committed = (REPOSITORY_ROOT / "deploy/gateway/envoy.compose.yaml").read_text()
    assert committed == render(REPOSITORY_ROOT, container_layout()), (
        "regenerate: python -m baton.stack gateway-config"
        " --output deploy/gateway/envoy.compose.yaml"
    )


def _connection_manager(rendered: str) -> dict[str, Any]:
    listener = yaml.safe_load(rendered)["static_resources"]["listeners"][0]
    manager: dict[str, Any] = listener["filter_chains"][0]["filters"][0]["typed_config"]
    return manager


@pytest.mark.parametrize("layout", [LOCAL, TRACED], ids=["untraced", "traced"])
def test_no_service_metrics_are_routed_through_the_gateway(layout: GatewayLayout) -> None:
    [host] = _connection_manager(render(REPOSITORY_ROOT, layout))["route_config"]["virtual_hosts"]
    routes = host["routes"]
    for spec in SERVICES:
        refusal = {
            "match": {"path_separated_prefix": f"/{spec.route}/metrics"},
            "direct_response": {"status": 404},
        }
        prefix = next(
            i for i, r in enumerate(routes) if r["match"].get("prefix") == f"/{spec.route}/"
        )
        # Ahead of the prefix that would strip `/<service>` and send the rest on.
        assert routes.index(refusal) < prefix


def test_tracing_is_rendered_only_with_a_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    untraced = yaml.safe_load(render(REPOSITORY_ROOT, LOCAL))
    assert "tracing" not in _connection_manager(render(REPOSITORY_ROOT, LOCAL))
    assert "otel_collector" not in {c["name"] for c in untraced["static_resources"]["clusters"]}

    monkeypatch.setenv("BATON_OTEL_COLLECTOR", "otel-collector:4318")
    layout = container_layout()
    assert layout.otel_collector == Upstream("otel-collector", 4318)
    rendered = render(REPOSITORY_ROOT, layout)
    tracing = _connection_manager(rendered)["tracing"]["provider"]
    assert tracing["name"] == "envoy.tracers.opentelemetry"
    http_uri = tracing["typed_config"]["http_service"]["http_uri"]
    assert http_uri == {
        "uri": "http://otel-collector:4318/v1/traces",
        "cluster": "otel_collector",
        "timeout": "2s",
    }
    clusters = {c["name"]: c for c in yaml.safe_load(rendered)["static_resources"]["clusters"]}
    endpoint = clusters["otel_collector"]["load_assignment"]["endpoints"][0]["lb_endpoints"][0]
    assert endpoint["endpoint"]["address"]["socket_address"] == {
        "address": "otel-collector",
        "port_value": 4318,
    }


@pytest.mark.parametrize("value", ["otel-collector", "otel-collector:http", ":4318", "h:70000"])
def test_a_malformed_collector_address_is_refused(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("BATON_OTEL_COLLECTOR", value)
    with pytest.raises(ValueError, match="BATON_OTEL_COLLECTOR"):
        container_layout()
