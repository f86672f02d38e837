"""Contracts in the loop: replay a scenario's run on the real contracts in titanoboa and compare.

The protocol is deployed with the same plan as `ape run deploy` (the titanoboa backend,
`clubchat.deploy.boa_backend.deploy_all`). Then, day by day for `epochs` emission epochs, agents
act on chain the way the model says they do:

* a keeper calls `Emission.advance()` when an epoch is due (and earns the tip); Emission mints
  r x (cap - totalSupply), so what it mints depends on every burn before it;
* vesting beneficiaries claim from their escrows every `claim_every_days`;
* a "payments" agent (standing in for the premium and ad-market contracts and for slashing)
  burns, with `ClubToken.burn`, exactly the CLUB the model burns (premium, ads, slashing,
  creation fees) in the replayed run, day by day before the keeper settles (it is funded by the
  ecosystem allocation);
* when the deployment contains `NodeRegistry` (it does since the registry landed): one operator
  per node kind and one serving RELAY and NOTIFY (`MULTI_KIND_NODES`) register with the minimum
  self-stake per declared kind and the model's commission; each node's delegator bonds or unbonds
  every day so that the node's stake follows the model's stake per node (staked / node count of
  the replayed run, capped by saturation); node keys beat, a keeper finalises every reward epoch,
  and everybody claims once per emission epoch. The model's rules predict each agent's rewards
  from what each finalisation streams (the registry pays it by the second over the next reward
  epoch; the loop raises the heartbeat period to two days, as its keys beat daily): the per-kind
  split (`kind_reward_split`, taken over the kinds with weight; each node weighs its weight / its
  number of declared kinds in each, `node_rewards`), then `model.operator_take` /
  `delegator_take` within a pool.

At every epoch boundary the chain is read and compared with (a) the float model of
`clubchat.sim` for the same (scenario, seed, run) and (b) the exact wei mirrors:
`clubchat.sim.schedules.EmissionMirror` (it follows the chain's burns and registry stake) and
`clubchat.sim.registry_mirror.RegistryMirror`, NodeRegistry's reward accounting (per-kind
accumulators, checkpoints, commission, pools, claims), to which the loop applies every registry
call it sends: what was finalised, claimed and staked and the registry's balance match to the wei.

The bootstrap guard caps the node share at multiple x sqrt(registry stake): the loop's three
nodes hold a different stake than the model's network, so by default the replay runs without
the guard (`bootstrap=False`: both sides) and compares everything; with `bootstrap=True` the
chain runs the guard and is compared to the exact mirror to the wei, while the float model's
emission keys are left out (its network differs). `LoopResult.mismatches(...)` lists every
comparison outside the tolerance; the test tests/sim/test_contracts_agree.py fails on any.

titanoboa is a development dependency: this module imports it lazily.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from clubchat.deploy import boa_backend
from clubchat.params import BPS, DAY, WAD, Parameters
from clubchat.params import load as load_parameters
from clubchat.registry.client import Registration, RegistryActions
from clubchat.registry.kinds import NOTIFY, RELAY, TURN
from clubchat.sim import engine, kindsets, model, registry_mirror, scenarios, schedules

# Stated tolerances: the float model may differ from the chain by REL_TOL of the value
# (float64 on ~1e27-wei quantities carries ~1e-16; the contract's rounding is a few wei per call),
# the exact mirrors must match to MAX_WEI_DIFF wei.
REL_TOL = 1e-9
MAX_WEI_DIFF = 0
KEYS = ("total_supply", "emitted", "vested", "node_rewards", "burned")
EMISSION_KEYS = ("total_supply", "emitted", "node_rewards")
STAKING_KEYS = ("stake", "rewards_operators", "rewards_delegators")
# Compared with the exact mirror only (the float model has no registry balance).
EXACT_KEYS = ("registry_balance", "finalised")
# Relative differences below this are float64 rounding of ~1e27-wei sums, not disagreement; they are
# printed as "< 1e-12" so that the same replay always prints the same text.
REL_DIFF_FLOOR = 1e-12


def relative_difference(chain: float, model_value: float) -> str:
    """|chain - model| / |chain| as printed in tables; float noise below REL_DIFF_FLOOR is one text."""
    rel = abs(chain - model_value) / max(abs(chain), 1.0)
    return f"< {REL_DIFF_FLOOR:.0e}" if rel < REL_DIFF_FLOOR else f"{rel:.1e}"


@dataclass
class LoopResult:
    """One row per epoch boundary: chain values, model values and exact mirrors (all in wei)."""

    scenario: str
    seed: int
    run: int
    epochs: int
    rows: list[dict[str, Any]] = field(default_factory=list)
    staking_in_loop: bool = False
    # False when the chain ran the bootstrap guard on a stake the model's network does not have:
    # the emission keys are then compared with the exact mirror only.
    float_emission: bool = True
    # The registry's reward rule the exact mirror followed ("per-kind streams" or "one pool") and the
    # kinds of the replay's nodes (empty without NodeRegistry).
    reward_rule: str = ""
    node_kinds: tuple[str, ...] = ()

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)

    def mismatches(self, rel_tol: float = REL_TOL, max_wei: int = MAX_WEI_DIFF) -> list[str]:
        """Every comparison outside tolerance, as one readable line each (empty = agreement)."""
        out = []
        for r in self.rows:
            for key in KEYS + (STAKING_KEYS if self.staking_in_loop else ()):
                chain, model, exact = r[f"{key}_chain"], r[f"{key}_model"], r.get(f"{key}_exact")
                float_checked = self.float_emission or key not in EMISSION_KEYS
                if float_checked and abs(chain - model) > rel_tol * max(abs(chain), 1):
                    out.append(
                        f"day {r['day']}: {key} chain {chain} vs model {model:.0f} (rel tol {rel_tol})"
                    )
                if exact is not None and abs(chain - exact) > max_wei:
                    out.append(f"day {r['day']}: {key} chain {chain} vs exact mirror {exact}")
            for key in EXACT_KEYS if self.staking_in_loop else ():
                chain, exact = r[f"{key}_chain"], r[f"{key}_exact"]
                if abs(chain - exact) > max_wei:
                    out.append(f"day {r['day']}: {key} chain {chain} vs exact mirror {exact}")
        return out


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
    bootstrap: bool = False,
    one_pool_mirror: bool = False,
) -> LoopResult:
    """Deploy the protocol in the current boa environment and replay `epochs` epochs of `scenario`.

    Run this inside `boa.env.anchor()` (the test plugin does it per test) to leave no state behind.
    `one_pool_mirror` mirrors the registry's rewards with the one-pool rule it had before per-kind
    streams (the contracts-in-the-loop test shows that this mirror no longer matches the chain).
    """
    import boa

    if deploy is None:
        deploy = boa_backend.deploy_all

    params = params or load_parameters()
    if not bootstrap:
        params = dataclasses.replace(
            params, emission=dataclasses.replace(params.emission, bootstrap_epochs=0)
        )
    p = scenarios.get(scenario).params(params)
    e = params.emission
    epoch_days = e.epoch_seconds // DAY
    if e.epoch_seconds % DAY:
        raise ValueError("the loop steps whole days; emission.epoch_seconds must be a multiple of a day")
    days = epochs * epoch_days

    # The model: run `run` of (scenario, seed), every day recorded.
    path = engine.simulate(p, runs=run, days=days, seed=seed, scenario=scenario, record_every=1)
    col = run - 1
    burned_model = model.burned({k: path[k][:, col] for k in model.BURNS})

    deployer, keeper, payer = (_actor(boa, n) for n in ("loop-deployer", "loop-keeper", "loop-payer"))
    beneficiaries = {a.name: _actor(boa, f"loop-{a.name}") for a in params.genesis.vesting}
    escrow_factory = boa_backend.deployer_for("VestingEscrow")
    # Escrows are EIP-1167 proxies of VestingEscrow: when Vesting creates one (and when it is cast
    # below) boa compares the proxy's code with VestingEscrow's and warns that they differ, which is
    # what a proxy is. Nothing else is silenced.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="casted bytecode does not match", category=UserWarning)
        dep = deploy(params, deployer, beneficiaries)
        escrows = {name: escrow_factory.at(addr) for name, addr in dep.escrows.items()}
    token, emission = dep["ClubToken"], dep["Emission"]
    genesis = dep.genesis_time
    weights = [int(w) for w in emission.weights()]
    node_idx = next(i for i, r in enumerate(params.emission.receivers) if r.name == "node_rewards")
    staking = "NodeRegistry" in dep.contracts
    res = LoopResult(scenario, seed, run, epochs, staking_in_loop=staking, float_emission=not bootstrap)
    fund = funder_name(beneficiaries)
    agents = (
        _StakingAgents(boa, dep, params, p, path, col, beneficiaries[fund], escrows[fund], one_pool_mirror)
        if staking
        else None
    )
    if agents is not None:
        res.reward_rule = agents.mirror.rule
        res.node_kinds = tuple(kind for kind, *_ in agents.nodes)

    node_rewards_chain = 0
    burned_chain = 0
    mirror = schedules.EmissionMirror(
        params.token.cap_wei, params.genesis.total_wei, e.rate_per_epoch_wad, e.tip_wei, weights, node_idx,
        e.bootstrap_multiple_wei, e.bootstrap_epochs,
    )  # fmt: skip
    registry = dep.contracts.get("NodeRegistry")
    funder = funder_name(beneficiaries)
    for day in range(1, days + 1):
        target = genesis + day * DAY
        now = int(boa.env.evm.patch.timestamp)
        if agents is not None and target - 60 > now:
            # Nodes beat a minute before each day ends, so they are live at every reward epoch's end.
            boa.env.time_travel(seconds=target - 60 - now)
            agents.beat()
            now = int(boa.env.evm.patch.timestamp)
        if target > now:
            boa.env.time_travel(seconds=target - now)
        # Payments and slashing of the day before, executed on chain before the keeper settles
        # (the model's emission on day d reads the supply at the end of day d - 1).
        want = int(burned_model[day - 1] * WAD) - burned_chain
        if want > 0:
            funder_escrow = escrows[funder]
            if int(token.balanceOf(beneficiaries[funder])) < want and int(funder_escrow.claimable()) > 0:
                with boa.env.prank(beneficiaries[funder]):
                    funder_escrow.claim()
            with boa.env.prank(beneficiaries[funder]):
                token.transfer(payer, want)
            with boa.env.prank(payer):
                token.burn(want)
            burned_chain += want
            mirror.burn(want)
        if day % epoch_days == 0:
            due = emission.epochs_due()
            stake_whole = agents.total_weight() if agents is not None else 0
            with boa.env.prank(keeper):
                emission.advance()
            mirror.advance(due, stake_whole)
            # The node share as the chain reports it: Distributed events come in receiver order,
            # so the node receiver's event is told apart even when it shares an address.
            distributed = [ev for ev in emission.get_logs() if type(ev).__name__ == "Distributed"]
            registry_address = str(registry.address) if registry is not None else None
            to_nodes = (
                sum(int(ev.amount) for ev in distributed if str(ev.receiver) == registry_address)
                if registry_address is not None
                else (int(distributed[node_idx].amount) if distributed else 0)
            )
            node_rewards_chain += to_nodes
            if agents is not None:
                agents.mirror.receive(to_nodes)
        if day % claim_every_days == 0:
            for name, escrow in escrows.items():
                if escrow.claimable() > 0:
                    with boa.env.prank(beneficiaries[name]):
                        escrow.claim()
        if agents is not None:
            agents.step(day, claim=day % epoch_days == 0)
        if day % epoch_days == 0:
            k = day // epoch_days
            vested_chain = sum(int(x.vested()) for x in escrows.values())
            vested_exact = sum(
                schedules.vested_wei(
                    a.amount_wei, genesis, a.cliff_seconds, a.duration_seconds, genesis + day * DAY
                )
                for a in params.genesis.vesting
            )
            res.rows.append(
                {
                    "day": day,
                    "epoch": k,
                    "total_supply_chain": int(token.totalSupply()),
                    # the chain has executed the burns up to the day before (see above)
                    "total_supply_model": float(
                        p.genesis_total + path["emitted"][day, col] - burned_model[day - 1]
                    )
                    * WAD,
                    "total_supply_exact": mirror.supply,
                    "emitted_chain": int(emission.emitted()),
                    "emitted_model": float(path["emitted"][day, col]) * WAD,
                    "emitted_exact": mirror.emitted,
                    "vested_chain": vested_chain,
                    "vested_model": float(path["vested"][day, col]) * WAD,
                    "vested_exact": vested_exact,
                    "node_rewards_chain": node_rewards_chain,
                    "node_rewards_model": float(path["node_rewards_total"][day, col]) * WAD,
                    "node_rewards_exact": mirror.node_rewards,
                    "burned_chain": burned_chain,
                    "burned_model": float(burned_model[day - 1]) * WAD,
                    **(agents.row() if agents is not None else {}),
                }
            )
    return res


def set_registry_timing(registry: Any, timelock: str, *, heartbeat_seconds: int, stream_seconds: int) -> None:
    """Governance (the Timelock's `set_parameters`): a new heartbeat period and reward stream length,
    every other registry parameter kept as it is."""
    gov = boa_backend.BoaPort(timelock)
    names = ("min_self_stake_per_kind", "saturation_multiple", "unbonding_seconds", "commission_max_bps",
             "commission_max_change_bps", "commission_delay_seconds", "finalize_tip")  # fmt: skip
    keep = [gov.call(registry, fn) for fn in names]
    gov.transact(registry, "set_parameters", *keep[:3], heartbeat_seconds, *keep[3:], stream_seconds)


def node_rewards(
    distributed: float, weights: list[int], masks: list[int], kind_split: tuple[float, ...] | None
) -> list[float]:
    """The model's rule for what each node earns of `distributed` (clubchat.sim.kindsets): with a per-kind
    split, each kind's part (the split taken over the kinds that have weight) pro rata to the nodes'
    weight / their number of declared kinds in that kind; without one (the registry before per-kind
    streams), pro rata to weight."""
    w = np.asarray(weights, dtype=np.float64)
    if kind_split is None:
        return list(distributed * w / w.sum())
    member = np.array([[m >> k & 1 for k in range(kindsets.N_KINDS)] for m in masks], dtype=np.float64)
    u = w[:, None] * member / member.sum(axis=1, keepdims=True)
    in_kind = u.sum(axis=0)
    split = np.where(in_kind > 0, np.asarray(kind_split), 0.0)
    split = split / split.sum()
    return list(distributed * (u / np.where(in_kind > 0, in_kind, 1.0)) @ split)


# Nodes the replay registers besides one per kind: (label, kinds bitmask).
MULTI_KIND_NODES: tuple[tuple[str, int], ...] = (("RELAY+NOTIFY", RELAY | NOTIFY),)


def funder_name(beneficiaries: dict[str, str]) -> str:
    """The allocation whose claims pay for the loop's burns and stakes (ecosystem, as intended)."""
    return "ecosystem" if "ecosystem" in beneficiaries else next(iter(beneficiaries))


class _StakingAgents:
    """One operator and one delegator per node kind, acting on NodeRegistry as the model's run says.

    Every registry action and view goes through `clubchat.registry.RegistryActions` (the same
    definitions the CLI, the node and the demo use on web3.py) over titanoboa's `BoaPort`."""

    def __init__(
        self,
        boa: Any,
        dep: Any,
        params: Parameters,
        p: Any,
        model: dict[str, Any],
        col: int,
        funder: str,
        funder_escrow: Any,
        one_pool_mirror: bool = False,
    ) -> None:
        self.boa, self.p, self.model, self.col, self.funder = boa, p, model, col, funder
        self.funder_escrow = funder_escrow
        self.token, self.registry = dep["ClubToken"], dep["NodeRegistry"]
        self.view = RegistryActions(boa_backend.BoaPort(), self.registry, self.token)
        self.timelock = str(dep["Timelock"].address)
        self.genesis, self.epoch = dep.genesis_time, params.registry.epoch_seconds
        self.min_self = params.registry.min_self_stake_per_kind_wei
        self.saturation = params.registry.saturation_multiple
        self.commission_bps = round(p.commission * BPS)
        # One node per kind and one serving several (its self-stake is the minimum per declared kind).
        kinds = [*params.registry.kinds.items(), *MULTI_KIND_NODES]
        self.nodes = [
            (
                kind,
                mask,
                _actor(boa, f"loop-op-{kind}"),
                _actor(boa, f"loop-key-{kind}"),
                _actor(boa, f"loop-del-{kind}"),
            )
            for kind, mask in kinds
        ]
        per_kind = hasattr(self.registry, "kind_reward_bps")
        self.mirror = registry_mirror.RegistryMirror(
            min_self_stake_per_kind=int(self.registry.min_self_stake_per_kind()),
            heartbeat_seconds=int(self.registry.heartbeat_seconds()),
            finalize_tip=int(self.registry.finalize_tip()),
            stream_seconds=int(self.registry.stream_seconds()),
            kind_bps=(
                tuple(int(self.registry.kind_reward_bps(k)) for k in (RELAY, TURN, NOTIFY))  # type: ignore[arg-type]
                if per_kind and not one_pool_mirror
                else None
            ),
        )
        self.exact = {"operators": 0, "delegators": 0}
        self.finalised = {"chain": 0, "exact": 0}
        self.keeper = _actor(boa, "loop-finaliser")
        self.registered = False
        self.claimed = {"operators": 0, "delegators": 0}
        self.expected = {"operators": 0.0, "delegators": 0.0}
        # The registry streams each finalised amount over the next epoch:
        # wei per second, end of the stream, time up to which `expected` has accrued it.
        self.rate = self.stream_end = self.accrued_to = 0
        self.targets: list[float] = []
        # The model's per-kind split when the registry pays per kind (the one stream before it).
        self.kind_split: tuple[float, ...] | None = tuple(p.kind_reward_split) if per_kind else None

    def _as(self, who: str) -> RegistryActions:
        """The registry client acting as `who`."""
        return RegistryActions(boa_backend.BoaPort(who), self.registry, self.token)

    def _send(self, who: str, amount: int) -> None:
        """CLUB from the funder to `who` (the registry client approves what it stakes)."""
        if int(self.token.balanceOf(self.funder)) < amount and int(self.funder_escrow.claimable()) > 0:
            with self.boa.env.prank(self.funder):
                self.funder_escrow.claim()
        with self.boa.env.prank(self.funder):
            self.token.transfer(who, amount)

    def _now(self) -> int:
        return int(self.boa.env.evm.patch.timestamp)

    def _min_self(self, mask: int) -> int:
        return self.min_self * registry_mirror.count_kinds(mask)

    def _register(self) -> None:
        for kind, mask, op, key, _ in self.nodes:
            self._send(op, self._min_self(mask))
            self.boa.env.set_balance(key, 10**18)  # a node key sends its own consent and beats
            tag = kind.lower().replace("+", "-")
            endpoints = {RELAY: f"wss://{tag}.relay.example:443", TURN: f"turns:{tag}.turn.example:5349",
                         NOTIFY: f"https://{tag}.notify.example"}  # fmt: skip
            spec = Registration(
                kinds=mask,
                endpoints={k: uri for k, uri in endpoints.items() if mask & k},
                node_key=key,
                credential_endpoint=f"https://{tag}.turn.example/credentials" if mask & TURN else "",
                region="loop",
                metadata_uri=f"https://{tag}.example/meta.json",
                commission_bps=self.commission_bps,
            )
            self._as(op).register(spec, self._min_self(mask), key=key)  # the node key consents first
            self.mirror.register(op, mask, self.commission_bps, self._min_self(mask), self._now())
        # The loop beats once a day; rewards stream by the second and a node earns only while its
        # heartbeat keeps it live, so the heartbeat period is raised to two days (liveness is not
        # what the loop compares). The model pays each day's node rewards within that day, so the
        # loop streams each finalisation over one day too (deployed: over Emission's week).
        set_registry_timing(
            self.registry, self.timelock, heartbeat_seconds=2 * self.epoch, stream_seconds=self.epoch
        )
        self.mirror.set_timing(heartbeat_seconds=2 * self.epoch, stream_seconds=self.epoch)
        self.registered = True

    def beat(self) -> None:
        """Every registered node key sends a heartbeat."""
        if not self.registered:
            return
        self._accrue()
        for _, _, op, key, _ in self.nodes:
            self._as(key).heartbeat()
            self.mirror.heartbeat(op, self._now())

    def step(self, day: int, *, claim: bool) -> None:
        """Beat, finalise due reward epochs (predicting the split), follow the model's stake, claim."""
        if not self.registered:
            self._register()
        self.beat()  # accrues the stream up to now first
        now = int(self.boa.env.evm.patch.timestamp)
        while now >= self.genesis + (self.view.epochs_finalised() + 1) * self.epoch:
            self._finalise()
        self._follow_model(day)
        if claim:
            for _, _, op, _, dl in self.nodes:
                for who, side in ((op, "operators"), (dl, "delegators")):
                    client = self._as(who)
                    self.claimed[side] += client.claimed(client.claim(op))
                    self.exact[side] += self.mirror.claim(op, who)

    def _pool(self, op: str, dl: str) -> tuple[int, int]:
        return self.view.assets_of(op, op), self.view.assets_of(op, dl)

    def _accrue(self) -> None:
        """The model's side of the stream: what streamed since the last accrual, pro rata to the
        weights (constant since: they change only after a finalisation, at the same timestamp)."""
        now = int(self.boa.env.evm.patch.timestamp)
        paid_to = min(now, self.stream_end)
        if paid_to > self.accrued_to:
            self._split(self.rate * (paid_to - self.accrued_to))
        self.accrued_to = max(self.accrued_to, now)

    def _finalise(self) -> None:
        self._accrue()
        now = int(self.boa.env.evm.patch.timestamp)
        keeper = self._as(self.keeper)
        ev = keeper.events(keeper.finalize_epoch(), "EpochFinalised")[-1]
        self.finalised["chain"] += int(ev["rewards"])
        self.finalised["exact"] += self.mirror.finalize_epoch(now)[0]
        # The contract's stream: the new CLUB plus the running stream's rest, per second, rounded down.
        left = self.rate * max(self.stream_end - now, 0)
        self.rate = (int(ev["rewards"]) + left) // self.epoch
        self.stream_end = now + self.epoch

    def _split(self, distributed: int) -> None:
        # The registry weighs nodes by bonded stake in whole CLUB (`nodes(op).weight`).
        pools = [(*self._pool(op, dl), self.view.weight(op)) for _, _, op, _, dl in self.nodes]
        if distributed == 0 or sum(w for _, _, w in pools) == 0:
            return
        rewards = node_rewards(
            distributed, [w for _, _, w in pools], [mask for _, mask, _, _, _ in self.nodes], self.kind_split
        )
        for (own, delegated, _), reward in zip(pools, rewards, strict=True):  # then the model's split
            self_frac = own / (own + delegated)
            c = self.commission_bps / BPS
            self.expected["operators"] += float(model.operator_take(reward, self_frac, c))
            self.expected["delegators"] += float(model.delegator_take(reward, self_frac, c))

    def _follow_model(self, day: int) -> None:
        """Each node's delegator bonds / unbonds to follow the model's stake per node."""
        per_node = float(self.model["staked"][day, self.col] / self.model["operators"][day, self.col]) * WAD
        self.targets = []
        for _, mask, op, _, dl in self.nodes:
            own, delegated = self._pool(op, dl)
            # The model caps stake per node at (1 + saturation) x self-stake as the registry does.
            target = min(per_node, float(self._min_self(mask) * (1 + self.saturation)))
            self.targets.append(target)
            cap = own * self.saturation - 10**6  # stay just inside the cap (share rounding)
            want = int(min(max(target - own, 0.0), cap))
            if want > delegated + 10**12:
                self._send(dl, want - delegated)
                self._as(dl).delegate(op, want - delegated)
                self.mirror.delegate(op, dl, want - delegated, self._now())
            elif want + 10**12 < delegated:
                shares = self.view.shares(op, dl)
                burn = shares * (delegated - want) // delegated
                if burn > 0:
                    self._as(dl).unbond(op, burn)
                    self.mirror.unbond(op, dl, burn, self._now())

    def total_weight(self) -> int:
        """The registry's total weight, as Emission's bootstrap guard reads it."""
        return self.view.total_weight()

    def row(self) -> dict[str, Any]:
        stake = sum(sum(self._pool(op, dl)) for _, _, op, _, dl in self.nodes)
        return {
            "stake_chain": stake,
            "stake_model": float(sum(self.targets)),
            "stake_exact": sum(
                self.mirror.assets_of(op, who) for _, _, op, _, dl in self.nodes for who in (op, dl)
            ),
            "rewards_operators_chain": self.claimed["operators"],
            "rewards_operators_model": self.expected["operators"],
            "rewards_operators_exact": self.exact["operators"],
            "rewards_delegators_chain": self.claimed["delegators"],
            "rewards_delegators_model": self.expected["delegators"],
            "rewards_delegators_exact": self.exact["delegators"],
            "registry_balance_chain": int(self.token.balanceOf(self.registry.address)),
            "registry_balance_exact": self.mirror.balance,
            "finalised_chain": self.finalised["chain"],
            "finalised_exact": self.finalised["exact"],
        }
