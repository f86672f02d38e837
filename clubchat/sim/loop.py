"""Contracts in the loop: replay a scenario's run on the real contracts in titanoboa and compare.

The protocol is deployed with the same plan as `ape run deploy` (tests/utils/deployer.py's
`deploy_all`). Then, day by day for `epochs` emission epochs, agents act on chain the way the
model says they do:

* a keeper calls `Emission.advance()` when an epoch is due (and earns the tip);
* vesting beneficiaries claim from their escrows every `claim_every_days`;
* a "payments" agent (standing in for the premium and ad-market contracts of a later issue)
  burns, with `ClubToken.burn`, exactly the CLUB the model burns for premium and ads in the
  replayed run (it is funded by the ecosystem allocation's claims);
* when the deployment contains `NodeRegistry`, operators and delegators stake (not yet wired:
  see `LoopResult.staking_in_loop`).

At every epoch boundary the chain is read and compared with (a) the float model of
`clubchat.sim` for the same (scenario, seed, run) and (b) the exact wei mirrors in
`clubchat.sim.schedules`. `LoopResult.mismatches(...)` lists every comparison outside the
tolerance; the test tests/sim/test_contracts_agree.py fails on any.

titanoboa is a development dependency: this module imports it lazily.
"""

from __future__ import annotations

import importlib.util
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from clubchat.params import BPS, DAY, REPO_ROOT, WAD, Parameters
from clubchat.params import load as load_parameters
from clubchat.sim import engine, scenarios, schedules

# Stated tolerances: the float model may differ from the chain by REL_TOL of the value
# (float64 on ~1e27-wei quantities carries ~1e-16; the contract's rounding is a few wei per call),
# the exact mirrors must match to MAX_WEI_DIFF wei.
REL_TOL = 1e-9
MAX_WEI_DIFF = 0


@dataclass
class LoopResult:
    """One row per epoch boundary: chain values, model values and exact mirrors (all in wei)."""

    scenario: str
    seed: int
    run: int
    epochs: int
    rows: list[dict[str, Any]] = field(default_factory=list)
    staking_in_loop: bool = False

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)

    def mismatches(self, rel_tol: float = REL_TOL, max_wei: int = MAX_WEI_DIFF) -> list[str]:
        """Every comparison outside tolerance, as one readable line each (empty = agreement)."""
        out = []
        for r in self.rows:
            for key in ("total_supply", "emitted", "vested", "node_rewards", "burned"):
                chain, model, exact = r[f"{key}_chain"], r[f"{key}_model"], r.get(f"{key}_exact")
                if abs(chain - model) > rel_tol * max(abs(chain), 1):
                    out.append(
                        f"day {r['day']}: {key} chain {chain} vs model {model:.0f} (rel tol {rel_tol})"
                    )
                if exact is not None and abs(chain - exact) > max_wei:
                    out.append(f"day {r['day']}: {key} chain {chain} vs exact mirror {exact}")
        return out


def _boa_deployer() -> Any:
    """tests/utils/deployer.py (the boa backend of the deploy plan) from the checkout.

    Loaded by path: it is not part of the installed package, and a third-party wheel in this
    environment ships a top-level `tests` package that would shadow the repository's.
    """
    name = "tests.utils.deployer"
    if name in sys.modules and hasattr(sys.modules[name], "deploy_all"):
        return sys.modules[name]
    path = REPO_ROOT / "tests" / "utils" / "deployer.py"
    spec = importlib.util.spec_from_file_location("clubchat_sim_boa_deployer", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}; contracts in the loop need a repository checkout")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _actor(boa: Any, name: str) -> str:
    return str(boa.env.generate_address(name))


def replay(
    scenario: str = "baseline",
    *,
    epochs: int = 30,
    seed: int = 0,
    run: int = 1,
    claim_every_days: int = 7,
    params: Parameters | None = None,
    deploy: Callable[..., Any] | None = None,
) -> LoopResult:
    """Deploy the protocol in the current boa environment and replay `epochs` epochs of `scenario`.

    Run this inside `boa.env.anchor()` (the test plugin does it per test) to leave no state behind.
    """
    import boa

    boa_deployer = _boa_deployer()
    if deploy is None:
        deploy = boa_deployer.deploy_all

    params = params or load_parameters()
    p = scenarios.get(scenario).params(params)
    e = params.emission
    epoch_days = e.epoch_seconds // DAY
    if e.epoch_seconds % DAY:
        raise ValueError("the loop steps whole days; emission.epoch_seconds must be a multiple of a day")
    days = epochs * epoch_days

    # The model: run `run` of (scenario, seed), every day recorded.
    model = engine.simulate(p, runs=run, days=days, seed=seed, scenario=scenario, record_every=1)
    col = run - 1
    burned_model = model["burned_premium"][:, col] + model["burned_ads"][:, col]
    # Slashing burns need the registry in the loop; until then the model side leaves them out.
    total_model = p.genesis_total + model["emitted"][:, col] - burned_model

    deployer, keeper, payer = (_actor(boa, n) for n in ("loop-deployer", "loop-keeper", "loop-payer"))
    beneficiaries = {a.name: _actor(boa, f"loop-{a.name}") for a in params.genesis.vesting}
    dep = deploy(params, deployer, beneficiaries)
    token, emission = dep["ClubToken"], dep["Emission"]
    escrow_factory = boa_deployer.deployer_for("VestingEscrow")
    with warnings.catch_warnings():  # escrows are EIP-1167 proxies: boa warns the bytecode differs
        warnings.simplefilter("ignore", UserWarning)
        escrows = {name: escrow_factory.at(addr) for name, addr in dep.escrows.items()}
    genesis = dep.genesis_time
    weights = [int(w) for w in emission.weights()]
    node_idx = next(i for i, r in enumerate(params.emission.receivers) if r.name == "node_rewards")
    res = LoopResult(scenario, seed, run, epochs, staking_in_loop=False)

    exact_node_rewards = 0
    node_rewards_chain = 0
    burned_chain = 0
    genesis_wei = params.genesis.total_wei
    funder = "ecosystem" if "ecosystem" in beneficiaries else next(iter(beneficiaries))
    for day in range(1, days + 1):
        target = genesis + day * DAY
        now = int(boa.env.evm.patch.timestamp)
        if target > now:
            boa.env.time_travel(seconds=target - now)
        if day % epoch_days == 0:
            due = emission.epochs_due()
            before_emitted = emission.emitted()
            with boa.env.prank(keeper):
                emission.advance()
            # The node share as the chain reports it: Distributed events come in receiver order,
            # so the node receiver's event is told apart even when it shares an address.
            distributed = [ev for ev in emission.get_logs() if type(ev).__name__ == "Distributed"]
            if distributed:
                node_rewards_chain += int(distributed[node_idx].amount)
            amount = emission.emitted() - before_emitted
            tip = min(e.tip_wei * due, amount)
            rest = amount - tip
            paid = 0
            for i, w in enumerate(weights):  # the contract's split: round down, dust to the last
                share = rest - paid if i == len(weights) - 1 else rest * w // BPS
                paid += share
                if i == node_idx:
                    exact_node_rewards += share
        if day % claim_every_days == 0:
            for name, escrow in escrows.items():
                if escrow.claimable() > 0:
                    with boa.env.prank(beneficiaries[name]):
                        escrow.claim()
            # Payments for this period: the model's premium + ad burns, executed on chain.
            want = int(burned_model[day] * WAD) - burned_chain
            if want > 0:
                with boa.env.prank(beneficiaries[funder]):
                    token.transfer(payer, want)
                with boa.env.prank(payer):
                    token.burn(want)
                burned_chain += want
        if day % epoch_days == 0:
            k = day // epoch_days
            vested_chain = sum(int(x.vested()) for x in escrows.values())
            vested_exact = sum(
                schedules.vested_wei(
                    a.amount_wei, genesis, a.cliff_seconds, a.duration_seconds, genesis + day * DAY
                )
                for a in params.genesis.vesting
            )
            emitted_exact = schedules.cumulative_emission_wei(
                params.emission_reserve_wei, e.rate_per_epoch_wad, k
            )
            res.rows.append(
                {
                    "day": day,
                    "epoch": k,
                    "total_supply_chain": int(token.totalSupply()),
                    "total_supply_model": float(total_model[day]) * WAD,
                    "total_supply_exact": genesis_wei + emitted_exact - burned_chain,
                    "emitted_chain": int(emission.emitted()),
                    "emitted_model": float(model["emitted"][day, col]) * WAD,
                    "emitted_exact": emitted_exact,
                    "vested_chain": vested_chain,
                    "vested_model": float(model["vested"][day, col]) * WAD,
                    "vested_exact": vested_exact,
                    "node_rewards_chain": node_rewards_chain,
                    "node_rewards_model": _node_rewards_model(p, k) * WAD,
                    "node_rewards_exact": exact_node_rewards,
                    "burned_chain": burned_chain,
                    "burned_model": float(burned_model[day]) * WAD,
                }
            )
    return res


def _node_rewards_model(p: Any, k: int) -> float:
    """Model: the node share of emission after k epochs, net of keeper tips (whole CLUB)."""
    minted = float(schedules.cumulative_emission(p, k))
    return float(np.float64(max(minted - p.emission_tip * k, 0.0) * p.node_rewards_share))
