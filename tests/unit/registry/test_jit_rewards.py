"""Just-in-time stake (issue 11, finding 7; poc_jit_rewards.py): Emission's weekly node share lands
in one registry finalisation and is spread over the weight present at that moment, so stake that
arrives one block before earns as much as stake held all week.

NOT FIXED YET: the chosen fix (time-weighted rewards: a Synthetix-style accumulator that streams each
finalised amount over the following period, so a stake earns in proportion to the time it is bonded)
rewrites the reward accrual that findings 3 and 6 change in parallel; it is left for after that
merge. The test is a strict xfail: it records today's behaviour and fails (XPASS) once the fix lands.
"""

from __future__ import annotations

import boa
import pytest

from tests.utils.registry import RELAY, finish_epoch, fund, now, register_node

WAD = 10**18


@pytest.mark.xfail(strict=True, reason="issue 11 finding 7: rewards are not time-weighted yet")
def test_stake_present_one_block_before_finalisation_does_not_earn_the_week(
    registry, token, emission, governance, actors
):
    op, key = actors.operator, actors.node_key
    loyal, jit = str(boa.env.generate_address("loyal")), str(boa.env.generate_address("jit"))
    for who in (loyal, jit):
        fund(token, registry, governance, who, 1_000_000 * WAD)
    register_node(registry, op, key, kinds=RELAY, amount=50_000 * WAD, commission_bps=0)
    with boa.env.prank(key):
        registry.heartbeat()
    with boa.env.prank(loyal):
        registry.delegate(op, 100_000 * WAD)
    t_mint = emission.next_epoch_time()
    while registry.EPOCH_START() + (registry.epochs_finalised() + 1) * registry.EPOCH_SECONDS() <= t_mint:
        finish_epoch(registry, key)
    boa.env.time_travel(seconds=max(0, t_mint - now()) + 1)
    emission.advance()  # the week's node share lands
    with boa.env.prank(jit):
        registry.delegate(op, 100_000 * WAD)  # one block before the finalisation
    finish_epoch(registry, key)
    loyal_reward = registry.pending_rewards(op, loyal)
    assert loyal_reward > 0
    # Time-weighted, the late stake earns at most its share of the last epoch of the week.
    assert registry.pending_rewards(op, jit) <= loyal_reward // 7, (
        registry.pending_rewards(op, jit),
        loyal_reward,
    )
