"""`make bench` measures its ceiling behind the real gateway: that configuration stays valid.

The benchmark adds one open route (`/ping`) to the rendered Envoy configuration; if
the template changes shape, this fails here rather than halfway through a bench run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from baton.stack.gateway import container_layout, render
from baton.testing import REPOSITORY_ROOT, envoy_validation
from bench.ceiling import PING_CLUSTER, PING_PATH, with_ping_route


def _connection_manager(config: dict[str, Any]) -> dict[str, Any]:
    listener = config["static_resources"]["listeners"][0]
    manager: dict[str, Any] = listener["filter_chains"][0]["filters"][0]["typed_config"]
    return manager


def test_the_ceiling_route_is_open_first_and_envoy_accepts_it(tmp_path: Path) -> None:
    edited = with_ping_route(render(REPOSITORY_ROOT, container_layout()), port=18999)
    config = yaml.safe_load(edited)
    manager = _connection_manager(config)
    routes = manager["route_config"]["virtual_hosts"][0]["routes"]
    assert routes[0] == {"match": {"path": PING_PATH}, "route": {"cluster": PING_CLUSTER}}
    filters = {f["name"]: f.get("typed_config", {}) for f in manager["http_filters"]}
    # Open without a token, like health checks: a JWT rule with no requirement...
    assert filters["envoy.filters.http.jwt_authn"]["rules"][0] == {"match": {"path": PING_PATH}}
    # ...and allowed by RBAC's public policy, behind every other filter of the chain.
    public = filters["envoy.filters.http.rbac"]["rules"]["policies"]["public"]
    assert {"url_path": {"path": {"exact": PING_PATH}}} in public["permissions"][0]["or_rules"][
        "rules"
    ]
    clusters = {c["name"]: c for c in config["static_resources"]["clusters"]}
    endpoint = clusters[PING_CLUSTER]["load_assignment"]["endpoints"][0]["lb_endpoints"][0]
    assert endpoint["endpoint"]["address"]["socket_address"]["port_value"] == 18999

    path = tmp_path / "bench-envoy.yaml"
    path.write_text(edited)
    result = envoy_validation(path)
    assert result.returncode == 0, result.stdout + result.stderr
