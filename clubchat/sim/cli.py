"""`club sim run|list|sensitivity|kinds|loop|whitepaper`: Monte Carlo runs, tables, figures, rankings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from clubchat.sim import api, parameters, scenarios
from clubchat.sim.parameters import YEAR_DAYS


def _parse_sweep(items: tuple[str, ...]) -> dict[str, list[Any]]:
    sweep: dict[str, list[Any]] = {}
    for item in items:
        name, sep, values = item.partition("=")
        if not sep or not values:
            raise click.BadParameter(
                f"{item!r}: write --sweep name=v1,v2 (tuples as a/b/c)", param_hint="--sweep"
            )
        try:
            sweep[name] = [parameters.coerce(name, v) for v in values.split(",")]
        except (KeyError, ValueError) as exc:
            raise click.BadParameter(str(exc).strip("'\""), param_hint="--sweep") from None
    return sweep


def _parquet_available() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def write_table(df: pd.DataFrame, stem: Path, fmt: str, console: Console) -> Path:
    """Write the results as Parquet (pyarrow) or CSV; fall back to CSV when pyarrow cannot load."""
    if fmt == "auto":
        fmt = "parquet" if _parquet_available() else "csv"
    if fmt == "parquet":
        try:
            path = stem.with_suffix(".parquet")
            df.to_parquet(path, index=False)
            return path
        except ImportError as exc:
            console.print(f"[yellow]Parquet unavailable ({exc}); writing CSV instead — use --format csv.")
    path = stem.with_suffix(".csv")
    df.to_csv(path, index=False)
    return path


@click.group("sim")
def sim() -> None:
    """Economic simulation: supply, staking, node economics, markets and attack costs."""


@sim.command("list")
@click.option("--params", "show_params", is_flag=True, help="Also list every simulation parameter.")
def list_cmd(show_params: bool) -> None:
    """List the scenarios (and with --params the parameters you can sweep)."""
    console = Console()
    t = Table(title="scenarios")
    t.add_column("name")
    t.add_column("description")
    t.add_column("overrides")
    for sc in scenarios.SCENARIOS.values():
        t.add_row(sc.name, sc.description, ", ".join(f"{k}={v}" for k, v in sc.overrides.items()) or "-")
    console.print(t)
    if show_params:
        base = parameters.from_parameters()
        pt = Table(title="parameters (--sweep name=v1,v2)")
        pt.add_column("name", no_wrap=True)
        for col in ("baseline", "unit", "source", "why"):
            pt.add_column(col)
        for row in parameters.describe():
            pt.add_row(row["name"], str(getattr(base, row["name"])), row["unit"], row["source"], row["why"])
        console.print(pt)


@sim.command("run")
@click.argument("scenario", type=click.Choice(list(scenarios.SCENARIOS)))
@click.option("--runs", default=1000, show_default=True, type=click.IntRange(min=1), help="Monte Carlo runs.")
@click.option("--years", default=5.0, show_default=True, type=click.FloatRange(min=0, min_open=True))
@click.option("--seed", default=0, show_default=True, type=int, help="Root seed (same seed, same numbers).")
@click.option("--sweep", multiple=True, help="name=v1,v2 — repeat for a Cartesian grid.")
@click.option("--record-every", default=7, show_default=True, type=click.IntRange(min=1), help="Days.")
@click.option("--out", "out_dir", default="sim-out", show_default=True, type=click.Path(path_type=Path))
@click.option(
    "--format", "fmt", type=click.Choice(["auto", "parquet", "csv"]), default="auto", show_default=True,
    help="auto: Parquet when pyarrow loads, else CSV.",
)  # fmt: skip
@click.option("--figures/--no-figures", default=True, show_default=True, help="Write PNG and SVG figures.")
@click.option(
    "--workers", default=1, show_default=True, type=click.IntRange(min=1), help="Processes for sweeps."
)
def run_cmd(
    scenario: str,
    runs: int,
    years: float,
    seed: int,
    sweep: tuple[str, ...],
    record_every: int,
    out_dir: Path,
    fmt: str,
    figures: bool,
    workers: int,
) -> None:
    """Run SCENARIO's Monte Carlo; write the tidy results table, a summary and figures to --out."""
    grid = _parse_sweep(sweep)
    n_subsets = 1
    for values in grid.values():
        n_subsets *= len(values)
    days = round(years * YEAR_DAYS)
    console = Console()
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(), console=console,
    ) as bar:  # fmt: skip
        task = bar.add_task(f"{scenario}: {n_subsets} x {runs} runs x {days} days", total=n_subsets * days)

        def progress(subset: int, day: int) -> None:
            if day % 30 == 0 or day == days:
                bar.update(task, completed=subset * days + day)

        df = api.run(scenario, runs=runs, years=years, seed=seed, sweep=grid, record_every=record_every,
                     progress=progress, workers=workers)  # fmt: skip
    out_dir.mkdir(parents=True, exist_ok=True)
    data_path = write_table(df, out_dir / scenario, fmt, console)
    summ = api.summary(df)
    summ.to_csv(out_dir / f"{scenario}-summary.csv", index=False)
    table = Table(title=f"{scenario}: after {years:g} years, percentiles over {runs} runs")
    for col in ("subset", "metric", "p5", "p50", "p95"):
        table.add_column(col, justify="right" if col in ("p5", "p50", "p95") else "left")
    for r in summ.itertuples():
        table.add_row(str(r.subset), str(r.label), f"{r.p5:,.4g}", f"{r.p50:,.4g}", f"{r.p95:,.4g}")
    console.print(table)
    if grid:
        subsets = df.groupby("subset")[list(grid)].first()
        console.print(subsets.to_string())
    written = [data_path, out_dir / f"{scenario}-summary.csv"]
    if figures:
        from clubchat.sim import plots

        written += plots.scenario_figures(df, out_dir, scenario)
    console.print("wrote " + ", ".join(str(w) for w in written))


@sim.command("sensitivity")
@click.option("--method", type=click.Choice(["oat", "morris", "both"]), default="both", show_default=True)
@click.option("--runs", default=32, show_default=True, type=click.IntRange(min=1), help="Runs per point.")
@click.option("--years", default=5.0, show_default=True, type=click.FloatRange(min=0, min_open=True))
@click.option("--trajectories", default=6, show_default=True, type=click.IntRange(min=1), help="Morris r.")
@click.option("--seed", default=0, show_default=True, type=int)
def sensitivity_cmd(method: str, runs: int, years: float, trajectories: int, seed: int) -> None:
    """Rank the assumptions that drive each headline number (one-at-a-time and Morris screening)."""
    from clubchat.sim import sensitivity

    console = Console()
    p = scenarios.get("baseline").params()
    factors = sensitivity.FACTORS
    model = sensitivity.headline_model(p, factors, runs=runs, years=years, seed=seed)
    if method in ("oat", "both"):
        oat = sensitivity.one_at_a_time(model, factors, sensitivity.baseline_position(p, factors))
        t = Table(title=f"one at a time: swing (high - low) / baseline at year {years:g}")
        t.add_column("factor")
        for out in sensitivity.OUTPUTS:
            t.add_column(out, justify="right")
        for name, g in oat.groupby("factor", sort=False):
            t.add_row(str(name), *(f"{v:+.2f}" for v in g["swing"]))
        console.print(t)
    if method in ("morris", "both"):
        mu, _ = sensitivity.morris(model, len(factors), r=trajectories, seed=seed)
        rank = sensitivity.ranking(mu, factors)
        t = Table(title=f"Morris mu* (log outputs, {trajectories} trajectories): top drivers")
        for col in rank.columns:
            t.add_column(col)
        for row in rank.itertuples(index=False):
            t.add_row(*(str(v) for v in row))
        console.print(t)


@sim.command("kinds")
@click.option("--runs", default=200, show_default=True, type=click.IntRange(min=1), help="Runs per design.")
@click.option("--years", default=5, show_default=True, type=click.IntRange(min=1))
@click.option(
    "--split",
    default=None,
    help="A per-kind split RELAY/TURN/NOTIFY to compare with the deployed registry.kind_reward_bps "
    "(e.g. 0.5/0.3/0.2) [default: chosen on a 0.1 grid].",
)
@click.option("--select-runs", default=100, show_default=True, type=click.IntRange(min=1))
def kinds_cmd(runs: int, years: int, split: str | None, select_runs: int) -> None:
    """Compare registry designs for paying each node kind (and choose the per-kind split)."""
    from clubchat.sim import kinds

    console = Console()
    chosen: tuple[float, ...]
    if split is None:
        with console.status("scoring every split on the grid in every environment"):
            choice = kinds.select_split(runs=select_runs, years=years)
        chosen = choice.split
        w = choice.worst(chosen)
        console.print(
            f"chosen split {'/'.join(f'{x:g}' for x in chosen)}: worst environment {w.scenario}, "
            f"{100 * w.served:.0f} % of run-days served"
        )
    else:
        try:
            chosen = tuple(float(x) for x in split.split("/"))
            from clubchat.sim.model import fractions

            fractions("--split", chosen)
        except ValueError as exc:
            text = (
                str(exc) if "fractions summing" in str(exc) else f"{split!r}: write three fractions as a/b/c"
            )
            raise click.BadParameter(text, param_hint="--split") from None
    with console.status("running every design in every environment"):
        rows = kinds.table(kinds.compare(chosen, runs=runs, years=years))
    t = Table(title=f"node rewards per kind: year {years}")
    for col in rows[0]:
        t.add_column(col)
    for row in rows:
        t.add_row(*row.values())
    console.print(t)


@sim.command("loop")
@click.argument("scenario", type=click.Choice(list(scenarios.SCENARIOS)))
@click.option("--epochs", default=26, show_default=True, type=click.IntRange(min=1), help="Emission epochs.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option(
    "--run", "run_id", default=1, show_default=True, type=click.IntRange(min=1), help="Run to replay."
)
@click.option("--out", "out_dir", default="sim-out", show_default=True, type=click.Path(path_type=Path))
def loop_cmd(scenario: str, epochs: int, seed: int, run_id: int, out_dir: Path) -> None:
    """Replay one run of SCENARIO on the real contracts (titanoboa) and compare with the model."""
    import boa

    from clubchat.sim import loop

    console = Console()
    status = f"deploying the protocol and replaying {epochs} epochs of {scenario} run {run_id}"
    with console.status(status), boa.env.anchor():
        result = loop.replay(scenario, epochs=epochs, seed=seed, run=run_id)
    df = result.frame()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{scenario}-loop.csv"
    df.to_csv(path, index=False)
    last = df.iloc[-1]
    keys = loop.KEYS + (loop.STAKING_KEYS if result.staking_in_loop else ())
    table = Table(title=f"{scenario} run {run_id}: chain vs model after {epochs} epochs (CLUB)")
    for col in ("quantity", "chain", "model", "relative difference"):
        table.add_column(col, justify="left" if col == "quantity" else "right")
    for k in keys:
        chain, model = float(last[f"{k}_chain"]), float(last[f"{k}_model"])
        table.add_row(
            k, f"{chain / 1e18:,.4f}", f"{model / 1e18:,.4f}", loop.relative_difference(chain, model)
        )
    console.print(table)
    bad = result.mismatches()
    if not result.staking_in_loop:
        console.print("[yellow]NodeRegistry is not in this deployment: staking was not replayed.")
    if bad:
        console.print("[red]" + "\n".join(bad[:20]))
        raise click.ClickException(f"{len(bad)} comparison(s) outside tolerance; see {path}")
    tol = f"relative tolerance {loop.REL_TOL:g}, exact mirrors to the wei"
    if result.staking_in_loop:
        tol += f"; NodeRegistry's {result.reward_rule} with nodes {', '.join(result.node_kinds)}"
    console.print(f"model and contracts agree ({tol}); wrote {path}")


def _replay_options(days_help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """SCENARIO, --days, --seed, --run and --out: the options every contracts-in-the-loop replay takes."""

    def apply(f: Callable[..., Any]) -> Callable[..., Any]:
        positive = click.IntRange(min=1)
        for option in (
            click.option(
                "--out", "out_dir", default="sim-out", show_default=True, type=click.Path(path_type=Path)
            ),
            click.option(
                "--run", "run_id", default=1, show_default=True, type=positive, help="Run to replay."
            ),
            click.option("--seed", default=0, show_default=True, type=int),
            click.option("--days", default=7, show_default=True, type=positive, help=days_help),
            click.argument("scenario", type=click.Choice(list(scenarios.SCENARIOS))),
        ):
            f = option(f)
        return f

    return apply


@sim.command("ads-loop")
@_replay_options("Days of campaigns.")
@click.option("--users", default=20, show_default=True, type=click.IntRange(min=1), help="Panel users.")
def ads_loop_cmd(scenario: str, days: int, users: int, seed: int, run_id: int, out_dir: Path) -> None:
    """Replay SCENARIO's ad market as AdMarket campaigns and settlements (titanoboa), compare to the wei."""
    from clubchat.sim import ads_replay

    result = ads_replay.replay_with_report(scenario, days=days, users=users, seed=seed, run=run_id)
    _write_replay(result, ads_replay.report_markdown(result), out_dir / f"{scenario}-ads-loop.csv")


def _write_replay(result: Any, report: str, path: Path) -> None:
    """A replay's per-day rows to `path` (CSV), its report printed; an error if anything disagrees."""
    path.parent.mkdir(parents=True, exist_ok=True)
    result.frame().to_csv(path, index=False)
    Console().print(report)
    if result.mismatches():
        raise click.ClickException(f"{len(result.mismatches())} comparison(s) outside tolerance; see {path}")


@sim.command("premium-loop")
@_replay_options("Days of payments.")
@click.option(
    "--renewals", default=4, show_default=True, type=click.IntRange(min=1), help="Subscriptions paid a day."
)
def premium_loop_cmd(scenario: str, days: int, renewals: int, seed: int, run_id: int, out_dir: Path) -> None:
    """Replay SCENARIO's premium payments and creation fees on Premium and Communities, compare to the wei."""
    from clubchat.sim import premium_replay

    result = premium_replay.replay_with_report(scenario, days=days, renewals=renewals, seed=seed, run=run_id)
    _write_replay(result, premium_replay.report_markdown(result), out_dir / f"{scenario}-premium-loop.csv")


@sim.command("whitepaper")
@click.option(
    "--out",
    "out_dir",
    default=None,
    type=click.Path(path_type=Path),
    help="Directory [default: whitepaper/].",
)
@click.option("--runs", default=1000, show_default=True, type=click.IntRange(min=1), help="Baseline runs.")
@click.option(
    "--sweep-runs", default=300, show_default=True, type=click.IntRange(min=1), help="Runs per sweep point."
)
@click.option(
    "--years", default=5.0, show_default=True, type=click.FloatRange(min=1.0), help="Years simulated."
)
def whitepaper_cmd(out_dir: Path | None, runs: int, sweep_runs: int, years: float) -> None:
    """Regenerate the token whitepaper (Markdown, HTML, figures) from the parameters file and the model."""
    from clubchat.sim import whitepaper

    with Console().status("running the model, the sweeps and the contracts in the loop"):
        path = whitepaper.build(out_dir or whitepaper.OUT_DIR, runs=runs, sweep_runs=sweep_runs, years=years)
    click.echo(f"wrote {path}")
