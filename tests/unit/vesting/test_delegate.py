"""VestingEscrow.delegate: the votes of still-locked tokens follow the beneficiary's choice."""

from __future__ import annotations

from typing import Any

import boa
import pytest

from .conftest import CLUB, PROXY_WARNING, YEAR, events, warp_to

pytestmark = pytest.mark.filterwarnings(PROXY_WARNING)

ZERO = "0x" + "00" * 20


def test_beneficiary_votes_by_default(create: Any, vtoken: Any, alice: str) -> None:
    escrow = create(amount=700 * CLUB)
    assert vtoken.delegates(escrow.address) == alice
    assert vtoken.getVotes(alice) == 700 * CLUB


def test_delegate_moves_locked_votes(create: Any, vtoken: Any, alice: str, bob: str) -> None:
    escrow = create(amount=700 * CLUB)
    with boa.env.prank(alice):
        escrow.delegate(bob)
    (log,) = events(escrow, "DelegateSet")
    assert (log.beneficiary, log.delegatee) == (alice, bob)
    (changed,) = [e for e in escrow.get_logs() if type(e).__name__ == "DelegateChanged"]
    assert (changed.delegator, changed.fromDelegate, changed.toDelegate) == (escrow.address, alice, bob)
    assert vtoken.delegates(escrow.address) == bob
    assert vtoken.getVotes(bob) == 700 * CLUB
    assert vtoken.getVotes(alice) == 0


def test_claims_move_votes_out_of_the_escrow(create: Any, vtoken: Any, alice: str, bob: str) -> None:
    """Claimed tokens leave the escrow, so the delegatee's votes drop by the claim."""
    escrow = create(amount=400 * CLUB, cliff=0, duration=4 * YEAR)
    with boa.env.prank(alice):
        escrow.delegate(bob)
    warp_to(escrow.start() + YEAR)
    with boa.env.prank(alice):
        claimed = escrow.claim()
    assert claimed == 100 * CLUB
    assert vtoken.getVotes(bob) == 300 * CLUB == vtoken.balanceOf(escrow.address)


def test_delegate_to_zero_removes_votes(create: Any, vtoken: Any, alice: str) -> None:
    escrow = create(amount=700 * CLUB)
    with boa.env.prank(alice):
        escrow.delegate(ZERO)
    assert vtoken.getVotes(alice) == 0
    assert vtoken.delegates(escrow.address) == ZERO


def test_delegate_only_by_beneficiary(create: Any, vtoken: Any, alice: str, bob: str, deployer: str) -> None:
    escrow = create()
    for who in (bob, deployer):
        with boa.env.prank(who), boa.reverts("vesting: not beneficiary"):
            escrow.delegate(who)
    assert vtoken.delegates(escrow.address) == alice
