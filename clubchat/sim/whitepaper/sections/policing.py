"""The "policing" section: disputes with the contract's parameters (panel capture on the real draw
against the old binomial, flag griefing, equivocation), and its replay on the real contracts for
Appendix F.

The network the attacker faces is the baseline's median state at a year: RELAY nodes, the stake in
RELAY's sum tree (the whole stake of every node declaring RELAY, as the model records it), own stake
per node.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clubchat.sim import disputes, model
from clubchat.sim.parameters import SimParams
from clubchat.sim.whitepaper.runs import Results, at_year
from clubchat.sim.whitepaper.text import club, num, pct, table, usd

PANEL_REPLAY_TRIALS = 120
KINDS_COLUMNS = ("nodes_relay", "nodes_turn", "nodes_notify")


@dataclass(frozen=True)
class MedianState:
    """Medians over the runs of the baseline on the last recorded day of a year."""

    year: float
    relay_nodes: float
    relay_stake: float
    own_per_node: float
    price: float
    circulating: float
    staking_yield: float

    @classmethod
    def at(cls, res: Results, year: float) -> MedianState:
        df = at_year(res.by_scenario["baseline"], year)
        nodes = df[list(KINDS_COLUMNS)].to_numpy()
        return cls(
            year=year,
            relay_nodes=float(np.median(nodes[:, 0])),
            relay_stake=float(df["relay_stake"].median()),
            own_per_node=float(np.median(df["self_stake"].to_numpy() / df["operators"].to_numpy())),
            price=float(df["price_usd"].median()),
            circulating=float(df["circulating"].median()),
            staking_yield=float(df["staking_yield"].median()),
        )

    def reviewers(self) -> disputes.Reviewers:
        return disputes.panel_population(self.relay_nodes, self.relay_stake, self.own_per_node)

    def attack_usd(self, p: SimParams, club_amount: float) -> float:
        cost = model.staked_attack_usd(p, club_amount, self.price, self.circulating, self.staking_yield)
        return float(cost)


def _panel_row(p: SimParams, rules: disputes.DisputeRules, st: MedianState, all_stake: float) -> list[str]:
    honest = st.reviewers()
    exact = disputes.stake_for_capture(rules, honest, p.panel_capture_prob, p.min_self_stake)
    old = disputes.binomial_stake_for_capture(rules, all_stake, p.panel_capture_prob)
    return [
        f"{st.year:g} y",
        num(honest.nodes),
        f"{club(honest.own)} / {club(honest.pool)}",
        f"{exact.seats_needed} of {rules.panel_size}",
        f"{club(exact.stake)} ({num(exact.nodes)} nodes)",
        usd(st.attack_usd(p, exact.stake)),
        club(old),
        usd(st.attack_usd(p, old)),
        f"{old / exact.stake:.1f}x",
    ]


def policing_facts(res: Results) -> dict[str, str]:
    """Panel capture, flag griefing and equivocation at the baseline's median state."""
    p, y = res.p, res.years
    rules = disputes.DisputeRules.from_params(res.params)
    base = res.by_scenario["baseline"]
    states = [MedianState.at(res, yr) for yr in (1.0, y)]
    all_stake = [float(at_year(base, st.year)["staked"].median()) for st in states]
    last = states[-1]
    honest = last.reviewers()
    exact = disputes.stake_for_capture(rules, honest, p.panel_capture_prob, p.min_self_stake)
    grief = disputes.flag_griefing(rules, honest, capture=0.0, target_pool=honest.pool)
    # the pool's reward per day: the delegator yield is 365 x pool income x (1 - commission) / stake
    reward_day = honest.pool * last.staking_yield / (365.0 * (1.0 - p.commission))
    eq = disputes.equivocation(rules, honest.pool, honest.own, reward_day, p.attack_detect_prob)
    binomial_relay = disputes.binomial_stake_for_capture(rules, honest.stake, p.panel_capture_prob)
    return {
        "policing_table": table(
            [
                "year",
                "RELAY nodes",
                "own / pool stake per node",
                "seats that carry a kick",
                "contract's draw: stake",
                "USD",
                "old binomial, all stake",
                "USD",
                "old / contract",
            ],
            [_panel_row(p, rules, st, s) for st, s in zip(states, all_stake, strict=True)],
        ),
        "policing_reviewer_cap": club(rules.reviewer_cap),
        "policing_seats": str(exact.seats_needed),
        "policing_exact_prob": pct(exact.probability, 2),
        "policing_binomial_relay": club(binomial_relay),
        "policing_flag_bond": club(rules.flag_bond),
        "policing_flag_bond_usd": usd(rules.flag_bond * last.price),
        "policing_frozen_hours": f"{grief.frozen_hours:g}",
        "policing_busy_hours": f"{grief.reviewer_busy_hours:g}",
        "policing_block_flags": f"{grief.flags_per_day_to_block_all:,.1f}",
        "policing_block_club": club(grief.bonds_per_day_to_block_all),
        "policing_block_usd": usd(grief.bonds_per_day_to_block_all * last.price),
        "policing_kick": pct(rules.kick_fraction, 0),
        "policing_flagger_share": pct(rules.flagger_reward_share, 0),
        "policing_fork_cut": pct(rules.equivocation_fraction, 0),
        "policing_reporter_share": pct(rules.reporter_share, 0),
        "policing_relay_pool": club(honest.pool),
        "policing_fork_loss": club(eq.expected_loss),
        "policing_fork_loss_usd": usd(eq.expected_loss * last.price),
        "policing_fork_cut_club": club(eq.cut),
        "policing_fork_delegators": pct(eq.delegators_share, 0),
        "policing_jail": f"{eq.jail_days:g}",
        "policing_jail_max": f"{disputes.jail_days(rules, 64):g}",
    }


def policing_replay_text() -> str:
    """The Disputes attackers on the real contracts (`clubchat.sim.dispute_replay`), for Appendix F."""
    import boa

    from clubchat.sim import dispute_replay

    with boa.env.anchor():
        panel = dispute_replay.panel_replay(trials=PANEL_REPLAY_TRIALS)
    with boa.env.anchor():
        grief = dispute_replay.griefing_replay()
    wad = 10**18
    return "\n".join(
        [
            "**Disputes on the contracts** (`clubchat/sim/dispute_replay.py`). "
            f"{panel.honest_nodes} honest RELAY operators with {club(panel.honest_own)} of own stake "
            f"and {club(panel.honest_delegated)} delegated each, and an attacker with "
            f"{panel.attacker_nodes} self-staked nodes of {club(panel.attacker_stake)}: of "
            f"{panel.trials} panels drawn by `Disputes.draw_panel` against one honest node, "
            f"{panel.captured} ({pct(panel.captured_share, 0)}) gave the attacker's seats the weight "
            "to kick, against the exact probability of the contract's draw "
            f"{pct(panel.exact, 0)} (standard error {pct(panel.standard_error, 0)}) and the old "
            f"binomial's {pct(panel.binomial, 1)}; every seat weighed min(own stake, cap)"
            f"{'' if panel.weights_match else ' — NOT: the contract weighed seats otherwise'}.",
            "",
            f"A flagger without stake sent {grief.flags} false flags that honest reviewers voted down: it "
            f"lost {club(grief.flagger_spent / wad)}, the reviewers who revealed collected "
            f"{club(grief.reviewers_paid / wad)}, the flagged nodes lost "
            f"{club(grief.target_stake_lost / wad)} "
            f"and the one reviewer that did not vote lost {club(grief.silent_reviewer_cut / wad)}. Then it "
            f"sent {grief.flood} flags at once against a network of {grief.honest_nodes} nodes: "
            f"{grief.flood_full_panels} "
            f"got full panels, {grief.flood_short_panels} short ones and {grief.flood_dismissed} were "
            f"dismissed for want of reviewers (bonds returned: {club(grief.flood_refunded / wad)}).",
        ]
    )
