"""Contracts in the loop: model and contracts agree on supply, emission, vesting, burns, stake and rewards.

The baseline's run 1 is replayed for 26 weekly epochs (past the investors' 180-day cliff) on the
real contracts deployed by the same plan as `ape run deploy`, NodeRegistry included. Tolerances
(clubchat.sim.loop): the float model within a relative 1e-9 of the chain; the exact wei mirrors
of the contracts' arithmetic to the wei. A mismatch fails.
"""

from __future__ import annotations

import pytest

from clubchat.sim import loop
from tests.utils.deployer import deploy_all

EPOCHS = 26


@pytest.fixture(scope="module")
def replayed(params):
    import boa

    with boa.env.anchor():
        return loop.replay("baseline", epochs=EPOCHS, seed=0, params=params, deploy=deploy_all)


def test_model_and_contracts_agree(replayed):
    """Emission r x (cap - totalSupply) after the day-by-day burns, vesting, stake and rewards: chain ==
    model within 1e-9 and == the exact mirrors to the wei (the guard is off on both sides here)."""
    assert replayed.mismatches() == []
    df = replayed.frame()
    assert len(df) == EPOCHS
    last = df.iloc[-1]
    # the replay really moved the chain: emission minted, escrows vested (investors past their cliff), burns
    assert last["emitted_chain"] > 0 and last["vested_chain"] > 0 and last["burned_chain"] > 0
    assert replayed.staking_in_loop, "NodeRegistry is in the deploy plan, so staking must be in the loop"
    assert (
        last["stake_chain"] > 0
        and last["rewards_operators_chain"] > 0
        and last["rewards_delegators_chain"] > 0
    )
    # every node reward minted to the registry was paid out, up to finalize tips and rounding dust,
    # except the last week's: it landed in the last finalisation and streams over the next day
    paid = last["rewards_operators_chain"] + last["rewards_delegators_chain"]
    assert 0.999 * df.iloc[-2]["node_rewards_chain"] < paid <= last["node_rewards_chain"]
    assert df["vested_chain"].is_monotonic_increasing and df["emitted_chain"].is_monotonic_increasing


def test_a_one_wei_difference_is_caught(replayed):
    row = dict(replayed.rows[3])
    broken = loop.LoopResult("baseline", 0, 1, 1, rows=[{**row, "emitted_chain": row["emitted_chain"] + 1}])
    assert any("exact mirror" in m for m in broken.mismatches())
    drifted = loop.LoopResult(
        "baseline", 0, 1, 1, rows=[{**row, "burned_model": row["burned_model"] * 1.001}]
    )
    assert any("burned" in m for m in drifted.mismatches())
    off = {**row, "rewards_delegators_model": row["rewards_delegators_model"] * 0.99}
    split = loop.LoopResult("baseline", 0, 1, 1, rows=[off], staking_in_loop=True)
    assert any("rewards_delegators" in m for m in split.mismatches())


def test_guarded_emission_agrees_with_the_exact_mirror(params):
    """With the bootstrap guard on, the chain mints to the wei what the mirror of the rule says for the
    registry stake it had (burns refill the gap, the node share capped at multiple x isqrt(stake))."""
    import boa

    with boa.env.anchor():
        guarded = loop.replay("baseline", epochs=8, seed=0, params=params, deploy=deploy_all, bootstrap=True)
    assert guarded.mismatches() == []
    last = guarded.frame().iloc[-1]
    assert last["emitted_exact"] == last["emitted_chain"] > 0
    assert last["node_rewards_chain"] == last["node_rewards_exact"]
    assert last["total_supply_chain"] == last["total_supply_exact"]
