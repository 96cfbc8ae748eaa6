"""Child processes with their output in log files, watched for unexpected exits."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx


@dataclass
class ManagedProcess:
    name: str
    command: Sequence[str]
    log_path: Path
    env: Mapping[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                list(self.command),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **self.env},
                # Own process group: Ctrl-C reaches the supervisor, which stops children in order.
                start_new_session=True,
            )

    @property
    def exit_code(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)

    def kill(self) -> None:
        """SIGKILL, as a crash would: no shutdown hook runs."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.kill()
        self.process.wait(10)


class ProcessDied(RuntimeError):
    def __init__(self, managed: ManagedProcess) -> None:
        super().__init__(
            f"{managed.name} exited with code {managed.exit_code}; "
            f"last lines of {managed.log_path}:\n{managed.log_tail()}"
        )
        self.managed = managed


def wait_until_answering(
    url: str, *, what: str, managed: ManagedProcess | None = None, timeout: float = 30.0
) -> None:
    """Until `url` answers 200; raises if `managed` exits first or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        exited = managed is not None and managed.exit_code is not None
        if exited or time.monotonic() > deadline:
            tail = managed.log_tail() if managed is not None else ""
            raise RuntimeError(f"{what} did not start:\n{tail}")
        time.sleep(0.2)
