"""Vectorised Monte Carlo engine: all runs of a parameter set advance together as numpy arrays.

cadCAD/radCAD execute one run at a time and copy the state dict at every substep; here one
timestep applies each block of `clubchat.sim.model.BLOCKS` to arrays of shape (runs,) — the
same pure functions, so the Python overhead is paid once per day, not once per run and day.

Randomness: every run owns a numpy Generator seeded from
SeedSequence([seed, crc32(scenario), subset]).spawn(runs)[run]; run r's shocks are exactly the
numbers radCAD's run r draws one day at a time, so both engines give identical paths.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from clubchat.sim import kindsets
from clubchat.sim.model import BLOCKS, N_SHOCKS, PER_KIND, RECORDED, State, burned, make_context
from clubchat.sim.parameters import KINDS, YEAR_DAYS, SimParams

Progress = Callable[[int], None]


def seed_sequences(seed: int, scenario: str, subset: int, runs: int) -> list[np.random.SeedSequence]:
    """One independent, reproducible seed per (scenario, subset, run)."""
    root = np.random.SeedSequence([seed, zlib.crc32(scenario.encode()), subset])
    return root.spawn(runs)


def draw_shocks(seqs: Sequence[np.random.SeedSequence], n_days: int) -> npt.NDArray[np.float64]:
    """Standard normal shocks, shape (days, runs, N_SHOCKS); run r's column is its generator's stream."""
    out = np.empty((n_days, len(seqs), N_SHOCKS))
    for r, seq in enumerate(seqs):  # one generator per run, drawn in day order
        out[:, r, :] = np.random.default_rng(seq).standard_normal((n_days, N_SHOCKS))
    return out


class InvariantViolation(AssertionError):
    """A model invariant failed on some run and day: the run is wrong, not merely unlikely."""


# Relative slack of the invariants (float64 sums of ~1e9 CLUB carry ~1e-16 relative error).
INVARIANT_RTOL = 1e-9


def check_invariants(p: SimParams, s: State, day: int) -> None:
    """Checked after every simulated day of every run; raises InvariantViolation naming the first offender.

    - supply conservation: total = genesis + emitted - burned (premium, ads, slashing, creation fees) <= cap;
    - the registry's minimum: self-stake >= declared kinds x minimum self-stake (a node serving several
      kinds counts in each kind's node count), and delegated <= multiple x self-stake;
    - what is staked or unbonding is circulating: staked + unbonding <= circulating;
    - each kind's node count is the number of nodes declaring it (clubchat.sim.kindsets), none negative.
    """
    total = s["total_supply"]
    scale = INVARIANT_RTOL * p.cap
    checks = (
        ("supply conservation", np.abs(total - (p.genesis_total + s["emitted"] - burned(s))) <= scale),
        ("supply <= cap", total <= p.cap + scale),
        (
            "staked >= nodes x minimum",
            s["self_stake"] >= s["nodes"].sum(axis=-1) * p.min_self_stake * (1 - INVARIANT_RTOL),
        ),
        ("self-stake <= staked", s["self_stake"] <= s["staked"] * (1 + INVARIANT_RTOL)),
        # a node declaring several kinds counts in each; no kind set holds a negative count
        (
            "kind counts follow the kind sets",
            (
                np.abs(s["nodes"] - kindsets.per_kind(s["nodes_by_set"])) <= 1e-9 * s["operators"][..., None]
            ).all(axis=-1)
            & (s["nodes_by_set"] >= 0).all(axis=-1),
        ),
        (
            "delegated <= multiple x self-stake",
            s["staked"] - s["self_stake"] <= p.saturation_multiple * s["self_stake"] * (1 + INVARIANT_RTOL),
        ),
        (
            "staked + unbonding <= circulating",
            s["staked"] + s["unbonding"] <= s["circulating"] * (1 + INVARIANT_RTOL),
        ),
    )
    for name, ok in checks:
        bad = np.flatnonzero(~np.asarray(ok).reshape(-1))
        if bad.size:
            raise InvariantViolation(f"day {day}, run {int(bad[0]) + 1}: invariant '{name}' fails")


def _broadcast(s: State, runs: int) -> State:
    out: State = {}
    for k, v in s.items():
        a = np.asarray(v, dtype=np.float64)
        out[k] = np.broadcast_to(a, (runs, *a.shape)).copy()
    return out


def simulate(
    p: SimParams,
    *,
    runs: int,
    days: int,
    seed: int = 0,
    scenario: str = "baseline",
    subset: int = 0,
    record_every: int = 7,
    progress: Progress | None = None,
) -> dict[str, npt.NDArray[np.float64]]:
    """Run `runs` Monte Carlo runs for `days` days; returns arrays (records, runs[, kinds]) plus `day`."""
    ctx = make_context(p, days)
    from clubchat.sim.model import initial_state  # local: keeps the import graph one-way

    s = _broadcast(initial_state(p, ctx), runs)
    shocks = draw_shocks(seed_sequences(seed, scenario, subset, runs), days)
    record_days = np.unique(np.r_[np.arange(0, days + 1, record_every), days])
    out = _record_arrays(len(record_days), runs)
    slot = 0

    def record(day: int) -> None:
        nonlocal slot
        if slot < len(record_days) and record_days[slot] == day:
            for k in RECORDED:
                out[k][slot] = s[k]
            slot += 1

    check_invariants(p, s, 0)
    record(0)
    for t in range(1, days + 1):
        z = shocks[t - 1]
        for block in BLOCKS:
            sig: dict[str, Any] = {}
            for pol in block.policies.values():
                sig.update(pol(p, ctx, s, t, z))
            s.update({k: upd(p, ctx, s, sig) for k, upd in block.updates.items()})
        check_invariants(p, s, t)
        record(t)
        if progress is not None:
            progress(t)
    out["day"] = record_days.astype(np.float64)
    return out


# The recorded variables as table columns (per-kind ones split), in `to_frame`'s order.
FRAME_COLUMNS: tuple[str, ...] = tuple(
    c for k in RECORDED for c in ([f"{k}_{kind.lower()}" for kind in KINDS] if k in PER_KIND else [k])
)


def _record_arrays(n_rec: int, runs: int) -> dict[str, npt.NDArray[np.float64]]:
    """The record arrays, (records, runs[, kinds]) each, as views into one block laid out column by
    column like the table `to_frame` builds, so that it wraps the block instead of copying it."""
    block = np.empty((len(FRAME_COLUMNS), n_rec, runs))
    out: dict[str, npt.NDArray[np.float64]] = {}
    col = 0
    for k in RECORDED:
        if k in PER_KIND:
            out[k] = block[col : col + len(KINDS)].transpose(1, 2, 0)
            col += len(KINDS)
        else:
            out[k] = block[col]
            col += 1
    return out


def _frame_block(arrays: Mapping[str, npt.NDArray[np.float64]], n_rec: int, runs: int) -> Any:
    """The (rows, columns) float table of the recorded variables: a view of `simulate`'s block when the
    arrays are its views, else a copy."""
    base = arrays[RECORDED[0]].base
    shape = (len(FRAME_COLUMNS), n_rec, runs)
    if isinstance(base, np.ndarray) and base.shape == shape and all(arrays[k].base is base for k in RECORDED):
        return base.reshape(len(FRAME_COLUMNS), n_rec * runs).T
    cols = []
    for k in RECORDED:
        a = arrays[k]
        cols.extend([a[:, :, i].ravel() for i in range(len(KINDS))] if k in PER_KIND else [a.ravel()])
    return np.stack(cols, axis=1)


def to_frame(
    arrays: Mapping[str, npt.NDArray[np.float64]],
    *,
    scenario: str,
    subset: int = 0,
    sweep: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Tidy table: one row per (run, recorded day), one column per variable (per-kind ones split)."""
    days = arrays["day"]
    n_rec, runs = arrays["price_usd"].shape
    df = pd.DataFrame(_frame_block(arrays, n_rec, runs), columns=list(FRAME_COLUMNS), copy=False)
    day = np.repeat(days, runs).astype(np.int32)
    lead: dict[str, Any] = {
        "scenario": pd.Categorical.from_codes(np.zeros(n_rec * runs, dtype=np.int8), [scenario]),
        "subset": np.full(n_rec * runs, subset, dtype=np.int32),
        "run": np.tile(np.arange(1, runs + 1, dtype=np.int32), n_rec),
        "day": day,
        "year": day / YEAR_DAYS,
    }
    for i, (name, values) in enumerate(lead.items()):
        df.insert(i, name, values)
    for name, value in (sweep or {}).items():
        df[name] = str(value) if isinstance(value, tuple) else value
    return df


@dataclass(frozen=True)
class Subset:
    """One point of a sweep: its index and the parameter values it changes."""

    index: int
    changes: dict[str, Any]


def cartesian(sweep: Mapping[str, Iterable[Any]] | None) -> list[Subset]:
    """Explicit Cartesian grid of parameter changes (cadCAD's sweep, but every combination)."""
    if not sweep:
        return [Subset(0, {})]
    names = list(sweep)
    grid = itertools.product(*(list(sweep[n]) for n in names))
    return [Subset(i, dict(zip(names, values, strict=True))) for i, values in enumerate(grid)]


def _subset_frame(
    base: SimParams, sub: Subset, scenario: str, runs: int, days: int, seed: int, record_every: int,
    progress: Progress | None = None,
) -> pd.DataFrame:  # fmt: skip
    p = base.replace(**sub.changes) if sub.changes else base
    arrays = simulate(
        p, runs=runs, days=days, seed=seed, scenario=scenario, subset=sub.index,
        record_every=record_every, progress=progress,
    )  # fmt: skip
    return to_frame(arrays, scenario=scenario, subset=sub.index, sweep=sub.changes)


def monte_carlo(
    base: SimParams,
    *,
    scenario: str,
    runs: int,
    days: int,
    seed: int = 0,
    sweep: Mapping[str, Iterable[Any]] | None = None,
    record_every: int = 7,
    progress: Callable[[int, int], None] | None = None,
    workers: int = 1,
) -> pd.DataFrame:
    """Every subset of the sweep x `runs` runs, as one tidy DataFrame.

    Runs of a subset are vectorised; with `workers` > 1 the subsets of a sweep run in that many
    processes (results are identical: every subset has its own seeds). Progress is then
    reported per finished subset instead of per day.
    """
    subsets = cartesian(sweep)
    if workers > 1 and len(subsets) > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [
                pool.submit(_subset_frame, base, sub, scenario, runs, days, seed, record_every)
                for sub in subsets
            ]
            frames = []
            for sub, fut in zip(subsets, futures, strict=True):
                frames.append(fut.result())
                if progress is not None:
                    progress(sub.index, days)
    else:
        frames = []
        for sub in subsets:

            def tick(t: int, i: int = sub.index) -> None:
                if progress is not None:
                    progress(i, t)

            frames.append(_subset_frame(base, sub, scenario, runs, days, seed, record_every, tick))
    out = pd.concat(frames, ignore_index=True)
    out["scenario"] = out["scenario"].astype("category")
    return out
