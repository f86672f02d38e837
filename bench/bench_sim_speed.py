"""Speed of the Monte Carlo engine: vectorised numpy vs a plain per-run radCAD run of the same model.

Target: 1,000 runs x 5 years at daily steps of the baseline in <= 20 s on 2 cores, and
>= 20x faster than radCAD. Both sides run the identical blocks of clubchat.sim.model (a test checks
they give identical paths). radCAD (single process, deepcopy on = its defaults) is far too slow for
1,000 runs x 1,825 days, so it runs RADCAD_RUNS runs and its time is extrapolated linearly per run
(radCAD's cost is strictly per run and per step: it holds no state across runs).

Usage: .venv/bin/python bench/bench_sim_speed.py [--repeats N] [--radcad-runs N]
Writes bench/results/sim_speed.json (rows) and bench/results/sim_speed.md (table).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

from _harness import write_report
from rich.console import Console
from rich.table import Table

from clubchat.sim import engine, radcad_model, scenarios

RUNS = 1000
DAYS = 5 * 365


def timed(fn) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Wall-clock and CPU seconds of one call (the machine is shared: CPU time is the steadier figure)."""
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--radcad-runs", type=int, default=2)
    ap.add_argument("--radcad-repeats", type=int, default=3)
    args = ap.parse_args()
    p = scenarios.get("baseline").params()

    def vectorised(record_every: int) -> None:
        arrays = engine.simulate(p, runs=RUNS, days=DAYS, seed=0, record_every=record_every)
        engine.to_frame(arrays, scenario="baseline")

    vec = [timed(lambda: vectorised(7)) for _ in range(args.repeats)]
    vec_daily = [timed(lambda: vectorised(1)) for _ in range(args.repeats)]
    rad = [
        timed(lambda: radcad_model.run(p, runs=args.radcad_runs, days=DAYS, seed=0))
        for _ in range(args.radcad_repeats)
    ]
    vec_s = statistics.median(w for w, _ in vec)
    vec_cpu = statistics.median(c for _, c in vec)
    vec_daily_s = statistics.median(w for w, _ in vec_daily)
    vec_daily_cpu = statistics.median(c for _, c in vec_daily)
    rad_per_run = statistics.median(w for w, _ in rad) / args.radcad_runs
    rad_cpu_per_run = statistics.median(c for _, c in rad) / args.radcad_runs
    rad_s = rad_per_run * RUNS
    ratio = rad_s / vec_daily_s
    ratio_cpu = rad_cpu_per_run * RUNS / vec_daily_cpu
    anchor = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores visible"
    rows = [
        {
            "metric": "vectorised 1000 runs x 5 y daily steps, weekly records (median)",
            "value": round(vec_s, 3),
            "unit": "s",
            "target": 20.0,
            "better": "lower",
            "anchor": anchor,
            "n": args.repeats,
        },
        {
            "metric": "vectorised 1000 runs x 5 y daily steps, daily records (median)",
            "value": round(vec_daily_s, 3),
            "unit": "s",
            "target": 20.0,
            "better": "lower",
            "anchor": anchor,
            "n": args.repeats,
        },
        {
            "metric": "vectorised, weekly records: CPU time (median)",
            "value": round(vec_cpu, 3),
            "unit": "s",
            "target": 20.0,
            "better": "lower",
            "anchor": "process CPU time",
            "n": args.repeats,
        },
        {
            "metric": "vectorised, daily records: CPU time (median)",
            "value": round(vec_daily_cpu, 3),
            "unit": "s",
            "target": 20.0,
            "better": "lower",
            "anchor": "process CPU time",
            "n": args.repeats,
        },
        {
            "metric": "radCAD per run x 5 y daily (median)",
            "value": round(rad_per_run, 3),
            "unit": "s",
            "target": None,
            "better": "lower",
            "anchor": f"{args.radcad_runs} runs per repeat, single process, deepcopy on",
            "n": args.radcad_repeats,
        },
        {
            "metric": "radCAD 1000 runs x 5 y daily (extrapolated)",
            "value": round(rad_s, 1),
            "unit": "s",
            "target": None,
            "better": "lower",
            "anchor": "per-run median x 1000",
            "n": args.radcad_repeats,
        },
        {
            "metric": "speed-up vectorised (daily records) / radCAD",
            "value": round(ratio, 1),
            "unit": "x",
            "target": 20.0,
            "better": "higher",
            "anchor": None,
            "n": min(args.repeats, args.radcad_repeats),
        },
        {
            "metric": "speed-up vectorised (daily records) / radCAD, CPU time",
            "value": round(ratio_cpu, 1),
            "unit": "x",
            "target": 20.0,
            "better": "higher",
            "anchor": "radCAD CPU per run x 1000 / vectorised CPU",
            "n": min(args.repeats, args.radcad_repeats),
        },
    ]
    table = Table(title="clubchat.sim speed (baseline, 1000 runs x 1825 daily steps)")
    for col in ("metric", "value", "unit", "target", "n"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["metric"], str(r["value"]), r["unit"], str(r["target"]), str(r["n"]))
    Console().print(table)
    md = [
        "# Simulation speed",
        "",
        "`python bench/bench_sim_speed.py` — baseline scenario, 1,000 Monte Carlo runs x 1,825 daily steps,",
        "built into the tidy DataFrame with weekly records (the CLI default) and with every day recorded",
        "(what radCAD always does; the speed-up compares these). Both engines execute the same blocks of",
        "`clubchat.sim.model`; radCAD (0.14, single process, deepcopy on) runs "
        f"{args.radcad_runs} runs per repeat and is extrapolated per run to 1,000 runs.",
        f"Medians of {args.repeats} (vectorised) and {args.radcad_repeats} (radCAD) repeats; {anchor};",
        "the machine is shared, so wall-clock times vary with its load.",
        "",
        "| metric | value | unit | target |",
        "|---|---:|---|---:|",
        *[f"| {r['metric']} | {r['value']} | {r['unit']} | {r['target'] or ''} |" for r in rows],
        "",
    ]
    write_report("sim_speed", rows, "\n".join(md))


if __name__ == "__main__":
    main()
