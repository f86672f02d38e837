"""stake, stake_with_permit, delegate, delegate_with_permit, unbond, rebond, withdraw."""

from __future__ import annotations

import boa
import pytest
from eth_account import Account

from tests.utils.registry import RELAY, fund, register_node
from tests.utils.signing import Domain, sign_permit

WAD = 10**18


def test_stake_adds_self_stake(directory, registry, relay_node, token, minimum):
    before = token.balanceOf(relay_node)
    with boa.env.prank(relay_node):
        minted = registry.stake(minimum)
        ev = next(e for e in registry.get_logs() if type(e).__name__ == "Staked")
    assert minted == minimum  # 1:1 while nothing was slashed
    assert (ev.node, ev.account, ev.assets, ev.shares) == (relay_node, relay_node, minimum, minimum)
    n = directory.nodes(relay_node)
    assert n.bonded_assets == 3 * minimum and n.weight == 3 * minimum // WAD
    assert registry.total_stake(RELAY) == 3 * minimum
    assert token.balanceOf(relay_node) == before - minimum
    assert registry.principal() == 3 * minimum


def test_stake_reverts(registry, relay_node, actors):
    with boa.env.prank(actors.delegator), boa.reverts("registry: not registered"):
        registry.stake(WAD)
    with boa.env.prank(relay_node), boa.reverts("registry: amount too small"):
        registry.stake(0)


def _permit_sig(token, owner_acct, spender, amount, deadline):
    """`owner_acct` signs a permit for `spender` with its current nonce (tests/utils/signing)."""
    nonce = token.nonces(owner_acct.address)
    return sign_permit(owner_acct, Domain.of(token), str(spender), amount, nonce, deadline).vrs()


def test_stake_and_delegate_with_permit(directory, registry, token, governance, minimum, actors):
    op = Account.from_key(b"\x11" * 32)
    dl = Account.from_key(b"\x22" * 32)
    for acct in (op, dl):
        with boa.env.prank(governance):
            token.transfer(acct.address, 100_000 * WAD)
    key = str(boa.env.generate_address("permit-key"))
    with boa.env.prank(op.address):
        token.approve(registry.address, minimum)
    register_node(registry, op.address, key, kinds=RELAY, amount=minimum)
    assert token.allowance(op.address, registry.address) == 0
    deadline = int(boa.env.evm.patch.timestamp) + 3600
    v, r, s = _permit_sig(token, op, registry.address, 5 * WAD, deadline)
    with boa.env.prank(op.address):
        registry.stake_with_permit(5 * WAD, deadline, v, r, s)
    assert directory.nodes(op.address).bonded_assets == minimum + 5 * WAD
    v, r, s = _permit_sig(token, dl, registry.address, 7 * WAD, deadline)
    with boa.env.prank(dl.address):
        registry.delegate_with_permit(op.address, 7 * WAD, deadline, v, r, s)
    assert registry.assets_of(op.address, dl.address) == 7 * WAD
    # A replayed permit fails in the token.
    with boa.env.prank(dl.address), boa.reverts("erc20: invalid signature"):
        registry.delegate_with_permit(op.address, 7 * WAD, deadline, v, r, s)


def test_delegate(directory, registry, relay_node, actors, token, minimum):
    with boa.env.prank(actors.delegator):
        minted = registry.delegate(relay_node, 5 * minimum)
    assert minted == 5 * minimum
    assert directory.shares(relay_node, actors.delegator) == 5 * minimum
    assert directory.nodes(relay_node).weight == 7 * minimum // WAD
    assert registry.assets_of(relay_node, actors.delegator) == 5 * minimum


def test_delegate_reverts(registry, relay_node, actors, alice, minimum):
    with boa.env.prank(actors.delegator), boa.reverts("registry: not registered"):
        registry.delegate(alice, WAD)
    with boa.env.prank(relay_node), boa.reverts("registry: operators use stake"):
        registry.delegate(relay_node, WAD)
    with boa.env.prank(actors.delegator), boa.reverts("registry: amount too small"):
        registry.delegate(relay_node, 0)
    # Saturation: 10x the operator's 2x-minimum self-stake.
    with boa.env.prank(actors.delegator):
        registry.delegate(relay_node, 20 * minimum)
    with boa.env.prank(alice), boa.reverts("registry: pool over-saturated"):
        registry.delegate(relay_node, 1)


def test_unbond_and_withdraw(directory, registry, relay_node, actors, token, minimum, params):
    with boa.env.prank(actors.delegator):
        registry.delegate(relay_node, 4 * minimum)
        entry = registry.unbond(relay_node, minimum)
        ev = next(e for e in registry.get_logs() if type(e).__name__ == "Unbonded")
    assert entry == 0 and registry.unbonding_count(actors.delegator) == 1
    assert (
        ev.assets == minimum
        and ev.release_time == int(boa.env.evm.patch.timestamp) + params.registry.unbonding_seconds
    )
    n = directory.nodes(relay_node)
    assert n.bonded_assets == 5 * minimum and n.unbonding_assets == minimum and n.weight == 5 * minimum // WAD
    assert registry.unbondings(actors.delegator, 0).shares == minimum
    with boa.env.prank(actors.delegator), boa.reverts("registry: still unbonding"):
        registry.withdraw(0)
    boa.env.time_travel(seconds=params.registry.unbonding_seconds)
    before = token.balanceOf(actors.delegator)
    with boa.env.prank(actors.delegator):
        assert registry.withdraw(0) == minimum
    assert token.balanceOf(actors.delegator) == before + minimum
    assert registry.principal() == 5 * minimum
    with boa.env.prank(actors.delegator), boa.reverts("registry: no such unbonding"):
        registry.withdraw(0)


def test_unbond_reverts(registry, relay_node, actors, minimum):
    with boa.env.prank(actors.delegator), boa.reverts("registry: zero shares"):
        registry.unbond(relay_node, 0)
    with boa.env.prank(actors.delegator), boa.reverts("registry: not enough shares"):
        registry.unbond(relay_node, 1)
    # The operator keeps at least the minimum, or leaves entirely.
    with boa.env.prank(relay_node), boa.reverts("registry: self-stake too low"):
        registry.unbond(relay_node, minimum + 1)
    with boa.env.prank(actors.delegator):
        registry.delegate(relay_node, 20 * minimum)
    with boa.env.prank(relay_node), boa.reverts("registry: pool over-saturated"):
        registry.unbond(relay_node, minimum // 2)


def test_operator_exit_makes_node_ineligible(directory, registry, relay_node, minimum):
    with boa.env.prank(relay_node):
        registry.unbond(relay_node, 2 * minimum)
    assert not directory.is_eligible(relay_node)
    assert directory.nodes(relay_node).weight == 0 and registry.total_stake(RELAY) == 0
    assert registry.sample(RELAY, b"\x00" * 32, 3) == []


def test_rebond(directory, registry, relay_node, actors, minimum):
    with boa.env.prank(actors.delegator):
        registry.delegate(relay_node, 3 * minimum)
        registry.unbond(relay_node, 2 * minimum)
        minted = registry.rebond(0)
        ev = next(e for e in registry.get_logs() if type(e).__name__ == "Rebonded")
    assert minted == 2 * minimum and ev.assets == 2 * minimum
    assert directory.shares(relay_node, actors.delegator) == 3 * minimum
    n = directory.nodes(relay_node)
    assert n.unbonding_assets == 0 and n.unbonding_shares == 0 and n.weight == 5 * minimum // WAD
    assert registry.principal() == 5 * minimum  # rebonding moves principal, it does not add any
    with boa.env.prank(actors.delegator), boa.reverts("registry: no such unbonding"):
        registry.rebond(0)


def test_operator_rebond(directory, registry, relay_node, minimum):
    with boa.env.prank(relay_node):
        registry.unbond(relay_node, minimum)
        registry.rebond(0)
    assert directory.shares(relay_node, relay_node) == 2 * minimum


@pytest.mark.parametrize("fraction", [WAD // 10, WAD // 2])
def test_unbonding_entry_is_slashed(registry, relay_node, actors, governance, minimum, params, fraction):
    with boa.env.prank(actors.delegator):
        registry.delegate(relay_node, 4 * minimum)
        registry.unbond(relay_node, 4 * minimum)
    with boa.env.prank(governance):
        registry.slash(relay_node, fraction, governance, 0)
    boa.env.time_travel(seconds=params.registry.unbonding_seconds)
    with boa.env.prank(actors.delegator):
        paid = registry.withdraw(0)
    expected = 4 * minimum - (4 * minimum * fraction + WAD - 1) // WAD
    assert expected - 1 <= paid <= expected


def test_fund_helper_sanity(token, registry, governance):
    who = str(boa.env.generate_address("x"))
    fund(token, registry, governance, who, 5)
    assert token.balanceOf(who) == 5
