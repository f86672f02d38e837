"""ClubToken.approve and allowance: values, the Approval event, overwrites and the zero spender."""

from __future__ import annotations

from typing import Any

import boa
import pytest

from tests.unit.token.helpers import MAX_UINT256, ZERO, events


@pytest.mark.parametrize("amount", [0, 1, 10**27, MAX_UINT256])
def test_approve_sets_allowance(fresh_token: Any, alice: str, bob: str, amount: int) -> None:
    with boa.env.prank(alice):
        assert fresh_token.approve(bob, amount) is True
    (log,) = events(fresh_token, "Approval")
    assert (log.owner, log.spender, log.value) == (alice, bob, amount)
    assert fresh_token.allowance(alice, bob) == amount
    assert fresh_token.allowance(bob, alice) == 0


def test_approve_overwrites(fresh_token: Any, alice: str, bob: str, carol: str) -> None:
    with boa.env.prank(alice):
        fresh_token.approve(bob, 100)
        fresh_token.approve(carol, 7)
        fresh_token.approve(bob, 5)
    assert fresh_token.allowance(alice, bob) == 5
    assert fresh_token.allowance(alice, carol) == 7


def test_approve_needs_no_balance(fresh_token: Any, carol: str, bob: str) -> None:
    assert fresh_token.balanceOf(carol) == 0
    with boa.env.prank(carol):
        fresh_token.approve(bob, 10**30)
    assert fresh_token.allowance(carol, bob) == 10**30


def test_approve_zero_spender_reverts(fresh_token: Any, alice: str) -> None:
    with boa.env.prank(alice), boa.reverts("erc20: approve to the zero address"):
        fresh_token.approve(ZERO, 1)
