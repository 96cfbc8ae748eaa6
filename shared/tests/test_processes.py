"""A child process that dies is reported with its exit code and the end of its log."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from baton.stack.processes import ManagedProcess, ProcessDied


def test_a_dead_process_is_reported_with_its_log(tmp_path: Path) -> None:
    managed = ManagedProcess(
        name="doomed",
        command=[sys.executable, "-c", "print('cannot bind port'); raise SystemExit(3)"],
        log_path=tmp_path / "doomed.log",
    )
    managed.start()
    deadline = time.monotonic() + 10
    while managed.exit_code is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert managed.exit_code == 3
    report = str(ProcessDied(managed))
    assert "doomed exited with code 3" in report
    assert "cannot bind port" in report


def test_stop_ends_a_running_process(tmp_path: Path) -> None:
    managed = ManagedProcess(
        name="sleeper",
        command=[sys.executable, "-c", "import time; time.sleep(60)"],
        log_path=tmp_path / "sleeper.log",
    )
    managed.start()
    assert managed.exit_code is None
    managed.stop(timeout=5)
    assert managed.exit_code is not None
