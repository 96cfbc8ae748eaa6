"""wrk, the HTTP load generator: installed from Debian's packages into the venv, and run.

`apt-get download` fetches the pinned packages without root and without touching
the system; `dpkg-deb -x` unpacks them under `.venv/opt/wrk`. A `wrk` already on
PATH (another distribution) is used as it is.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

# Debian 12 (bookworm): wrk and the LuaJIT it embeds scripts with.
PACKAGES = (
    "wrk=4.1.0-3+b2",
    "libluajit-5.1-2=2.1.0~beta3+git20220320+dfsg-4.1+deb12u1",
    "libluajit-5.1-common=2.1.0~beta3+git20220320+dfsg-4.1+deb12u1",
)
SCRIPT = Path(__file__).parent / "lua" / "scenario.lua"
RESULT_MARKER = "BENCH_RESULT "


@dataclass(frozen=True)
class Wrk:
    executable: Path
    library_path: Path | None = None

    def environment(self) -> dict[str, str]:
        if self.library_path is None:
            return {}
        return {"LD_LIBRARY_PATH": str(self.library_path)}


def install(venv: Path) -> Wrk:
    """wrk from PATH, or the pinned Debian packages unpacked into the venv."""
    on_path = shutil.which("wrk")
    if on_path is not None:
        return Wrk(Path(on_path))
    root = venv / "opt" / "wrk"
    executable = root / "usr" / "bin" / "wrk"
    library_path = root / "usr" / "lib" / "x86_64-linux-gnu"
    if not executable.exists():
        if shutil.which("apt-get") is None:
            raise RuntimeError("wrk is not on PATH and apt-get is not here to fetch it")
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as download:
            subprocess.run(
                ["apt-get", "download", "--quiet", *PACKAGES],
                cwd=download,
                check=True,
                capture_output=True,
            )
            for package in Path(download).glob("*.deb"):
                subprocess.run(["dpkg-deb", "-x", str(package), str(root)], check=True)
    return Wrk(executable, library_path)


@dataclass(frozen=True)
class Load:
    """One wrk run's figures; latencies in microseconds."""

    requests: int
    seconds: float
    p50_us: int
    p95_us: int
    p99_us: int
    max_us: int
    socket_errors: int
    statuses: dict[str, int]

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        """Socket errors and every answer that is not a 2xx."""
        failed = sum(count for status, count in self.statuses.items() if not status.startswith("2"))
        return self.socket_errors + failed


@dataclass(frozen=True)
class Request:
    """What wrk sends: paths taken in turn, one method, an optional body and headers."""

    paths: list[str]
    method: str = "GET"
    body: bytes | None = None
    content_type: str = "application/json"
    headers: dict[str, str] | None = None
    idempotent: bool = False
    # A 200 whose body holds this is a degraded answer, counted as an error.
    degraded_marker: str | None = None


def run(wrk: Wrk, base_url: str, request: Request, *, connections: int, seconds: float) -> Load:
    with tempfile.TemporaryDirectory() as work:
        paths = Path(work) / "paths"
        paths.write_text("\n".join(request.paths) + "\n")
        env = {
            **os.environ,
            **wrk.environment(),
            "BENCH_METHOD": request.method,
            "BENCH_PATHS": str(paths),
            "BENCH_CONTENT_TYPE": request.content_type,
            "BENCH_IDEMPOTENT": "1" if request.idempotent else "0",
        }
        if request.degraded_marker is not None:
            env["BENCH_DEGRADED"] = request.degraded_marker
        if request.body is not None:
            body = Path(work) / "body"
            body.write_bytes(request.body)
            env["BENCH_BODY"] = str(body)
        command = [
            str(wrk.executable),
            "--threads",
            "1",  # two cores: one for wrk at most, the rest for what is measured
            "--connections",
            str(connections),
            "--duration",
            f"{seconds:g}s",
            "--timeout",
            "10s",
            "--script",
            str(SCRIPT),
        ]
        for name, value in (request.headers or {}).items():
            command += ["--header", f"{name}: {value}"]
        finished = subprocess.run(
            [*command, base_url], env=env, capture_output=True, text=True, check=False
        )
    for line in finished.stdout.splitlines():
        if line.startswith(RESULT_MARKER):
            figures = json.loads(line.removeprefix(RESULT_MARKER))
            break
    else:
        raise RuntimeError(f"wrk gave no result:\n{finished.stdout}\n{finished.stderr}")
    return Load(
        requests=figures["requests"],
        seconds=figures["duration_us"] / 1e6,
        p50_us=figures["p50_us"],
        p95_us=figures["p95_us"],
        p99_us=figures["p99_us"],
        max_us=figures["max_us"],
        socket_errors=sum(
            figures[kind] for kind in ("connect_errors", "read_errors", "write_errors", "timeouts")
        ),
        statuses=figures["statuses"],
    )
