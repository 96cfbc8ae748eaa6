"""The whole system in a production-like mode, plus the ceiling app behind the same Envoy.

Production-like: environment `production`, one uvicorn worker per service (a fixed
number; see `SERVICE_WORKERS`), no reload, JSON logs and access logs to files, the
gateway's full filter chain. Only the gateway's rate-limit buckets are opened wide:
they are a policy against abuse, and the benchmark measures cost, not the policy.
"""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
from pathlib import Path

from baton.stack.postgres import free_port
from baton.stack.processes import ManagedProcess, wait_until_answering
from baton.stack.runner import Stack, StackOptions
from baton.stack.services import SERVICES
from bench.ceiling import PING_PATH, with_ping_route

SERVICE_WORKERS = 1  # per service, as `python -m <service> serve` runs them
KEYED_SERVICES = ("cases", "referrals")  # services with an `init-keys` command
WIDE_OPEN = 1_000_000  # requests per second: no bucket ever empties during a run


@dataclass
class BenchStack(Stack):
    ceiling_port: int = 0

    def _seed_demo(self) -> None:
        # Production never makes keys on its own: the operator's `init-keys` does, first.
        for spec in SERVICES:
            if spec.route in KEYED_SERVICES:
                result = self.run_command(spec, "init-keys")
                if result.returncode != 0:
                    raise RuntimeError(f"init-keys of {spec.name} failed:\n{result.stderr}")
        super()._seed_demo()

    def _start_gateway(self) -> None:
        self.ceiling_port = free_port()
        ceiling = ManagedProcess(
            name="ceiling",
            command=[sys.executable, "-m", "bench.ceiling", "--port", str(self.ceiling_port)],
            log_path=self.log_dir / "ceiling.log",
        )
        ceiling.start()
        self.processes.append(ceiling)
        layout = self.gateway_layout(
            listen_port=self.gateway_port,
            admin_port=self.admin_port,
            token_requests_per_second=WIDE_OPEN,
            route_requests_per_second=WIDE_OPEN,
            caller_requests_per_second=WIDE_OPEN,
        )
        edit = functools.partial(with_ping_route, port=self.ceiling_port)
        self.processes.append(self.launch_gateway(layout, edit=edit))

    def wait_until_ready(self) -> None:
        super().wait_until_ready()
        wait_until_answering(
            f"{self.gateway_url}{PING_PATH}",
            what="the ceiling app behind the gateway",
            managed=self.process("ceiling"),
            timeout=self.options.startup_timeout_seconds,
        )


def start(root: Path, data_dir: Path) -> BenchStack:
    options = StackOptions(
        root=root,
        data_dir=data_dir,
        gateway_port=0,
        environment="production",
        startup_timeout_seconds=120,
        # Keys published at once: the benchmark's tokens are issued right after start.
        key_activation_delay_seconds=0,
    )
    stack = BenchStack(options)
    stack.start()
    return stack
