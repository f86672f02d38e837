"""Appendix A: every value of deployments/parameters.yaml as a Markdown table between markers.

The markers let tests/sim/test_whitepaper.py check the committed document against the parameters file.
"""

from __future__ import annotations

from clubchat.params import BPS, WAD, Parameters
from clubchat.sim.whitepaper.text import club, days_text, pct, table

PARAM_BEGIN = "<!-- BEGIN parameters-table (generated from deployments/parameters.yaml) -->"
PARAM_END = "<!-- END parameters-table -->"


def parameters_table(params: Parameters) -> str:
    """Every value of deployments/parameters.yaml, in the units of the file, as a Markdown table."""
    t, g, e, gv, r = params.token, params.genesis, params.emission, params.governance, params.registry
    rows: list[tuple[str, str, str]] = [
        ("token", "name / symbol / decimals", f"{t.name} / {t.symbol} / {t.decimals}"),
        ("token", "cap", club(t.cap_wei / WAD)),
        ("genesis", "treasury", club(g.treasury_wei / WAD)),
        ("genesis", "liquidity", club(g.liquidity_wei / WAD)),
    ]
    for a in g.vesting:
        rows.append(
            (
                "genesis.vesting",
                a.name,
                f"{club(a.amount_wei / WAD)}, cliff {days_text(a.cliff_seconds)}, "
                f"duration {days_text(a.duration_seconds)}, revocable {'yes' if a.revocable else 'no'}",
            )
        )
    rows += [
        ("emission", "epoch", days_text(e.epoch_seconds)),
        ("emission", "rate per epoch", pct(e.rate_per_epoch_wad / WAD, 3)),
        ("emission", "keeper tip", club(e.tip_wei / WAD) + " per epoch"),
    ]
    rows += [("emission.receivers", x.name, pct(x.weight_bps / BPS)) for x in e.receivers]
    rows += [
        ("governance", "voting delay", days_text(gv.voting_delay_seconds)),
        ("governance", "voting period", days_text(gv.voting_period_seconds)),
        ("governance", "proposal threshold", pct(gv.proposal_threshold_bps / BPS, 2) + " of supply"),
        ("governance", "quorum", pct(gv.quorum_numerator / gv.quorum_denominator) + " of past total supply"),
        ("governance", "late-quorum extension", days_text(gv.late_quorum_extension_seconds)),
        ("governance", "timelock delay", days_text(gv.timelock_delay_seconds)),
        ("governance", "grace period", days_text(gv.grace_period_seconds)),
        ("registry", "kinds", ", ".join(f"{k} = {v}" for k, v in r.kinds.items())),
        ("registry", "minimum self-stake", club(r.min_self_stake_per_kind_wei / WAD) + " per kind"),
        ("registry", "saturation", f"delegations <= {r.saturation_multiple} x self-stake"),
        ("registry", "unbonding", days_text(r.unbonding_seconds)),
        ("registry", "heartbeat", f"at least every {days_text(r.heartbeat_seconds)}"),
        ("registry", "reward epoch", days_text(r.epoch_seconds)),
        (
            "registry",
            "commission",
            f"<= {pct(r.commission_max_bps / BPS)}, "
            f"<= {pct(r.commission_max_change_bps / BPS)} per change, "
            f"effective after {days_text(r.commission_delay_seconds)}",
        ),
        ("registry", "finalize tip", club(r.finalize_tip_wei / WAD) + " per reward epoch"),
        (
            "registry",
            "reward split by kind",
            " / ".join(
                f"{k} {pct(bps / BPS)}"
                for k, bps in zip(("RELAY", "TURN", "NOTIFY"), r.kind_reward_bps, strict=True)
            )
            + " of each stream, re-split over the kinds with nodes",
        ),
        *_disputes_rows(params),
    ]
    body = table(["section", "parameter", "value"], rows)
    return f"{PARAM_BEGIN}\n{body}\n{PARAM_END}"


def _disputes_rows(params: Parameters) -> list[tuple[str, str, str]]:
    d = params.disputes

    def frac(wad: int) -> str:
        return pct(wad / WAD)

    vote = f"{days_text(d.vote_commit_seconds)} / {days_text(d.vote_reveal_seconds)}"
    jail = f"{days_text(d.jail_base_seconds)}, doubling per offence, at most {days_text(d.jail_max_seconds)}"
    return [
        ("disputes", "equivocation slash", frac(d.equivocation_fraction_wad) + " of the pool"),
        ("disputes", "reporter share", frac(d.reporter_share_wad) + " of the cut (the rest burns)"),
        ("disputes", "evidence window", days_text(d.evidence_window_seconds)),
        ("disputes", "reveal window", days_text(d.reveal_window_seconds)),
        ("disputes", "flag bond", club(d.flag_bond_wei / WAD)),
        ("disputes", "panel size", f"{d.panel_size} reviewers"),
        ("disputes", "reviewer cap", club(d.reviewer_cap_wei / WAD) + " of vote weight (own stake)"),
        ("disputes", "quorum", pct(d.quorum_bps / BPS) + " of the panel's weight revealed"),
        ("disputes", "majority", "kick weight > " + pct(d.majority_bps / BPS) + " of the revealed"),
        ("disputes", "vote commit / reveal", vote),
        ("disputes", "kick slash", frac(d.kick_fraction_wad) + " of the pool"),
        ("disputes", "flagger reward", frac(d.flagger_reward_share_wad) + " of the kick cut (rest burns)"),
        ("disputes", "non-voter slash", frac(d.non_voter_fraction_wad) + " of a silent reviewer's pool"),
        ("disputes", "jail", jail),
        ("disputes", "reviewer cool-down", days_text(d.reviewer_cooldown_seconds)),
    ]


def extract_parameters_table(markdown: str) -> str:
    start = markdown.index(PARAM_BEGIN)
    end = markdown.index(PARAM_END) + len(PARAM_END)
    return markdown[start:end]
