"""docker-compose wires the services as they run: issuers, ports, health checks,
migrations first, production settings that exist, and only the gateway exposed."""

from __future__ import annotations

import importlib
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import TypeAdapter

from baton.auth import TrustedIssuer
from baton.settings import SECRETS_DIR_VARIABLE, ServiceSettings
from baton.stack.gateway import container_layout
from baton.stack.services import SERVICES, ServiceSpec
from baton.testing import REPOSITORY_ROOT
from compose_files import (
    DOCKERFILE,
    depends_on,
    migration_job,
    mounts,
    published_ports,
    services,
    spec_of_image,
)

SERVICE_PORT = 8000
POSTGRES_INIT = REPOSITORY_ROOT / "deploy/docker/postgres-init.sh"


def _settings_class(spec: ServiceSpec) -> type[ServiceSettings]:
    module = importlib.import_module(f"{spec.module}.config")
    [found] = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, ServiceSettings)
        and value is not ServiceSettings
    ]
    return found


def _our_containers() -> list[tuple[str, dict[str, Any], ServiceSpec]]:
    """Every container running one of our images: APIs, migration and key jobs."""
    found = []
    for name, service in services().items():
        spec = spec_of_image(service.get("image", ""))
        if spec is not None:
            found.append((name, service, spec))
    return found


def test_every_service_trusts_the_issuer_the_gateway_verifies() -> None:
    [gateway_issuer] = [issuer.trusted for issuer in container_layout().issuers]
    for spec in SERVICES:
        environment = services()[spec.name]["environment"]
        trusted = TypeAdapter(list[TrustedIssuer]).validate_json(
            environment[f"{spec.env_prefix}TRUSTED_ISSUERS"]
        )
        assert [issuer.issuer for issuer in trusted] == [gateway_issuer.issuer], spec.name
        assert trusted[0].algorithms == gateway_issuer.algorithms
        assert environment["BATON_SECRETS_DIR"] == "/run/secrets"


def test_identity_signs_as_the_issuer_everyone_trusts_and_keeps_its_keys() -> None:
    identity = services()["identity-api"]
    assert (
        identity["environment"]["IDENTITY_ISSUER"] == container_layout().issuers[0].trusted.issuer
    )
    keys_dir = identity["environment"]["IDENTITY_SIGNING_KEYS_DIR"]
    assert any(volume.endswith(f":{keys_dir}") for volume in identity["volumes"])


def test_every_variable_and_secret_is_a_setting_of_its_service() -> None:
    """A misspelt variable or secret name would be ignored without a word."""
    for name, service, spec in _our_containers():
        fields = set(_settings_class(spec).model_fields)
        for variable in service.get("environment", {}):
            # The kit's own, and OpenTelemetry's standard variables (its SDK reads them).
            if variable == SECRETS_DIR_VARIABLE or variable.startswith("OTEL_"):
                continue
            assert variable.startswith(spec.env_prefix), f"{name}: {variable}"
            assert variable.removeprefix(spec.env_prefix).lower() in fields, f"{name}: {variable}"
        prefix = spec.env_prefix.lower()
        for secret in service.get("secrets", []):
            assert secret.startswith(prefix), f"{name}: {secret}"
            assert secret.removeprefix(prefix) in fields, f"{name}: {secret}"
        if service.get("secrets"):
            assert service["environment"][SECRETS_DIR_VARIABLE] == "/run/secrets", name


def test_every_api_runs_in_production_as_its_key_jobs_do() -> None:
    for name, service, spec in _our_containers():
        if service.get("command") == ["migrate"]:
            continue  # a migration needs no keys and behaves alike everywhere
        assert service["environment"][f"{spec.env_prefix}ENVIRONMENT"] == "production", name


def test_the_apis_listen_where_the_gateway_and_the_health_checks_look() -> None:
    dockerfile = DOCKERFILE.read_text()
    assert f"EXPOSE {SERVICE_PORT}" in dockerfile
    assert re.search(rf'^CMD \[.*"--port", "{SERVICE_PORT}"\]$', dockerfile, re.M)
    upstreams = container_layout().upstreams
    for spec in SERVICES:
        service = services()[spec.name]
        assert (upstreams[spec.route].host, upstreams[spec.route].port) == (
            spec.name,
            SERVICE_PORT,
        )
        assert "command" not in service, f"{spec.name} must serve as the image's CMD does"
        check = " ".join(service["healthcheck"]["test"])
        assert f"http://127.0.0.1:{SERVICE_PORT}/healthz" in check, spec.name
        assert depends_on(services()["gateway"])[spec.name] == "service_healthy"


def test_only_the_gateway_and_the_demo_keycloak_are_published() -> None:
    published = {name for name, service in services().items() if "ports" in service}
    assert published == {"gateway", "keycloak"}
    for name in published:
        assert all(port.host_ip == "127.0.0.1" for port in published_ports(services()[name]))


def test_the_gateway_publishes_envoys_listener_at_the_public_url() -> None:
    gateway = services()["gateway"]
    config_path = gateway["command"][gateway["command"].index("-c") + 1]
    [config] = [m for m in mounts(gateway) if m.target == config_path]
    envoy = yaml.safe_load((REPOSITORY_ROOT / config.source).read_text())
    [listener] = envoy["static_resources"]["listeners"]
    [port] = published_ports(gateway)
    assert port.container_port == listener["address"]["socket_address"]["port_value"]
    public = urlsplit(services()["identity-api"]["environment"]["IDENTITY_ISSUER"])
    assert (public.hostname, public.port) == (port.host_ip, port.host_port)


@pytest.mark.parametrize("spec", SERVICES, ids=lambda spec: spec.route)
def test_each_api_starts_after_its_migration_job(spec: ServiceSpec) -> None:
    api = services()[spec.name]
    job_name = migration_job(spec)
    job = services()[job_name]
    assert depends_on(api)[job_name] == "service_completed_successfully"
    assert job["command"] == ["migrate"]
    assert job["restart"] == "no"
    assert job["image"] == api["image"]
    assert f"{spec.env_prefix.lower()}migration_database_url" in job["secrets"]
    assert depends_on(job) == {"postgres": "service_healthy"}


def test_the_jobs_that_create_keys_run_before_the_services_reading_them() -> None:
    for name, service, spec in _our_containers():
        if service.get("command") != ["init-keys"]:
            continue
        api = services()[spec.name]
        assert depends_on(api)[name] == "service_completed_successfully"
        assert mounts(service) == mounts(api), name
        assert service["environment"].items() <= api["environment"].items(), name


def test_postgres_creates_every_database_before_anything_connects() -> None:
    postgres = services()["postgres"]
    script = POSTGRES_INIT.read_text()
    loop = re.search(r"^for db in ([\w ]+);", script, re.M)
    assert loop is not None
    assert loop.group(1).split() == [spec.route for spec in SERVICES]
    targets = {m.target: m.source for m in mounts(postgres)}
    assert any(t.startswith("/docker-entrypoint-initdb.d/") for t in targets)
    [sql_file] = re.findall(r"-f (\S+\.sql)", script)
    assert targets[sql_file] == "./deploy/postgres/provision.sql"
    for spec in SERVICES:
        for role in ("owner", "app"):
            assert f"{spec.route}_{role}_password" in postgres["secrets"]
    # Over TCP: during initialisation the image's temporary server has only its socket.
    check = postgres["healthcheck"]["test"]
    assert check[:2] == ["CMD", "pg_isready"]
    assert check[check.index("-h") + 1] == "127.0.0.1"
