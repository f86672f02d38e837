"""Just-in-time stake (the security review's finding 7): Emission's weekly node share lands
in one registry finalisation. It used to be spread at once over the weight present at that moment,
so stake that arrived one block before (and left one block after) earned as much as stake held all
week. Now each finalisation streams its amount over the next EPOCH_SECONDS, second by second, to
the weight present: a stake earns in proportion to the seconds it is bonded."""

from __future__ import annotations

import boa

from tests.utils.registry import (
    RELAY,
    beat,
    finish_epoch,
    fund,
    live_for,
    now,
    register_node,
    send_rewards,
    set_parameters,
)

WAD = 10**18


def _accounts(token, registry, governance, *names: str) -> list[str]:
    out = [str(boa.env.generate_address(name)) for name in names]
    for who in out:
        fund(token, registry, governance, who, 1_000_000 * WAD)
    return out


def _loyal_node_until_the_mint(registry, emission, actors, loyal: str) -> int:
    """The operator's RELAY node (50,000 CLUB, no commission) with `loyal`'s 100,000 CLUB, beating
    and finalised up to the last reward epoch before Emission's next mint; returns the mint time."""
    op, key = actors.operator, actors.node_key
    register_node(registry, op, key, kinds=RELAY, amount=50_000 * WAD, commission_bps=0)
    beat(registry, key)
    with boa.env.prank(loyal):
        registry.delegate(op, 100_000 * WAD)
    t_mint = emission.next_epoch_time()
    while registry.EPOCH_START() + (registry.epochs_finalised() + 1) * registry.EPOCH_SECONDS() <= t_mint:
        finish_epoch(registry, key)
    return int(t_mint)


def test_stake_present_one_block_around_finalisation_earns_nothing(
    directory, registry, token, emission, governance, actors
):
    """The PoC: loyal delegates for the whole week, jit delegates one block before the finalisation
    that brings the week's mint and unbonds one block after. Failed before the fix: jit earned the
    same as loyal (100,000 CLUB each of a 250,000 CLUB pool)."""
    op, key = actors.operator, actors.node_key
    loyal, jit = _accounts(token, registry, governance, "loyal", "jit")
    t_mint = _loyal_node_until_the_mint(registry, emission, actors, loyal)
    boa.env.time_travel(seconds=max(0, t_mint - now()) + 1)
    emission.advance()  # the week's node share lands
    with boa.env.prank(jit):
        registry.delegate(op, 100_000 * WAD)  # one block before the finalisation
    finish_epoch(registry, key)
    with boa.env.prank(jit):
        registry.unbond(op, directory.shares(op, jit))  # one block after
    live_for(registry, registry.EPOCH_SECONDS(), key)  # the stream runs for a day
    loyal_reward = directory.pending_rewards(op, loyal)
    assert loyal_reward > 0
    assert directory.pending_rewards(op, jit) == 0, (directory.pending_rewards(op, jit), loyal_reward)


def test_rewards_follow_the_seconds_a_stake_is_bonded(
    directory, registry, token, governance, actors, minimum
):
    """Three delegators of equal size: `full` holds the whole stream, `late` joins halfway,
    `leaver` leaves halfway. Per second bonded, each earns the same; the halves earn half."""
    op, key = actors.operator, actors.node_key
    full, late, leaver = _accounts(token, registry, governance, "full", "late", "leaver")
    register_node(registry, op, key, kinds=RELAY, amount=100_000 * WAD, commission_bps=0)
    beat(registry, key)
    for who in (full, leaver):
        with boa.env.prank(who):
            registry.delegate(op, 100_000 * WAD)
    send_rewards(token, registry, governance, 86_400 * WAD + registry.finalize_tip())
    finish_epoch(registry, key)  # streams 86,400 CLUB over the next `stream_seconds`
    period = registry.stream_seconds()
    start = now()
    live_for(registry, period // 2, key)
    with boa.env.prank(late):
        registry.delegate(op, 100_000 * WAD)
    with boa.env.prank(leaver):
        registry.unbond(op, directory.shares(op, leaver))
    live_for(registry, period - (now() - start) + 10, key)  # past the end of the stream
    got = {
        name: directory.pending_rewards(op, who)
        for name, who in (("full", full), ("late", late), ("leaver", leaver))
    }
    # Three equal stakes (the operator's, full's and leaver's, then late's) in each half: full earns
    # a third of each half, the others a third of one half (up to rounding dust).
    total = 86_400 * WAD
    assert abs(got["full"] - 2 * total // 6) <= total // 10**6, got
    assert abs(got["late"] - total // 6) <= total // 10**6, got
    assert abs(got["leaver"] - total // 6) <= total // 10**6, got
    # Nothing more streams after the end.
    live_for(registry, 3600, key)
    assert directory.pending_rewards(op, full) == got["full"]


def _day_trader_leverage(
    directory, registry, token, emission, governance, actors, stream_seconds: int
) -> float:
    """Stake held for one day around the weekly finalisation (the one that brings Emission's
    weekly mint): what it earned / (its stake share x the mint x one day / one week)."""
    op, key = actors.operator, actors.node_key
    loyal, trader = _accounts(token, registry, governance, "loyal", "trader")
    set_parameters(registry, governance, stream_seconds=stream_seconds)
    t_mint = _loyal_node_until_the_mint(registry, emission, actors, loyal)
    live_for(registry, max(0, t_mint - now()) + 1, key)  # the last stream has run out
    before = token.balanceOf(registry.address)
    emission.advance()  # the week's node share lands
    minted = token.balanceOf(registry.address) - before
    assert minted > 0
    with boa.env.prank(trader):
        registry.delegate(op, 100_000 * WAD)  # just before the weekly finalisation
    finish_epoch(registry, key)
    live_for(registry, registry.EPOCH_SECONDS(), key)  # held for one day
    with boa.env.prank(trader):
        registry.unbond(op, directory.shares(op, trader))
    earned = directory.pending_rewards(op, trader)
    share = 100_000 / 250_000
    week = emission.epoch_seconds()
    return earned / (share * (minted - registry.finalize_tip()) * registry.EPOCH_SECONDS() / week)


def test_a_day_around_the_weekly_mint_earns_a_days_share(
    directory, registry, token, emission, governance, actors
):
    """Emission mints the node share once a week; the registry finalises daily. Streamed over one
    day (the old stream period, still settable), the week's mint went to the stake present that
    day: a 7x leverage for stake held only that day. Streamed over the emission epoch (the
    deployed `stream_seconds`), that day earns a day's share."""
    assert registry.stream_seconds() == emission.epoch_seconds() == 7 * 86_400
    with boa.env.anchor():
        one_day = _day_trader_leverage(directory, registry, token, emission, governance, actors, 86_400)
    one_week = _day_trader_leverage(directory, registry, token, emission, governance, actors, 7 * 86_400)
    assert 6.9 <= one_day <= 7.01, one_day
    assert 0.99 <= one_week <= 1.01, one_week
