"""set_parameters: only the Timelock (PARAMETER_ROLE); every bad value refused with its reason."""

from __future__ import annotations

import boa
import pytest

from tests.utils.disputes import set_params

WAD = 10**18
MAX_CAP_UNITS = (2**24 - 1) // 14


def test_largest_packed_values_are_accepted(disputes, governance):
    """The bounds of the packed dispute word are inclusive: the largest cap (whole CLUB, any wei
    below the next one) and the longest reveal phase are accepted and read back unchanged."""
    cap = MAX_CAP_UNITS * WAD + WAD - 1
    set_params(disputes, governance, reviewer_cap=cap, vote_reveal_seconds=2**24 - 1)
    assert (disputes.parameters().reviewer_cap, disputes.parameters().vote_reveal_seconds) == (cap, 2**24 - 1)


def test_timelock_sets_every_parameter(disputes, governance, params):
    assert tuple(disputes.parameters()) == params.disputes.as_tuple()
    changed = disputes.parameters()._replace(panel_size=5, flag_bond=7 * WAD, quorum_bps=6000)
    with boa.env.prank(governance):
        disputes.set_parameters(tuple(changed))
        [ev] = [e for e in disputes.get_logs() if type(e).__name__ == "ParametersChanged"]
    assert disputes.parameters() == changed
    assert tuple(ev.parameters) == tuple(changed)


def test_only_parameter_role(disputes, non_admin, deployer, registry):
    # Not the deployer (renounced at the hand-over), not anyone else.
    for who in (non_admin, deployer, str(registry.address)):
        with boa.env.prank(who), boa.reverts("access_control: account is missing role"):
            disputes.set_parameters(tuple(disputes.parameters()))


def test_the_timelock_holds_the_admin_roles(disputes, governance, deployer):
    assert disputes.hasRole(disputes.PARAMETER_ROLE(), governance)
    assert disputes.hasRole(disputes.DEFAULT_ADMIN_ROLE(), governance)
    assert not disputes.hasRole(disputes.PARAMETER_ROLE(), deployer)


BAD = [
    ({"equivocation_fraction": 0}, "disputes: bad fraction"),
    ({"equivocation_fraction": WAD + 1}, "disputes: bad fraction"),
    ({"kick_fraction": 0}, "disputes: bad fraction"),
    ({"kick_fraction": WAD + 1}, "disputes: bad fraction"),
    ({"non_voter_fraction": 0}, "disputes: bad fraction"),
    ({"non_voter_fraction": WAD}, "disputes: bad fraction"),
    ({"reporter_share": WAD + 1}, "disputes: bad share"),
    ({"flagger_reward_share": WAD + 1}, "disputes: bad share"),
    ({"evidence_window_seconds": 0}, "disputes: zero evidence window"),
    ({"evidence_window_seconds": 1_209_600}, "disputes: evidence window not below unbonding"),
    ({"reveal_window_seconds": 0}, "disputes: zero reveal window"),
    ({"flag_bond": 0}, "disputes: bad bond"),
    ({"flag_bond": 2**96}, "disputes: bad bond"),
    ({"panel_size": 0}, "disputes: bad panel size"),
    ({"panel_size": 15}, "disputes: bad panel size"),
    ({"reviewer_cap": WAD - 1}, "disputes: bad reviewer cap"),
    ({"reviewer_cap": 2**32 * WAD}, "disputes: bad reviewer cap"),
    # A panel's weight (14 capped seats) is kept in 24 bits of the dispute's word.
    ({"reviewer_cap": (MAX_CAP_UNITS + 1) * WAD}, "disputes: bad reviewer cap"),
    ({"quorum_bps": 0}, "disputes: bad quorum"),
    ({"quorum_bps": 10_001}, "disputes: bad quorum"),
    ({"majority_bps": 4999}, "disputes: bad majority"),
    ({"majority_bps": 10_000}, "disputes: bad majority"),
    ({"vote_commit_seconds": 0}, "disputes: zero vote phase"),
    ({"vote_reveal_seconds": 0}, "disputes: zero vote phase"),
    ({"jail_base_seconds": 0}, "disputes: bad jail"),
    ({"jail_max_seconds": 86_399}, "disputes: bad jail"),
    ({"reviewer_cooldown_seconds": 2**32}, "disputes: period too long"),
    # The reveal phase is kept in 24 bits of the dispute's word.
    ({"vote_reveal_seconds": 2**24}, "disputes: period too long"),
    ({"jail_max_seconds": 2**32}, "disputes: period too long"),
]


@pytest.mark.parametrize(
    ("change", "reason"), BAD, ids=[f"{next(iter(c))}={next(iter(c.values()))}" for c, _ in BAD]
)
def test_bad_values(disputes, governance, change, reason):
    with boa.reverts(reason):
        set_params(disputes, governance, **change)
