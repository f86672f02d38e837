"""Premium stake locks: lock at least a threshold, the tier lasts while locked, unlock after a delay."""

from __future__ import annotations

import boa

from tests.utils.communities import events, now


def test_lock_gives_the_highest_reachable_tier(premium, token, funded, payer, params):
    plus, pro = params.premium.tiers[1].lock_wei, params.premium.tiers[2].lock_wei
    bal = token.balanceOf(payer)
    with boa.env.prank(payer):
        premium.lock(plus)
    assert events(premium, "Locked") == [{"account": payer, "amount": plus, "total": plus}]
    assert premium.tier_of(payer) == 1 and premium.locked(payer) == plus
    assert token.balanceOf(payer) == bal - plus and token.balanceOf(premium.address) == plus
    with boa.env.prank(payer):
        premium.lock(pro - plus)
    assert premium.tier_of(payer) == 2 and premium.locked(payer) == pro


def test_lock_below_every_threshold(premium, funded, payer, params):
    with boa.env.prank(payer), boa.reverts("premium: lock below every tier's threshold"):
        premium.lock(params.premium.tiers[1].lock_wei - 1)
    with boa.env.prank(payer), boa.reverts("premium: zero amount"):
        premium.lock(0)


def test_unlock_after_the_delay(premium, token, funded, payer, params):
    amount = params.premium.tiers[1].lock_wei
    with boa.env.prank(payer):
        premium.lock(amount)
        premium.request_unlock()
    available = now() + params.premium.unlock_delay_seconds
    assert events(premium, "UnlockRequested") == [
        {"account": payer, "amount": amount, "available_at": available}
    ]
    assert premium.tier_of(payer) == 0  # the tier ends at the request
    with boa.env.prank(payer), boa.reverts("premium: unlock already requested"):
        premium.request_unlock()
    with boa.env.prank(payer), boa.reverts("premium: unlock delay not over"):
        premium.unlock()
    boa.env.time_travel(seconds=params.premium.unlock_delay_seconds)
    bal = token.balanceOf(payer)
    with boa.env.prank(payer):
        assert premium.unlock() == amount
    assert events(premium, "Unlocked") == [{"account": payer, "amount": amount}]
    assert token.balanceOf(payer) == bal + amount and premium.locked(payer) == 0
    with boa.env.prank(payer), boa.reverts("premium: no unlock requested"):
        premium.unlock()


def test_locking_again_cancels_an_unlock(premium, funded, payer, params):
    amount = params.premium.tiers[1].lock_wei
    with boa.env.prank(payer):
        premium.lock(amount)
        premium.request_unlock()
        premium.lock(1)
    assert premium.tier_of(payer) == 1 and premium.locked(payer) == amount + 1
    with boa.env.prank(payer), boa.reverts("premium: no unlock requested"):
        premium.unlock()


def test_nothing_locked(premium, payer):
    with boa.env.prank(payer), boa.reverts("premium: nothing locked"):
        premium.request_unlock()
    with boa.env.prank(payer), boa.reverts("premium: no unlock requested"):
        premium.unlock()


def test_threshold_changes_move_locked_accounts(premium, funded, payer, governance, params):
    plus = params.premium.tiers[1]
    with boa.env.prank(payer):
        premium.lock(plus.lock_wei)
    with boa.env.prank(governance):
        premium.set_tier(1, list(plus.limits), plus.price_wei, plus.lock_wei + 1)
    assert premium.tier_of(payer) == 0
