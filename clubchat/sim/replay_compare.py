"""What the contracts-in-the-loop replays share: the model run and the deployment they start from, and
the comparison of per-day rows of chain, exact-mirror and float-model values, every disagreement as
one readable line."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import pandas as pd

from clubchat.deploy import boa_backend
from clubchat.params import Parameters
from clubchat.params import load as load_parameters
from clubchat.sim import engine, scenarios
from clubchat.sim.parameters import SimParams


def mismatches(
    rows: Iterable[dict[str, Any]], keys: Iterable[str], rel_tol: float, max_wei: int
) -> list[str]:
    """Every `<key>_chain` further than `max_wei` from `<key>_exact`, or (where a row has one) further
    than `rel_tol` relative from `<key>_model`, as "day d: key chain x vs ..." (empty = agreement)."""
    out = []
    keys = tuple(keys)
    for r in rows:
        for key in keys:
            chain, exact = r[f"{key}_chain"], r[f"{key}_exact"]
            if abs(chain - exact) > max_wei:
                out.append(f"day {r['day']}: {key} chain {chain} vs exact mirror {exact}")
            model = r.get(f"{key}_model")
            if model is not None and abs(chain - model) > rel_tol * max(abs(chain), 1):
                out.append(f"day {r['day']}: {key} chain {chain} vs model {model:.0f} (rel tol {rel_tol})")
    return out


class DailyRows:
    """Mixin of a replay's result: `rows` (one dict a day) compared on the class's `KEYS`."""

    KEYS: ClassVar[tuple[str, ...]]
    REL_TOL: ClassVar[float] = 1e-9
    rows: list[dict[str, Any]]

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)

    def mismatches(self, rel_tol: float | None = None, max_wei: int = 0) -> list[str]:
        """Every comparison outside tolerance (default: the class's REL_TOL, to the wei), one line each."""
        return mismatches(self.rows, self.KEYS, self.REL_TOL if rel_tol is None else rel_tol, max_wei)

    def verdict(self, float_keys: str) -> str:
        """ "agree to the wei (...)" or "DISAGREE: " with the first ten mismatches named."""
        bad = self.mismatches()
        if not bad:
            return f"agree to the wei (the float model within a relative {self.REL_TOL:g} on {float_keys})"
        return "DISAGREE: " + "; ".join(bad[:10]) + (f" (and {len(bad) - 10} more)" if len(bad) > 10 else "")

    def totals_table(self, units: str) -> str:
        """A Markdown table of each key's totals over the days: chain vs the exact mirror."""

        def total(column: str) -> int:  # Python ints: a week of wei sums overflows int64
            return sum(int(r[column]) for r in self.rows)

        return "\n".join(
            [f"| quantity | contracts ({units}) | model, exact mirror |", "|---|---|---|"]
            + [
                f"| {k.replace('_', ' ')} | {total(f'{k}_chain'):,} | {total(f'{k}_exact'):,} |"
                for k in self.KEYS
            ]
        )


def model_run(
    scenario: str, params: Parameters | None, overrides: dict[str, Any] | None, days: int, seed: int, run: int
) -> tuple[Parameters, SimParams, dict[str, Any]]:
    """(parameters, the model's SimParams with `overrides`, its daily path) of one (scenario, seed, run)."""
    params = params or load_parameters()
    p = scenarios.get(scenario).params(params)
    if overrides:
        p = dataclasses.replace(p, **overrides)
    return params, p, engine.simulate(p, runs=run, days=days, seed=seed, scenario=scenario, record_every=1)


def deploy(params: Parameters, deployer_label: str, deploy_all: Callable[..., Any] | None = None) -> Any:
    """The protocol the deploy plan builds, in the current boa environment (titanoboa, imported lazily)."""
    import boa

    deployer = str(boa.env.generate_address(deployer_label))
    with warnings.catch_warnings():  # escrows are proxies of VestingEscrow (see clubchat.sim.loop)
        warnings.filterwarnings("ignore", message="casted bytecode does not match", category=UserWarning)
        return (deploy_all or boa_backend.deploy_all)(params, deployer)
