"""ClubToken.mint: MINTER_ROLE only, the hard cap, the zero address, events, votes of delegated receivers."""

from __future__ import annotations

from typing import Any

import boa
import pytest

from tests.unit.token.helpers import CAP, CLUB, MINTER_ROLE, MISSING_ROLE, ZERO, event_names, events


def test_mint_by_minter(fresh_token: Any, deployer: str, alice: str) -> None:
    with boa.env.prank(deployer):
        fresh_token.mint(alice, 42 * CLUB)
    (log,) = events(fresh_token, "Transfer")
    assert (log.sender, log.receiver, log.value) == (ZERO, alice, 42 * CLUB)
    assert event_names(fresh_token) == ["Transfer"]
    assert fresh_token.balanceOf(alice) == 42 * CLUB
    assert fresh_token.totalSupply() == 42 * CLUB


def test_mint_zero_amount(fresh_token: Any, deployer: str, alice: str) -> None:
    with boa.env.prank(deployer):
        fresh_token.mint(alice, 0)
    assert [e.value for e in events(fresh_token, "Transfer")] == [0]
    assert fresh_token.totalSupply() == 0


def test_mint_by_granted_minter(fresh_token: Any, deployer: str, minter: str, alice: str) -> None:
    with boa.env.prank(deployer):
        fresh_token.grantRole(MINTER_ROLE, minter)
    with boa.env.prank(minter):
        fresh_token.mint(alice, 7)
    assert fresh_token.balanceOf(alice) == 7


@pytest.mark.parametrize("amount", [0, 1, CAP])
def test_mint_without_role_reverts(fresh_token: Any, non_admin: str, amount: int) -> None:
    with boa.env.prank(non_admin), boa.reverts(MISSING_ROLE):
        fresh_token.mint(non_admin, amount)
    assert fresh_token.totalSupply() == 0


def test_mint_to_zero_address_reverts(fresh_token: Any, deployer: str) -> None:
    with boa.env.prank(deployer), boa.reverts("erc20: mint to the zero address"):
        fresh_token.mint(ZERO, 1)


def test_mint_up_to_cap(fresh_token: Any, deployer: str, alice: str, bob: str) -> None:
    with boa.env.prank(deployer):
        fresh_token.mint(alice, CAP - 1)
        fresh_token.mint(bob, 1)
    assert fresh_token.totalSupply() == CAP
    with boa.env.prank(deployer), boa.reverts("club: cap exceeded"):
        fresh_token.mint(bob, 1)
    # Minting zero at the cap is still allowed (supply + 0 <= cap).
    with boa.env.prank(deployer):
        fresh_token.mint(bob, 0)


@pytest.mark.parametrize("amount", [CAP + 1, 2**90, 2**96, 2**255])
def test_mint_above_cap_reverts(fresh_token: Any, deployer: str, alice: str, amount: int) -> None:
    with boa.env.prank(deployer), boa.reverts("club: cap exceeded"):
        fresh_token.mint(alice, amount)
    assert fresh_token.balanceOf(alice) == 0


def test_mint_overflowing_uint256_reverts(fresh_token: Any, deployer: str, alice: str) -> None:
    with boa.env.prank(deployer):
        fresh_token.mint(alice, 1)
    with boa.env.prank(deployer), boa.reverts(compiler="safeadd"):
        fresh_token.mint(alice, 2**256 - 1)
    assert fresh_token.totalSupply() == 1


def test_mint_to_delegating_holder_adds_votes(fresh_token: Any, deployer: str, alice: str, bob: str) -> None:
    with boa.env.prank(alice):
        fresh_token.delegate(bob)
    with boa.env.prank(deployer):
        fresh_token.mint(alice, 9 * CLUB)
    assert event_names(fresh_token) == ["Transfer", "DelegateVotesChanged"]
    (dvc,) = events(fresh_token, "DelegateVotesChanged")
    assert (dvc.delegate, dvc.previousVotes, dvc.newVotes) == (bob, 0, 9 * CLUB)
    assert fresh_token.getVotes(bob) == 9 * CLUB
    assert fresh_token.getVotes(alice) == 0
