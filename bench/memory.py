"""Peak memory of each process of the system while a scenario runs.

A sampler reads each process's proportional set size (PSS, `/proc/<pid>/smaps_rollup`)
every quarter second and keeps the highest. PSS shares shared pages among the
processes mapping them, so PostgreSQL's server and backends (one group, summed)
are not counted once per backend for the same shared buffers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

PidsOf = Callable[[], list[int]]


def _pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                pending.extend(int(child) for child in children)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


class PeakMemory:
    """Highest summed PSS per named group of processes, in MiB, while running."""

    def __init__(self, groups: dict[str, PidsOf], interval: float = 0.25) -> None:
        self.groups = groups
        self.interval = interval
        self.peaks: dict[str, float] = {}
        self._stop = threading.Event()

    def _sample(self) -> None:
        for name, pids_of in self.groups.items():
            total = sum(_pss_kib(pid) for pid in pids_of()) / 1024
            self.peaks[name] = max(self.peaks.get(name, 0.0), round(total, 1))

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    @contextmanager
    def watching(self) -> Iterator[dict[str, float]]:
        self.peaks = {}
        self._stop.clear()
        self._sample()
        thread = threading.Thread(target=self._loop, daemon=True)
        thread.start()
        try:
            yield self.peaks
        finally:
            self._stop.set()
            thread.join()
            self._sample()
