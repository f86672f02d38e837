"""Attackers on the real Disputes contract (contracts in the loop): panel capture and flag griefing.

`clubchat.sim.disputes` computes what the contract's panel draw gives an attacker; here the
protocol is deployed in titanoboa by the deploy plan and the attackers act on it:

- `panel_replay`: honest RELAY operators (own stake plus delegations) and an attacker that
  self-stakes its nodes; for `trials` different seed blocks an honest node is flagged and the panel
  drawn (each trial in a `boa.env.anchor()`, so every draw sees the same stakes). A panel is
  captured when its attacker seats carry a kick against the honest seats, with the vote weights
  the contract fixed in `PanelDrawn`. The share is compared with the exact probability of the
  contract's draw (`disputes.capture_probability`) and with the model's old binomial.
- `griefing_replay`: a flagger without stake flags honest nodes; the drawn honest reviewers probe,
  vote against and collect the bond (one reviewer of the first panel stays silent and is slashed).
  Then the flagger floods flags to keep every reviewer busy. Balances are read on chain.

titanoboa is a development dependency: this module imports it lazily.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

from eth_abi import encode
from eth_utils import keccak

from clubchat.deploy import boa_backend
from clubchat.deploy.boa_backend import BoaPort
from clubchat.params import WAD, Parameters
from clubchat.params import load as load_parameters
from clubchat.registry.client import Registration, RegistryActions
from clubchat.registry.kinds import RELAY
from clubchat.sim import disputes
from clubchat.sim.loop import set_registry_timing

REASON_OFFLINE = 1
ZERO32 = b"\x00" * 32


# Where a replay pins the chain before it deploys: the registry's epoch seed follows the time and the
# panels' seeds follow the block number, and titanoboa starts at the wall clock, so without a pin each
# run draws other panels; so do the previous block hash and prevrandao, pinned too. Both lie beyond any
# chain state a session reaches (the time in 2096).
PINNED_TIME = 4_000_000_000
PINNED_BLOCK = 50_000_000


class Network:
    """The protocol deployed in the current boa environment, with helpers to add RELAY operators.

    With `pin`, the block number and time are set to PINNED_BLOCK and PINNED_TIME first, so a replay
    draws the same panels in every process (run it inside `boa.env.anchor()`)."""

    def __init__(self, params: Parameters, tag: str, *, pin: bool = False) -> None:
        import boa

        self.boa, self.params, self.tag = boa, params, tag
        if pin:
            patch = boa.env.evm.patch
            patch.timestamp = PINNED_TIME
            patch.block_number = PINNED_BLOCK
            # the registry mixes the previous block's hash and prevrandao into its epoch seed
            patch.prev_hashes = [keccak(b"pinned" + PINNED_BLOCK.to_bytes(32, "big"))] + [ZERO32] * 255
            patch.prevrandao = keccak(b"pinned prevrandao")
        deployer = str(boa.env.generate_address(f"{tag}-deployer"))
        with warnings.catch_warnings():  # escrows are proxies of VestingEscrow (see clubchat.sim.loop)
            warnings.filterwarnings("ignore", message="casted bytecode does not match", category=UserWarning)
            self.dep = boa_backend.deploy_all(params, deployer)
        self.token, self.registry = self.dep["ClubToken"], self.dep["NodeRegistry"]
        self.timelock = str(self.dep["Timelock"].address)

    def acting(self, who: str | None = None) -> RegistryActions:
        return RegistryActions(BoaPort(who), self.registry, self.token)

    def fund(self, who: str, amount_wei: int) -> None:
        """The treasury's genesis CLUB pays the actors."""
        with self.boa.env.prank(self.timelock):
            self.token.transfer(who, amount_wei)

    def operator(self, name: str, stake: int, delegated: int = 0, *, beat: bool = True) -> tuple[str, str]:
        """A RELAY node with `stake` whole CLUB of own stake and `delegated` CLUB from a delegator;
        its key beats once (`beat`) so the node is live at once."""
        op, key = (str(self.boa.env.generate_address(f"{self.tag}-{name}-{r}")) for r in ("op", "key"))
        self.fund(op, stake * WAD)
        self.boa.env.set_balance(key, 10**18)  # the key sends its consent to the operator
        spec = Registration(RELAY, {RELAY: f"wss://{name}.relay.example:443"}, key, region=self.tag)
        self.acting(op).register(spec, stake * WAD, key=key)
        if beat:
            self.acting(key).heartbeat()
        if delegated:
            holder = str(self.boa.env.generate_address(f"{self.tag}-{name}-delegator"))
            self.fund(holder, delegated * WAD)
            self.acting(holder).delegate(op, delegated * WAD)
        return op, key

    def mine(self, blocks: int) -> None:
        """Advance `blocks` blocks and give the parent block a hash of its own (titanoboa's BLOCKHASH
        returns one parent hash at every height; a chain's differ per block, and they seed panels)."""
        self.boa.env.time_travel(blocks=blocks, block_delta=1)
        parent = self.boa.env.evm.patch.block_number - 1
        self.boa.env.evm.patch.prev_hashes = [keccak(b"block" + parent.to_bytes(32, "big"))] + [ZERO32] * 254

    def flag(self, flagger: str, node: str) -> int:
        contract = self.dep["Disputes"]
        bond = contract.parameters().flag_bond
        self.fund(flagger, bond)
        with self.boa.env.prank(flagger):
            self.token.approve(contract.address, bond)
            return int(contract.flag(node, REASON_OFFLINE, "ipfs://probe-log"))

    def draw(self, dispute_id: int) -> tuple[list[str], list[int]]:
        """Mine the seed block and draw; the panel and its vote weights (empty when dismissed)."""
        contract = self.dep["Disputes"]
        self.mine(2)
        with self.boa.env.prank(str(self.boa.env.generate_address(f"{self.tag}-drawer"))):
            contract.draw_panel(dispute_id)
            logs = [e for e in contract.get_logs() if type(e).__name__ == "PanelDrawn"]
        if not logs:
            return [], []
        return [str(a) for a in logs[-1].panel], [int(w) for w in logs[-1].weights]


@dataclass(frozen=True)
class PanelReplay:
    """Panels drawn on the contract against the exact and the binomial capture probability."""

    honest_nodes: int
    honest_own: int  # whole CLUB per honest node
    honest_delegated: int
    attacker_nodes: int
    attacker_stake: int  # whole CLUB per attacker node
    trials: int
    captured: int
    exact: float  # disputes.capture_probability for this population
    binomial: float  # the model's old figure at the attacker's stake share
    weights_match: bool  # every seat's weight was min(own stake, cap)

    @property
    def captured_share(self) -> float:
        return self.captured / self.trials

    @property
    def standard_error(self) -> float:
        return float((self.exact * (1 - self.exact) / self.trials) ** 0.5)


def panel_replay(
    *,
    honest_nodes: int = 12,
    honest_own: int = 20_000,
    honest_delegated: int = 80_000,
    attacker_nodes: int = 3,
    attacker_stake: int = 100_000,
    trials: int = 200,
    params: Parameters | None = None,
) -> PanelReplay:
    """Deploy, register, and draw `trials` panels against one honest node (see the module doc).

    Every node is registered within the registry's first epoch, so `sample` draws the live weights.
    """
    params = params or load_parameters()
    net = Network(params, "panel", pin=True)
    rules = disputes.DisputeRules.from_params(params)
    honest = [net.operator(f"honest{i}", honest_own, honest_delegated) for i in range(honest_nodes)]
    attack = {net.operator(f"attacker{i}", attacker_stake)[0] for i in range(attacker_nodes)}
    target = honest[0][0]
    flagger = str(net.boa.env.generate_address("panel-flagger"))
    cap = rules.reviewer_cap
    expected_weight = {op: int(min(honest_own, cap)) for op, _ in honest} | {
        op: int(min(attacker_stake, cap)) for op in attack
    }
    captured, weights_match = 0, True
    for trial in range(trials):
        with net.boa.env.anchor():
            net.mine(trial + 1)
            panel, weights = net.draw(net.flag(flagger, target))
            weights_match &= all(expected_weight[r] == w for r, w in zip(panel, weights, strict=True))
            kick = sum(w for r, w in zip(panel, weights, strict=True) if r in attack)
            if panel and kick > rules.majority * sum(weights):
                captured += 1
    pool = honest_own + honest_delegated
    population = disputes.Reviewers(nodes=honest_nodes, pool=pool, own=honest_own)
    share = attacker_nodes * attacker_stake / (attacker_nodes * attacker_stake + honest_nodes * pool)
    return PanelReplay(
        honest_nodes=honest_nodes,
        honest_own=honest_own,
        honest_delegated=honest_delegated,
        attacker_nodes=attacker_nodes,
        attacker_stake=attacker_stake,
        trials=trials,
        captured=captured,
        exact=disputes.capture_probability(rules, population, attacker_nodes, attacker_stake),
        binomial=disputes.binomial_capture_probability(rules, share),
        weights_match=weights_match,
    )


@dataclass(frozen=True)
class GriefingReplay:
    """A flagger without stake against honest nodes, measured on chain (CLUB wei)."""

    honest_nodes: int
    flags: int  # false flags decided by honest reviewers
    flagger_spent: int  # bonds lost
    reviewers_paid: int  # bond shares claimed by the reviewers who revealed
    target_stake_lost: int  # what the flagged nodes lost (0: a rejected flag costs them nothing)
    silent_reviewer_cut: int  # the reviewer that did not vote lost this
    flood: int  # flags sent at once to keep reviewers busy
    flood_full_panels: int  # of those, panels with k reviewers
    flood_short_panels: int  # panels with fewer
    flood_dismissed: int  # no reviewer left: bond back, node unfrozen
    flood_refunded: int  # bonds returned by dismissal


def _vote_commitment(dispute_id: int, reviewer: str, kick: bool, salt: bytes) -> bytes:
    return keccak(encode(["uint256", "address", "bool", "bytes32"], [dispute_id, reviewer, kick, salt]))


def griefing_replay(
    *, honest_nodes: int = 16, honest_own: int = 20_000, flags: int = 2, params: Parameters | None = None
) -> GriefingReplay:
    """`flags` false flags voted down (see the module doc), then `honest_nodes // k + 2` at once."""
    params = params or load_parameters()
    net = Network(params, "grief", pin=True)
    contract = net.dep["Disputes"]
    k = params.disputes.panel_size
    honest = [net.operator(f"honest{i}", honest_own) for i in range(honest_nodes)]
    # The keys beat once after governance lengthens the heartbeat period, so the vote phases and the
    # cool-down pass without anyone going offline.
    set_registry_timing(net.registry, net.timelock, heartbeat_seconds=30 * 86400, stream_seconds=86400)
    for _, key in honest:
        net.acting(key).heartbeat()
    flagger = str(net.boa.env.generate_address("grief-flagger"))
    salt = b"\x05" * 32
    spent = paid = lost = silent_cut = 0
    for f in range(flags):
        target = honest[f][0]
        before = net.acting().assets_of(target, target)
        dispute_id = net.flag(flagger, target)
        spent += params.disputes.flag_bond_wei
        panel, _ = net.draw(dispute_id)
        silent = panel[-1] if f == 0 else None  # one reviewer of the first panel does not vote
        voters = [r for r in panel if r != silent]
        for r in voters:
            with net.boa.env.prank(r):
                contract.commit_vote(dispute_id, r, _vote_commitment(dispute_id, r, False, salt))
        d = contract.disputes(dispute_id)
        net.boa.env.time_travel(seconds=max(d.commit_deadline - net.boa.env.evm.patch.timestamp, 0) + 12)
        for r in voters:
            with net.boa.env.prank(r):
                contract.reveal_vote(dispute_id, r, False, salt)
        net.boa.env.time_travel(seconds=max(d.reveal_deadline - net.boa.env.evm.patch.timestamp, 0) + 12)
        silent_before = net.acting().assets_of(silent, silent) if silent else 0
        contract.finalize(dispute_id, panel)
        if silent:
            silent_cut = silent_before - net.acting().assets_of(silent, silent)
        for seat, r in enumerate(panel):
            if r != silent:
                paid += int(contract.claim_share(dispute_id, panel, seat))
        lost += before - net.acting().assets_of(target, target)
    # The flood, once every reviewer is available again: each seat blocks its reviewer for the vote
    # and the cool-down.
    net.boa.env.time_travel(seconds=params.disputes.reviewer_cooldown_seconds + 3600)
    flood = honest_nodes // k + 2
    full = short = dismissed = 0
    refunded_before = net.token.balanceOf(flagger)
    for i in range(flood):
        panel, _ = net.draw(net.flag(flagger, honest[i % honest_nodes][0]))
        full += len(panel) == k
        short += 0 < len(panel) < k
        dismissed += not panel
    return GriefingReplay(
        honest_nodes=honest_nodes,
        flags=flags,
        flagger_spent=spent,
        reviewers_paid=paid,
        target_stake_lost=lost,
        silent_reviewer_cut=silent_cut,
        flood=flood,
        flood_full_panels=full,
        flood_short_panels=short,
        flood_dismissed=dismissed,
        flood_refunded=int(net.token.balanceOf(flagger)) - int(refunded_before),
    )


def describe(r: Any) -> dict[str, Any]:
    """A replay result as a plain dict (for the CLI and the whitepaper)."""
    return {f: getattr(r, f) for f in r.__dataclass_fields__}
