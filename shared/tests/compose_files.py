"""docker-compose.yml and the `oidc` override as the tests read them, and their parts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from baton.stack.services import SERVICES, ServiceSpec
from baton.testing import REPOSITORY_ROOT

COMPOSE_FILE = REPOSITORY_ROOT / "docker-compose.yml"
OIDC_OVERRIDE_FILE = REPOSITORY_ROOT / "deploy/keycloak/compose.oidc.yaml"
DOCKERFILE = REPOSITORY_ROOT / "deploy/docker/service.Dockerfile"


def load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text())
    return loaded


def compose() -> dict[str, Any]:
    return load(COMPOSE_FILE)


def oidc_override() -> dict[str, Any]:
    return load(OIDC_OVERRIDE_FILE)


def services() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose()["services"]
    return found


def migration_job(spec: ServiceSpec) -> str:
    return f"{spec.route}-migrate"


def spec_of_image(image: str) -> ServiceSpec | None:
    """The service whose image this is (`baton/cases-api:0.1.0`), if it is one of ours."""
    repository = image.rsplit(":", 1)[0]
    return next((spec for spec in SERVICES if repository == f"baton/{spec.name}"), None)


@dataclass(frozen=True)
class Mount:
    """A short-syntax volume: `source:target[:mode]`."""

    source: str
    target: str

    @property
    def is_bind(self) -> bool:
        return self.source.startswith(("./", "../", "/"))


def mounts(service: dict[str, Any]) -> list[Mount]:
    found = []
    for entry in service.get("volumes", []):
        assert isinstance(entry, str), "long-syntax volumes: teach compose_files to read them"
        source, target, *_ = entry.split(":")
        found.append(Mount(source, target))
    return found


@dataclass(frozen=True)
class PublishedPort:
    host_ip: str
    host_port: int
    container_port: int


def published_ports(service: dict[str, Any]) -> list[PublishedPort]:
    found = []
    for entry in service.get("ports", []):
        assert isinstance(entry, str), "long-syntax ports: teach compose_files to read them"
        host_ip, host_port, container_port = entry.split(":")
        found.append(PublishedPort(host_ip, int(host_port), int(container_port)))
    return found


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    """Each dependency and its condition (`service_started` for the list form)."""
    declared = service.get("depends_on", {})
    if isinstance(declared, list):
        return dict.fromkeys(declared, "service_started")
    return {name: options["condition"] for name, options in declared.items()}
