"""ClubToken.transferFrom: allowance spending, infinite allowances and every revert, in snekmate's order."""

from __future__ import annotations

from typing import Any

import boa

from tests.unit.token.conftest import ALICE_FUNDS
from tests.unit.token.helpers import CLUB, MAX_UINT256, ZERO, event_names, events


def test_transfer_from_spends_allowance(funded: Any, alice: str, spender: str, carol: str) -> None:
    with boa.env.prank(alice):
        funded.approve(spender, 300 * CLUB)
    with boa.env.prank(spender):
        assert funded.transferFrom(alice, carol, 120 * CLUB) is True
    # snekmate order: the allowance update (Approval) is logged before the Transfer.
    assert event_names(funded) == ["Approval", "Transfer"]
    (approval,) = events(funded, "Approval")
    assert (approval.owner, approval.spender, approval.value) == (alice, spender, 180 * CLUB)
    (transfer,) = events(funded, "Transfer")
    assert (transfer.sender, transfer.receiver, transfer.value) == (alice, carol, 120 * CLUB)
    assert funded.allowance(alice, spender) == 180 * CLUB
    assert funded.balanceOf(alice) == ALICE_FUNDS - 120 * CLUB
    assert funded.balanceOf(carol) == 120 * CLUB
    assert funded.balanceOf(spender) == 0


def test_transfer_from_exact_allowance(funded: Any, alice: str, spender: str) -> None:
    with boa.env.prank(alice):
        funded.approve(spender, 5)
    with boa.env.prank(spender):
        funded.transferFrom(alice, spender, 5)
    assert funded.allowance(alice, spender) == 0
    assert funded.balanceOf(spender) == 5


def test_infinite_allowance_is_not_decreased(funded: Any, alice: str, spender: str, carol: str) -> None:
    with boa.env.prank(alice):
        funded.approve(spender, MAX_UINT256)
    with boa.env.prank(spender):
        funded.transferFrom(alice, carol, 600 * CLUB)
        funded.transferFrom(alice, carol, 400 * CLUB)
    assert event_names(funded) == ["Transfer"]  # no Approval for an infinite allowance
    assert funded.allowance(alice, spender) == MAX_UINT256
    assert funded.balanceOf(carol) == ALICE_FUNDS


def test_insufficient_allowance_reverts(funded: Any, alice: str, spender: str, carol: str) -> None:
    with boa.env.prank(alice):
        funded.approve(spender, 10)
    with boa.env.prank(spender), boa.reverts("erc20: insufficient allowance"):
        funded.transferFrom(alice, carol, 11)
    with boa.env.prank(carol), boa.reverts("erc20: insufficient allowance"):
        funded.transferFrom(alice, carol, 1)  # no allowance at all
    assert funded.allowance(alice, spender) == 10


def test_allowance_checked_before_balance(funded: Any, alice: str, spender: str, carol: str) -> None:
    with boa.env.prank(alice):
        funded.approve(spender, ALICE_FUNDS + 1)
    with boa.env.prank(spender), boa.reverts("erc20: transfer amount exceeds balance"):
        funded.transferFrom(alice, carol, ALICE_FUNDS + 1)
    with boa.env.prank(spender), boa.reverts("erc20: insufficient allowance"):
        funded.transferFrom(alice, carol, ALICE_FUNDS + 2)
    assert funded.allowance(alice, spender) == ALICE_FUNDS + 1


def test_transfer_from_to_zero_address_reverts(funded: Any, alice: str, spender: str) -> None:
    with boa.env.prank(alice):
        funded.approve(spender, 10)
    with boa.env.prank(spender), boa.reverts("erc20: transfer to the zero address"):
        funded.transferFrom(alice, ZERO, 1)


def test_transfer_from_zero_address(funded: Any, spender: str, alice: str) -> None:
    # A non-zero amount fails on the (empty) allowance of the zero address first ...
    with boa.env.prank(spender), boa.reverts("erc20: insufficient allowance"):
        funded.transferFrom(ZERO, alice, 1)
    # ... a zero amount reaches the approve of the zero owner (snekmate's behaviour).
    with boa.env.prank(spender), boa.reverts("erc20: approve from the zero address"):
        funded.transferFrom(ZERO, alice, 0)


def test_zero_amount_transfer_from_without_allowance(
    funded: Any, alice: str, spender: str, carol: str
) -> None:
    """Zero-value transferFrom succeeds without allowance (snekmate's documented address-poisoning caveat)."""
    with boa.env.prank(spender):
        assert funded.transferFrom(alice, carol, 0) is True
    assert event_names(funded) == ["Approval", "Transfer"]
    assert funded.allowance(alice, spender) == 0
    assert funded.balanceOf(alice) == ALICE_FUNDS


def test_self_transfer_from(funded: Any, alice: str, spender: str) -> None:
    with boa.env.prank(alice):
        funded.approve(spender, 100)
    with boa.env.prank(spender):
        funded.transferFrom(alice, alice, 100)
    assert funded.balanceOf(alice) == ALICE_FUNDS
    assert funded.allowance(alice, spender) == 0
