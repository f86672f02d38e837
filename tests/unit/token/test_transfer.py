"""ClubToken.transfer: balances, the Transfer event, self/zero transfers and every revert."""

from __future__ import annotations

from typing import Any

import boa
import pytest

from tests.unit.token.conftest import ALICE_FUNDS, BOB_FUNDS
from tests.unit.token.helpers import CLUB, ZERO, event_names, events


def test_transfer_moves_balance_and_logs(funded: Any, alice: str, carol: str) -> None:
    with boa.env.prank(alice):
        assert funded.transfer(carol, 250 * CLUB) is True
    (log,) = events(funded, "Transfer")
    assert (log.sender, log.receiver, log.value) == (alice, carol, 250 * CLUB)
    # Nobody delegates: a transfer moves no votes and logs nothing else.
    assert event_names(funded) == ["Transfer"]
    assert funded.balanceOf(alice) == ALICE_FUNDS - 250 * CLUB
    assert funded.balanceOf(carol) == 250 * CLUB
    assert funded.totalSupply() == ALICE_FUNDS + BOB_FUNDS


def test_transfer_whole_balance(funded: Any, alice: str, bob: str) -> None:
    with boa.env.prank(alice):
        funded.transfer(bob, ALICE_FUNDS)
    assert funded.balanceOf(alice) == 0
    assert funded.balanceOf(bob) == ALICE_FUNDS + BOB_FUNDS


def test_self_transfer_keeps_balance(funded: Any, alice: str) -> None:
    with boa.env.prank(alice):
        assert funded.transfer(alice, 400 * CLUB) is True
    (log,) = events(funded, "Transfer")
    assert (log.sender, log.receiver, log.value) == (alice, alice, 400 * CLUB)
    assert funded.balanceOf(alice) == ALICE_FUNDS


def test_self_transfer_of_whole_balance_with_delegate(funded: Any, alice: str, bob: str) -> None:
    """The packed slot is read after the write: a self-transfer neither mints nor loses votes."""
    with boa.env.prank(alice):
        funded.delegate(bob)
        funded.transfer(alice, ALICE_FUNDS)
    assert event_names(funded) == ["Transfer"]
    assert funded.balanceOf(alice) == ALICE_FUNDS
    assert funded.delegates(alice) == bob
    assert funded.getVotes(bob) == ALICE_FUNDS


def test_zero_amount_transfer(funded: Any, alice: str, carol: str) -> None:
    with boa.env.prank(alice):
        assert funded.transfer(carol, 0) is True
    (log,) = events(funded, "Transfer")
    assert (log.sender, log.receiver, log.value) == (alice, carol, 0)
    assert funded.balanceOf(alice) == ALICE_FUNDS
    assert funded.balanceOf(carol) == 0


def test_zero_amount_transfer_from_empty_account(funded: Any, carol: str, alice: str) -> None:
    with boa.env.prank(carol):
        assert funded.transfer(alice, 0) is True
    assert funded.balanceOf(alice) == ALICE_FUNDS


def test_transfer_to_zero_address_reverts(funded: Any, alice: str) -> None:
    with boa.env.prank(alice), boa.reverts("erc20: transfer to the zero address"):
        funded.transfer(ZERO, 1)


@pytest.mark.parametrize("excess", [1, CLUB, 2**96])
def test_transfer_exceeding_balance_reverts(funded: Any, alice: str, bob: str, excess: int) -> None:
    with boa.env.prank(alice), boa.reverts("erc20: transfer amount exceeds balance"):
        funded.transfer(bob, ALICE_FUNDS + excess)
    assert funded.balanceOf(alice) == ALICE_FUNDS


def test_transfer_from_empty_account_reverts(funded: Any, carol: str, alice: str) -> None:
    with boa.env.prank(carol), boa.reverts("erc20: transfer amount exceeds balance"):
        funded.transfer(alice, 1)


def test_huge_amount_cannot_reach_delegate_bits(funded: Any, alice: str, bob: str) -> None:
    """An amount with bits above 96 must not pass the balance check by masking."""
    with boa.env.prank(alice), boa.reverts("erc20: transfer amount exceeds balance"):
        funded.transfer(bob, 2**96 + 1)
    with boa.env.prank(alice), boa.reverts("erc20: transfer amount exceeds balance"):
        funded.transfer(bob, 2**256 - 1)
    assert funded.delegates(alice) == ZERO
