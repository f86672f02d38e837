"""Premium.subscribe: price per period, burn share and node share, stacking, gifts, bad inputs."""

from __future__ import annotations

import boa
import pytest

from clubchat.premium import split_payment, subscription_cost
from tests.utils.communities import WAD, events, now

ZERO = "0x0000000000000000000000000000000000000000"


def test_tiers_come_from_parameters(premium, params):
    pm = params.premium
    assert premium.tier_count() == len(pm.tiers) - 1
    assert premium.period_seconds() == pm.period_seconds and premium.burn_bps() == pm.burn_bps
    for number, tier in enumerate(pm.tiers):
        t = premium.tiers(number)
        assert (
            t.max_message_bytes,
            t.max_file_bytes,
            t.max_call_seconds,
            t.mailbox_quota_bytes,
        ) == tier.limits
        assert (t.price_per_period, t.lock_amount) == (tier.price_wei, tier.lock_wei)
    assert premium.tiers(0).max_call_seconds <= 300  # free calls: at most 5 minutes


def test_subscribe_sets_the_shares_aside_and_settle_moves_them(
    premium, token, registry, funded, payer, friend, params
):
    price = params.premium.tiers[1].price_wei
    supply, reg, bal = token.totalSupply(), token.balanceOf(registry.address), token.balanceOf(payer)
    with boa.env.prank(payer):
        expires = premium.subscribe(payer, 1, 3)
    paid = 3 * price
    burned = paid * params.premium.burn_bps // 10_000
    assert expires == now() + 3 * params.premium.period_seconds
    assert events(premium, "Subscribed") == [
        {
            "payer": payer,
            "account": payer,
            "tier": 1,
            "periods": 3,
            "paid": paid,
            "burn_share": burned,
            "expires_at": expires,
        }
    ]
    assert token.balanceOf(payer) == bal - paid and token.balanceOf(premium.address) == paid
    assert (premium.pending_burn(), premium.pending_to_nodes()) == (burned, paid - burned)
    assert token.totalSupply() == supply  # nothing burnt before `settle`
    assert premium.tier_of(payer) == 1 and premium.subscription_expiry(payer, 1) == expires
    assert premium.limits_of(payer) == params.premium.tiers[1].limits
    # Anyone settles; one wei of each share stays behind (the next payment then updates
    # non-zero words instead of creating them).
    with boa.env.prank(friend):
        assert premium.settle() == (burned - 1, paid - burned - 1)
    assert events(premium, "Settled") == [
        {"caller": friend, "burned": burned - 1, "to_nodes": paid - burned - 1}
    ]
    assert token.totalSupply() == supply - burned + 1
    assert token.balanceOf(registry.address) == reg + paid - burned - 1
    assert token.balanceOf(premium.address) == 2
    assert (premium.pending_burn(), premium.pending_to_nodes()) == (1, 1)
    with boa.env.prank(friend):
        assert premium.settle() == (0, 0)  # only the dust left: a no-op
    with boa.env.prank(payer):
        premium.subscribe(payer, 1, 1)
        premium.settle()
    assert (premium.pending_burn(), premium.pending_to_nodes()) == (1, 1)
    assert token.totalSupply() == supply - burned - price * params.premium.burn_bps // 10_000 + 1


def test_settle_leaves_locks_alone(premium, token, funded, payer, friend, params):
    lock = params.premium.tiers[1].lock_wei
    with boa.env.prank(friend):
        premium.lock(lock)
    with boa.env.prank(payer):
        premium.subscribe(payer, 1, 1)
        premium.settle()
    assert token.balanceOf(premium.address) == lock + 2 and premium.locked(friend) == lock


def test_node_share_becomes_rewards(premium, registry, funded, payer, non_admin):
    """The registry counts the CLUB it holds above what it owes as new rewards (emission's path):
    the next epoch finalisation streams exactly the node share (less the finaliser's tip)."""
    with boa.env.prank(payer):
        premium.subscribe(payer, 2, 1)
        premium.settle()
    paid = premium.tiers(2).price_per_period
    to_nodes = paid - paid * premium.burn_bps() // 10_000
    boa.env.time_travel(seconds=2 * registry.EPOCH_SECONDS())
    with boa.env.prank(non_admin):
        registry.finalize_epoch()
    (ev,) = [e for e in registry.get_logs() if type(e).__name__ == "EpochFinalised"]
    assert ev.rewards + ev.tip == to_nodes - 1  # one wei stays set aside


def test_time_stacks_and_gifts(premium, funded, payer, friend, params):
    period = params.premium.period_seconds
    with boa.env.prank(friend):
        first = premium.subscribe(payer, 1, 1)  # a gift: friend pays, payer gets the tier
    assert premium.tier_of(payer) == 1 and premium.tier_of(friend) == 0
    boa.env.time_travel(seconds=period // 2)
    with boa.env.prank(payer):
        second = premium.subscribe(payer, 1, 2)
    assert second == first + 2 * period  # starts where the running one ends
    boa.env.time_travel(seconds=second - now())
    assert premium.tier_of(payer) == 0  # ends exactly at expires_at
    with boa.env.prank(payer):
        third = premium.subscribe(payer, 1, 1)
    assert third == now() + period  # a lapsed subscription restarts from now


def test_highest_running_tier_wins(premium, funded, payer, params):
    period = params.premium.period_seconds
    with boa.env.prank(payer):
        premium.subscribe(payer, 1, 3)
        premium.subscribe(payer, 2, 1)
    assert premium.tier_of(payer) == 2
    boa.env.time_travel(seconds=period + 1)
    assert premium.tier_of(payer) == 1  # the lower tier keeps its own time


def test_bad_inputs(premium, funded, payer, governance):
    with boa.env.prank(payer):
        with boa.reverts("premium: zero account"):
            premium.subscribe(ZERO, 1, 1)
        for tier in (0, premium.tier_count() + 1):
            with boa.reverts("premium: no such tier"):
                premium.subscribe(payer, tier, 1)
        for periods in (0, 121):
            with boa.reverts("premium: periods out of range"):
                premium.subscribe(payer, 1, periods)
    with boa.env.prank(governance):
        premium.set_tier(1, [1, 1, 1, 1], 0, 1000 * WAD)  # reachable by lock only
    with boa.env.prank(payer), boa.reverts("premium: tier not for sale"):
        premium.subscribe(payer, 1, 1)


def test_payment_not_approved_or_not_held(premium, payer, token, governance):
    with boa.env.prank(payer), boa.reverts("erc20: insufficient allowance"):
        premium.subscribe(payer, 1, 1)
    with boa.env.prank(payer):
        token.approve(premium.address, 2**256 - 1)
    with boa.env.prank(payer), boa.reverts("erc20: transfer amount exceeds balance"):
        premium.subscribe(payer, 1, 1)
    assert premium.tier_of(payer) == 0


def test_full_burn_and_no_burn(premium, token, registry, funded, payer, governance):
    price = premium.tiers(1).price_per_period
    for bps in (10_000, 0):
        with boa.env.prank(governance):
            premium.set_terms(premium.period_seconds(), bps, premium.unlock_delay_seconds())
        supply, reg = token.totalSupply(), token.balanceOf(registry.address)
        before = (premium.pending_burn(), premium.pending_to_nodes())  # dust of an earlier settle
        with boa.env.prank(payer):
            premium.subscribe(payer, 1, 1)
        share = price * bps // 10_000
        pending = (before[0] + share, before[1] + price - share)
        assert (premium.pending_burn(), premium.pending_to_nodes()) == pending
        with boa.env.prank(payer):
            burned, to_nodes = premium.settle()
        assert (burned, to_nodes) == (max(pending[0] - 1, 0), max(pending[1] - 1, 0))
        assert token.totalSupply() == supply - burned
        assert token.balanceOf(registry.address) == reg + to_nodes


@pytest.mark.parametrize("bps", [0, 1, 3333, 5000, 9999, 10_000])
def test_python_split_matches_the_contract(premium, governance, funded, payer, bps):
    with boa.env.prank(governance):
        premium.set_terms(premium.period_seconds(), bps, premium.unlock_delay_seconds())
    for periods in (1, 7):
        cost = subscription_cost(premium.tiers(1).price_per_period, periods)
        before = (premium.pending_burn(), premium.pending_to_nodes())
        with boa.env.prank(payer):
            premium.subscribe(payer, 1, periods)
        (ev,) = events(premium, "Subscribed")
        burn, nodes = split_payment(cost, bps)
        assert (ev["paid"], ev["burn_share"]) == (cost, burn)
        assert (premium.pending_burn() - before[0], premium.pending_to_nodes() - before[1]) == (burn, nodes)
    with pytest.raises(ValueError, match="burn_bps"):
        split_payment(1, 10_001)
