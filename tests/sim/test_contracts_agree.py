"""Contracts in the loop: the model and the deployed contracts agree on supply, emission, vesting and burns.

The baseline's run 1 is replayed for 30 weekly epochs on the real contracts (deployed by the
same plan as `ape run deploy`). Tolerances (clubchat.sim.loop): the float model within a relative
1e-9 of the chain; the exact wei mirrors of the contracts' arithmetic to the wei. A mismatch fails.
"""

from __future__ import annotations

import pytest

from clubchat.sim import loop
from tests.utils.deployer import deploy_all

EPOCHS = 30


@pytest.fixture(scope="module")
def replayed(params):
    import boa

    with boa.env.anchor():
        return loop.replay("baseline", epochs=EPOCHS, seed=0, params=params, deploy=deploy_all)


def test_model_and_contracts_agree(replayed):
    assert replayed.mismatches() == []
    df = replayed.frame()
    assert len(df) == EPOCHS
    last = df.iloc[-1]
    # the replay really moved the chain: emission minted, escrows vested (investors past their cliff), burns
    assert last["emitted_chain"] > 0 and last["vested_chain"] > 0 and last["burned_chain"] > 0
    assert df["vested_chain"].is_monotonic_increasing and df["emitted_chain"].is_monotonic_increasing


def test_a_one_wei_difference_is_caught(replayed):
    row = dict(replayed.rows[3])
    broken = loop.LoopResult("baseline", 0, 1, 1, rows=[{**row, "emitted_chain": row["emitted_chain"] + 1}])
    assert any("exact mirror" in m for m in broken.mismatches())
    drifted = loop.LoopResult(
        "baseline", 0, 1, 1, rows=[{**row, "burned_model": row["burned_model"] * 1.001}]
    )
    assert any("burned" in m for m in drifted.mismatches())
