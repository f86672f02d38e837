"""Disputes with the contract's rules: panel capture for the real draw, flag griefing, equivocation.

The dynamic model prices panel capture with a binomial: an attacker holding a share f of all stake
holds a majority of k reviewers drawn with replacement. `Disputes.draw_panel` does something else,
and this module computes what it does, from `deployments/parameters.yaml` (`DisputeRules`):

- reviewers are drawn from the RELAY tree only (`REVIEW_KIND`), by pool weight (own stake plus
  delegations), k of them without replacement (`NodeRegistry.sample`);
- the flagged node and the flagger are excluded and replaced by up to `SPARE` (2) further draws;
  sequential weighted sampling restricted to the other nodes is the same sampling on those nodes,
  so an excluded node is simply absent from the population;
- a vote weighs the reviewer's OWN stake, capped at `reviewer_cap`; a kick needs revealed weight
  >= quorum of the panel's weight and kick weight > majority of the revealed weight.

An attacker who self-stakes its nodes (up to the cap each) has as much vote weight as draw weight,
while an honest reviewer's draw weight includes its delegators and its vote weight does not: the
attacker can win a panel with fewer than half its seats. With equal nodes of two types the number
of attacker seats follows Wallenius' non-central hypergeometric distribution (exact), and
`simulate_capture` draws panels the way the contract does (exclusions, spares, cap) as a check.

`flag_griefing` prices flags sent to harass (bonds lost against the honest side's harm, and the
cost of keeping every reviewer busy), `equivocation` the expected loss of a relay that forks a room
log against what a fork must be worth to it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from clubchat.params import WAD, Parameters
from clubchat.sim import security

# Constants of contracts/disputes/Disputes.vy (tests/sim/test_disputes.py reads them from its source).
SPARE = 2  # further candidates drawn when exclusions took seats
MAX_PANEL = 14
BPS = 10_000


@dataclass(frozen=True)
class DisputeRules:
    """The Disputes contract's governance-set values (CLUB, fractions, seconds)."""

    panel_size: int
    reviewer_cap: float  # CLUB: the largest vote weight of one reviewer
    quorum: float  # revealed weight needed, of the panel's weight
    majority: float  # a kick needs more than this share of the revealed weight
    flag_bond: float  # CLUB
    kick_fraction: float  # of the flagged node's pool
    flagger_reward_share: float  # of the kick cut
    non_voter_fraction: float  # of a silent reviewer's pool
    equivocation_fraction: float  # of a forking relay's pool
    reporter_share: float  # of the equivocation cut
    vote_seconds: int  # commit plus reveal phase
    cooldown_seconds: int  # a reviewer waits this long after its panel's reveal deadline
    jail_base_seconds: int
    jail_max_seconds: int

    @classmethod
    def from_params(cls, params: Parameters) -> DisputeRules:
        d = params.disputes
        return cls(
            panel_size=d.panel_size,
            reviewer_cap=d.reviewer_cap_wei / WAD,
            quorum=d.quorum_bps / BPS,
            majority=d.majority_bps / BPS,
            flag_bond=d.flag_bond_wei / WAD,
            kick_fraction=d.kick_fraction_wad / WAD,
            flagger_reward_share=d.flagger_reward_share_wad / WAD,
            non_voter_fraction=d.non_voter_fraction_wad / WAD,
            equivocation_fraction=d.equivocation_fraction_wad / WAD,
            reporter_share=d.reporter_share_wad / WAD,
            vote_seconds=d.vote_commit_seconds + d.vote_reveal_seconds,
            cooldown_seconds=d.reviewer_cooldown_seconds,
            jail_base_seconds=d.jail_base_seconds,
            jail_max_seconds=d.jail_max_seconds,
        )


@dataclass(frozen=True)
class Reviewers:
    """The honest RELAY nodes a panel is drawn from: `nodes` alike, each with pool weight `pool`
    (own stake plus delegations, the draw weight) and own stake `own` (the vote weight, before the cap)."""

    nodes: int
    pool: float
    own: float

    @property
    def stake(self) -> float:
        return self.nodes * self.pool


def seats_to_win(rules: DisputeRules, attacker_vote: float, honest_vote: float) -> int:
    """Fewest attacker seats of a full panel whose vote weight carries a kick when every reviewer
    reveals (quorum met) and the honest ones vote against (`security.seats_to_win`)."""
    return int(security.seats_to_win(rules.panel_size, rules.majority, attacker_vote, honest_vote))


def capture_probability(
    rules: DisputeRules, honest: Reviewers, attacker_nodes: int, node_stake: float
) -> float:
    """P(a panel drawn against an honest node kicks it) when the attacker runs `attacker_nodes` RELAY
    nodes of `node_stake` own CLUB each (no delegators) and every reviewer reveals: the flagged
    node is excluded (one honest node fewer), seats follow Wallenius' distribution with odds
    node_stake / honest pool weight, and the attacker needs `seats_to_win` of them. With fewer
    nodes than k the panel seats them all (the contract's panel is then smaller)."""
    population = honest.nodes - 1 + attacker_nodes
    k = min(rules.panel_size, population)
    if attacker_nodes <= 0 or k <= 0:
        return 0.0
    attacker_vote, honest_vote = min(node_stake, rules.reviewer_cap), min(honest.own, rules.reviewer_cap)
    need = int(security.seats_to_win(k, rules.majority, attacker_vote, honest_vote))
    if need > min(k, attacker_nodes):
        return 0.0
    if population <= k:
        return 1.0  # everyone sits: attacker_nodes seats
    seats = stats.nchypergeom_wallenius(population, attacker_nodes, k, node_stake / honest.pool)
    return float(seats.sf(need - 1))


def binomial_capture_probability(rules: DisputeRules, share: float) -> float:
    """The model's old figure: a majority of k seats drawn with replacement with stake share `share`."""
    return float(security.panel_capture_prob(share, rules.panel_size))


@dataclass(frozen=True)
class Capture:
    """The cheapest way found to capture a panel with at least the target probability."""

    stake: float  # CLUB the attacker bonds
    nodes: int
    node_stake: float
    probability: float  # of the contract's draw at that stake
    seats_needed: int


def stake_for_capture(
    rules: DisputeRules, honest: Reviewers, target: float, min_node_stake: float, max_nodes: int = 1 << 16
) -> Capture:
    """Least CLUB (over node sizes from the minimum self-stake to the cap) with capture probability >=
    `target` on the contract's draw. Per node size the node count is found by doubling and bisection
    (the probability grows with the count)."""
    sizes = sorted({rules.reviewer_cap, rules.reviewer_cap / 2, rules.reviewer_cap / 4, min_node_stake})
    best: Capture | None = None
    for size in (s for s in sizes if s >= min_node_stake):

        def prob(n: int, size: float = size) -> float:
            return capture_probability(rules, honest, n, size)

        hi = 1
        while prob(hi) < target:
            hi *= 2
            if hi > max_nodes:
                break
        if hi > max_nodes:
            continue
        lo = hi // 2
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if prob(mid) >= target else (mid, hi)
        found = Capture(
            stake=hi * size,
            nodes=hi,
            node_stake=size,
            probability=prob(hi),
            seats_needed=seats_to_win(rules, size, min(honest.own, rules.reviewer_cap)),
        )
        if best is None or found.stake < best.stake:
            best = found
    if best is None:
        raise ValueError("no attacker of at most max_nodes nodes reaches the target capture probability")
    return best


def binomial_stake_for_capture(rules: DisputeRules, total_stake: float, target: float) -> float:
    """The model's old figure in CLUB: the attacker adds s / (1 - s) x the stake it competes with,
    where s is the binomial share for the target probability."""
    share = security.stake_share_for_panel(rules.panel_size, target)
    return float(security.buy_in_multiple(share)) * total_stake


def simulate_capture(
    rules: DisputeRules,
    draw_weight: np.ndarray,
    own: np.ndarray,
    attacker: np.ndarray,
    excluded: np.ndarray,
    trials: int,
    rng: np.random.Generator,
) -> float:
    """Share of `trials` panels, drawn as `Disputes.draw_panel` draws them, that kick the target.

    Sequential weighted sampling without replacement is drawn with Gumbel keys (the top k + SPARE
    keys in order); the first k candidates are seated unless excluded, and when exclusions took
    seats the SPARE next candidates fill them. Vote weights are own stake capped at the reviewer
    cap; attacker reviewers vote kick, the others against, all reveal.
    """
    k = rules.panel_size
    n = len(draw_weight)
    take = min(k + SPARE, n)
    keys = np.log(draw_weight)[None, :] + rng.gumbel(size=(trials, n))
    order = np.argsort(-keys, axis=1)[:, :take]
    vote = np.minimum(own, rules.reviewer_cap)
    kicks = 0
    for row in order:
        first = row[:k]
        seated = [i for i in first if not excluded[i]]
        if len(seated) < k:
            seated += [i for i in row[k:take] if not excluded[i]][: k - len(seated)]
        weight = vote[seated]
        total = weight.sum()
        kick = weight[attacker[seated]].sum()
        if total > 0 and kick > rules.majority * total:
            kicks += 1
    return kicks / trials


# ---- flag griefing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Griefing:
    """What flags sent to harass cost the flagger and the honest side (CLUB, hours, flags)."""

    bond_lost_per_flag: float  # the bond, paid to the reviewers who revealed
    frozen_hours: float  # the target's pool cannot be withdrawn from the flag to the decision
    reviewer_busy_hours: float  # a drawn reviewer is unavailable for other panels
    flags_per_day_to_block_all: float  # flags a day that keep every RELAY reviewer busy
    bonds_per_day_to_block_all: float  # CLUB a day they cost
    flagger_value_per_flag: float  # expected CLUB per flag of a flagger holding the capture stake


def flag_griefing(rules: DisputeRules, honest: Reviewers, capture: float, target_pool: float) -> Griefing:
    """A false flag against an honest node, decided by honest reviewers, loses its bond (to them) and
    freezes the target's pool for the vote; the target loses no stake. Flags can also keep reviewers
    busy (a seat blocks its reviewer for the vote plus the cool-down): `honest.nodes / k` flags per
    such period occupy every RELAY node, after which new disputes get short panels or none (then the
    bond comes back and the node is unfrozen). `capture` is the flagger's capture probability (its own
    reviewers' stake): a kick returns the bond plus the flagger's share of the cut of `target_pool`."""
    k = rules.panel_size
    busy = (rules.vote_seconds + rules.cooldown_seconds) / 3600.0
    flags_per_day = honest.nodes / k * 24.0 / busy
    reward = rules.flagger_reward_share * rules.kick_fraction * target_pool
    return Griefing(
        bond_lost_per_flag=rules.flag_bond,
        frozen_hours=rules.vote_seconds / 3600.0,
        reviewer_busy_hours=busy,
        flags_per_day_to_block_all=flags_per_day,
        bonds_per_day_to_block_all=flags_per_day * rules.flag_bond,
        flagger_value_per_flag=capture * reward - (1.0 - capture) * rules.flag_bond,
    )


# ---- equivocation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Equivocation:
    """A relay that forks a room log: its expected loss and the gain a fork must bring to pay."""

    cut: float  # CLUB cut from its pool when proven
    self_report_cut: float  # net of the reporter share when a friend proves it first
    jail_days: float  # first offence
    rewards_lost: float  # CLUB of pool rewards forgone while jailed
    expected_loss: float  # detection probability x (self-reported cut + rewards lost)
    delegators_share: float  # part of the cut borne by its delegators


def equivocation(
    rules: DisputeRules, pool: float, own: float, reward_per_day: float, detect_prob: float
) -> Equivocation:
    """Expected loss of a relay with `pool` CLUB (of which `own` its own) that forks a log once and is
    proven with probability `detect_prob`: at best it has a friend prove it and keeps the reporter
    share, and it forgoes its pool's rewards (`reward_per_day` CLUB) for its first jail. The fork pays
    only if it is worth more than this to the relay."""
    cut = rules.equivocation_fraction * pool
    net = cut * (1.0 - rules.reporter_share)
    jail = min(rules.jail_base_seconds, rules.jail_max_seconds) / 86400.0
    lost = reward_per_day * jail
    return Equivocation(
        cut=cut,
        self_report_cut=net,
        jail_days=jail,
        rewards_lost=lost,
        expected_loss=detect_prob * (net + lost),
        delegators_share=1.0 - own / pool if pool > 0 else 0.0,
    )


def jail_days(rules: DisputeRules, offence: int) -> float:
    """Jail length of a node's n-th offence (days): base x 2^(n - 1), at most the maximum."""
    return min(rules.jail_base_seconds * 2 ** (offence - 1), rules.jail_max_seconds) / 86400.0


def panel_population(nodes_relay: float, relay_stake: float, own_per_node: float) -> Reviewers:
    """Honest reviewers from the model's state: RELAY node count, RELAY stake, own stake per node."""
    n = max(math.floor(nodes_relay), 1)
    pool = relay_stake / n
    return Reviewers(nodes=n, pool=pool, own=min(own_per_node, pool))
