"""ClubToken.burn and burnFrom: supply, balances, allowances, votes and every revert."""

from __future__ import annotations

from typing import Any

import boa

from tests.unit.token.conftest import ALICE_FUNDS, BOB_FUNDS
from tests.unit.token.helpers import CLUB, MAX_UINT256, ZERO, event_names, events


def test_burn(funded: Any, alice: str) -> None:
    with boa.env.prank(alice):
        funded.burn(100 * CLUB)
    (log,) = events(funded, "Transfer")
    assert (log.sender, log.receiver, log.value) == (alice, ZERO, 100 * CLUB)
    assert event_names(funded) == ["Transfer"]
    assert funded.balanceOf(alice) == ALICE_FUNDS - 100 * CLUB
    assert funded.totalSupply() == ALICE_FUNDS + BOB_FUNDS - 100 * CLUB


def test_burn_whole_balance_and_zero(funded: Any, alice: str) -> None:
    with boa.env.prank(alice):
        funded.burn(ALICE_FUNDS)
        funded.burn(0)
    assert funded.balanceOf(alice) == 0
    assert funded.totalSupply() == BOB_FUNDS


def test_burn_exceeding_balance_reverts(funded: Any, alice: str, carol: str) -> None:
    with boa.env.prank(alice), boa.reverts("erc20: burn amount exceeds balance"):
        funded.burn(ALICE_FUNDS + 1)
    with boa.env.prank(carol), boa.reverts("erc20: burn amount exceeds balance"):
        funded.burn(1)
    with boa.env.prank(alice), boa.reverts("erc20: burn amount exceeds balance"):
        funded.burn(2**96 + 1)


def test_burn_frees_room_under_cap(fresh_token: Any, deployer: str, alice: str) -> None:
    cap = fresh_token.cap()
    with boa.env.prank(deployer):
        fresh_token.mint(alice, cap)
    with boa.env.prank(alice):
        fresh_token.burn(5)
    with boa.env.prank(deployer):
        fresh_token.mint(alice, 5)
    assert fresh_token.totalSupply() == cap


def test_burn_removes_delegated_votes(funded: Any, alice: str, bob: str) -> None:
    with boa.env.prank(alice):
        funded.delegate(bob)
        funded.burn(300 * CLUB)
    assert event_names(funded) == ["Transfer", "DelegateVotesChanged"]
    (dvc,) = events(funded, "DelegateVotesChanged")
    assert (dvc.delegate, dvc.previousVotes, dvc.newVotes) == (bob, ALICE_FUNDS, ALICE_FUNDS - 300 * CLUB)
    assert funded.getVotes(bob) == ALICE_FUNDS - 300 * CLUB


def test_burn_from_spends_allowance(funded: Any, alice: str, spender: str) -> None:
    with boa.env.prank(alice):
        funded.approve(spender, 50 * CLUB)
    with boa.env.prank(spender):
        funded.burnFrom(alice, 20 * CLUB)
    assert event_names(funded) == ["Approval", "Transfer"]
    (approval,) = events(funded, "Approval")
    assert (approval.owner, approval.spender, approval.value) == (alice, spender, 30 * CLUB)
    (transfer,) = events(funded, "Transfer")
    assert (transfer.sender, transfer.receiver, transfer.value) == (alice, ZERO, 20 * CLUB)
    assert funded.allowance(alice, spender) == 30 * CLUB
    assert funded.balanceOf(alice) == ALICE_FUNDS - 20 * CLUB
    assert funded.totalSupply() == ALICE_FUNDS + BOB_FUNDS - 20 * CLUB


def test_burn_from_infinite_allowance(funded: Any, alice: str, spender: str) -> None:
    with boa.env.prank(alice):
        funded.approve(spender, MAX_UINT256)
    with boa.env.prank(spender):
        funded.burnFrom(alice, ALICE_FUNDS)
    assert event_names(funded) == ["Transfer"]
    assert funded.allowance(alice, spender) == MAX_UINT256
    assert funded.balanceOf(alice) == 0


def test_burn_from_insufficient_allowance_reverts(funded: Any, alice: str, spender: str) -> None:
    with boa.env.prank(alice):
        funded.approve(spender, 5)
    with boa.env.prank(spender), boa.reverts("erc20: insufficient allowance"):
        funded.burnFrom(alice, 6)
    assert funded.balanceOf(alice) == ALICE_FUNDS


def test_burn_from_exceeding_balance_reverts(funded: Any, alice: str, spender: str) -> None:
    with boa.env.prank(alice):
        funded.approve(spender, MAX_UINT256)
    with boa.env.prank(spender), boa.reverts("erc20: burn amount exceeds balance"):
        funded.burnFrom(alice, ALICE_FUNDS + 1)


def test_burn_from_zero_address_reverts(funded: Any, spender: str) -> None:
    with boa.env.prank(spender), boa.reverts("erc20: insufficient allowance"):
        funded.burnFrom(ZERO, 1)
    with boa.env.prank(spender), boa.reverts("erc20: approve from the zero address"):
        funded.burnFrom(ZERO, 0)
