"""`make bench`: the whole system under load, every scenario as a ratio to the ceiling.

    python -m bench [--scale N] [--base-scale N] [--seconds S] [--only name,...]

Loads the smaller scale first and measures the scenarios whose cost may grow with
data, grows the data to the full scale and measures everything; the ceiling (bare
FastAPI `/ping` behind the same Envoy) is measured beside them in each phase.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import time
from pathlib import Path
from typing import Any

import asyncpg

from baton.stack.personas import PersonaTokens, load_personas
from bench import dataset, flow, report, scenarios, system, wrk
from bench.memory import PeakMemory, descendants
from bench.scenarios import CEILING, SCENARIOS, Context, Scenario

ROOT = Path(__file__).resolve().parent.parent
WARM_UP_SECONDS = 2.0
SETTLE_SECONDS = 60.0


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--scale", type=int, default=int(os.environ.get("BENCH_SCALE", 100_000)))
    parser.add_argument(
        "--base-scale",
        type=int,
        default=int(os.environ.get("BENCH_BASE_SCALE", 10_000)),
        help="the smaller scale growth is measured from (0: none)",
    )
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("BENCH_SECONDS", 10)))
    parser.add_argument("--connections", default="1,32")
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".data" / "bench")
    parser.add_argument(
        "--reuse", action="store_true", help="keep the data directory's data set (profiling)"
    )
    return parser.parse_args()


def _memory_groups(stack: system.BenchStack) -> PeakMemory:
    groups: dict[str, Any] = {}
    for managed in stack.processes:
        assert managed.process is not None
        groups[managed.name] = lambda pid=managed.process.pid: descendants(pid)
    assert stack.postgres is not None
    postmaster = stack.postgres.pgdata / "postmaster.pid"
    groups["postgresql"] = lambda: descendants(int(postmaster.read_text().split()[0]))
    return PeakMemory(groups)


def _figures(load: wrk.Load, ceiling_rps: float) -> dict[str, Any]:
    return {
        "rps": round(load.requests_per_second, 1),
        "ratio": round(load.requests_per_second / ceiling_rps, 3) if ceiling_rps else 0.0,
        "requests": load.requests,
        "p50_us": load.p50_us,
        "p95_us": load.p95_us,
        "p99_us": load.p99_us,
        "max_us": load.max_us,
        "errors": load.errors,
        "statuses": load.statuses,
    }


def _flow_figures(load: flow.FlowLoad, ceiling_rps: float) -> dict[str, Any]:
    return {
        "rps": round(load.flows_per_second, 1),
        "ratio": round(load.flows_per_second / ceiling_rps, 4) if ceiling_rps else 0.0,
        "requests": load.flows,
        "p50_us": load.percentile(0.50),
        "p95_us": load.percentile(0.95),
        "p99_us": load.percentile(0.99),
        "max_us": max(load.latencies_us, default=0),
        "errors": load.errors,
    }


async def _busy_backends(stack: system.BenchStack) -> int:
    assert stack.postgres is not None
    connection = await asyncpg.connect(stack.postgres.admin_url())
    try:
        busy: int = await connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE state = 'active' AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
        return busy
    finally:
        await connection.close()


def _settle(stack: system.BenchStack, longest: float = SETTLE_SECONDS) -> None:
    """Wait until PostgreSQL runs no query of an earlier scenario (an abandoned donor
    report's statistics may run on after its client gave up), at most `longest`."""
    deadline = time.monotonic() + longest
    while asyncio.run(_busy_backends(stack)) > 0 and time.monotonic() < deadline:
        time.sleep(0.5)


def _measure(
    stack: system.BenchStack,
    scenario: Scenario,
    context: Context,
    tool: wrk.Wrk,
    level: int,
    seconds: float,
    memory: PeakMemory,
) -> tuple[wrk.Load, dict[str, float]]:
    _settle(stack)
    request = scenario.build(context)
    wrk.run(tool, context.gateway_url, request, connections=level, seconds=WARM_UP_SECONDS)
    with memory.watching() as peaks:
        load = wrk.run(tool, context.gateway_url, request, connections=level, seconds=seconds)
    return load, dict(peaks)


def _counting_seconds(
    stack: system.BenchStack, scenario: Scenario, context: Context
) -> float | None:
    """For the donor report: the seconds until a report has its statistics. cases-api
    counts afresh after the data changed (loading, the intake flow) and reuses the
    counts after that, so the load measures reports on current counts, and this the
    cost of counting."""
    if scenario.name != "donor_report":
        return None
    _settle(stack)
    seconds = scenarios.first_report_seconds(
        context.gateway_url, context.tokens, context.programme_id
    )
    print(f"  donor report counted in {seconds:.1f} s", flush=True)
    return seconds


def _phase(
    stack: system.BenchStack,
    tokens: PersonaTokens,
    tool: wrk.Wrk,
    args: argparse.Namespace,
    scale: int,
    chosen: list[Scenario],
    with_flow: bool,
) -> dict[str, Any]:
    print(f"loading {scale:,} beneficiaries", flush=True)
    load_seconds = dataset.grow(stack, scale)
    context = Context(
        gateway_url=stack.gateway_url,
        tokens=tokens,
        sample=dataset.sample(stack),
        programme_id=scenarios.programme_id(stack.gateway_url, tokens),
        deep_cursor=scenarios.deep_cursor(stack.gateway_url, tokens)
        if any(scenario.name == "case_list_deep" for scenario in chosen)
        else "",
    )
    memory = _memory_groups(stack)
    levels = [int(level) for level in args.connections.split(",")]
    results: dict[str, Any] = {}
    peak_memory: dict[str, float] = {}
    for level in levels:
        ceiling, _ = _measure(stack, CEILING, context, tool, level, args.seconds, memory)
        print(f"  {CEILING.name}@{level}: {ceiling.requests_per_second:,.0f} rps", flush=True)
        results.setdefault(CEILING.name, {"title": CEILING.title, "runs": {}})["runs"][
            str(level)
        ] = _figures(ceiling, ceiling.requests_per_second)
        for scenario in chosen:
            counting = _counting_seconds(stack, scenario, context)
            load, peaks = _measure(stack, scenario, context, tool, level, args.seconds, memory)
            figures = _figures(load, ceiling.requests_per_second)
            if counting is not None:
                figures["counting_seconds"] = round(counting, 2)
            figures["peak_memory_mib"] = peaks
            for name, mib in peaks.items():
                peak_memory[name] = max(peak_memory.get(name, 0.0), mib)
            results.setdefault(scenario.name, {"title": scenario.title, "runs": {}})["runs"][
                str(level)
            ] = figures
            print(
                f"  {scenario.name}@{level}: {figures['ratio']:.3f} of the ceiling, "
                f"p99 {load.p99_us / 1000:.1f} ms, {load.errors} errors",
                flush=True,
            )
        if with_flow:
            _settle(stack)
            with memory.watching():
                flows = flow.run(stack.gateway_url, tokens, connections=level, seconds=args.seconds)
            results.setdefault(
                "accept_to_intake",
                {"title": "referral accept → intake flow (flows/s)", "runs": {}},
            )["runs"][str(level)] = _flow_figures(flows, ceiling.requests_per_second)
            print(f"  accept_to_intake@{level}: {flows.flows_per_second:.1f} flows/s", flush=True)
    return {
        "beneficiaries": dataset.beneficiary_count(stack),
        "caseworker_organisation_cases": context.sample.organisation_cases,
        "load_seconds": round(load_seconds, 1),
        "scenarios": results,
        "peak_memory_mib": peak_memory,
    }


def _growth(small: dict[str, Any], large: dict[str, Any]) -> dict[str, Any]:
    ratios = {}
    for name, scenario in small["scenarios"].items():
        if name == CEILING.name:
            continue
        before, after = scenario["runs"]["1"], large["scenarios"][name]["runs"]["1"]
        ratios[name] = {
            key.removesuffix("_us"): round(after[key] / max(before[key], 1), 2)
            for key in ("p50_us", "p99_us")
        }
    return {"from": small["beneficiaries"], "to": large["beneficiaries"], "scenarios": ratios}


def main() -> None:
    args = _arguments()
    only = {name for name in args.only.split(",") if name}
    chosen = [s for s in SCENARIOS if not only or s.name in only]
    if not args.reuse and args.data_dir.exists():
        shutil.rmtree(args.data_dir)
    tool = wrk.install(ROOT / ".venv")
    print(f"starting the system in {args.data_dir}", flush=True)
    stack = system.start(ROOT, args.data_dir)
    try:
        tokens = PersonaTokens(stack.gateway_url, load_personas(stack.options.demo_credentials))
        phases = []
        if 0 < args.base_scale < args.scale and not args.reuse:
            growing = [s for s in chosen if s.grows_with_data]
            phases.append(_phase(stack, tokens, tool, args, args.base_scale, growing, False))
        with_flow = not only or "accept_to_intake" in only
        phases.append(_phase(stack, tokens, tool, args, args.scale, chosen, with_flow))
    finally:
        stack.stop()
    results: dict[str, Any] = {
        "scale": args.scale,
        "seconds_per_run": args.seconds,
        "connections": [int(level) for level in args.connections.split(",")],
        "service_workers": system.SERVICE_WORKERS,
        "machine": report.machine(),
        "phases": phases,
    }
    if len(phases) == 2:
        results["growth"] = _growth(phases[0], phases[1])
    path = report.write(results)
    print(f"\nresults: {path.relative_to(ROOT)}\n")
    print(report.table(results))


if __name__ == "__main__":
    main()
