"""The ceiling: a bare FastAPI `GET /ping` behind the same Envoy as the services.

Served by uvicorn exactly as the services are (one worker, uvloop and httptools
when installed, no access log of uvicorn's own), so a scenario's ratio to it is
what Baton's own work costs on this machine.
"""

from __future__ import annotations

import argparse
import copy
from typing import Any

import uvicorn
import yaml
from fastapi import FastAPI

PING_PATH = "/ping"
PING_CLUSTER = "bench_ping"

app = FastAPI()


@app.get(PING_PATH)
async def ping() -> dict[str, str]:
    return {"status": "ok"}


def with_ping_route(config_yaml: str, port: int) -> str:
    """The rendered gateway configuration plus an open `/ping` route to the ceiling app.

    The route passes every filter the services' routes pass (header stripping, rate
    limiting, buffering, JWT rules, RBAC); only no token is asked for.
    """
    config: dict[str, Any] = yaml.safe_load(config_yaml)
    resources = config["static_resources"]
    manager = resources["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    routes = manager["route_config"]["virtual_hosts"][0]["routes"]
    routes.insert(0, {"match": {"path": PING_PATH}, "route": {"cluster": PING_CLUSTER}})
    for http_filter in manager["http_filters"]:
        typed = http_filter.get("typed_config", {})
        if http_filter["name"] == "envoy.filters.http.jwt_authn":
            typed["rules"].insert(0, {"match": {"path": PING_PATH}})
        if http_filter["name"] == "envoy.filters.http.rbac":
            public = typed["rules"]["policies"]["public"]["permissions"][0]["or_rules"]["rules"]
            public.append({"url_path": {"path": {"exact": PING_PATH}}})
    cluster = copy.deepcopy(resources["clusters"][0])
    cluster["name"] = cluster["load_assignment"]["cluster_name"] = PING_CLUSTER
    endpoint = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]
    endpoint["address"]["socket_address"] = {"address": "127.0.0.1", "port_value": port}
    resources["clusters"].append(cluster)
    return yaml.safe_dump(config, sort_keys=False)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.ceiling")
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        timeout_keep_alive=75,
    )
