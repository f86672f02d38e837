"""VestingEscrow vesting curve and claim: cliff, linear release rounded down, end, access."""

from __future__ import annotations

from typing import Any

import boa
import pytest

from tests.utils.emission_model import vested_at

from .conftest import CLUB, DAY, PROXY_WARNING, YEAR, events, now, warp_to

pytestmark = pytest.mark.filterwarnings(PROXY_WARNING)


def test_vested_at_curve(create: Any) -> None:
    """0 before start + cliff, total * (t - start) / duration (rounded down) after, total at the end."""
    amount = 1_000 * CLUB + 7  # not divisible by the duration: exercises rounding
    start = now() + 30 * DAY
    escrow = create(amount=amount, start=start, cliff=YEAR, duration=4 * YEAR)
    points = [
        0,
        start - 1,
        start,
        start + YEAR - 1,
        start + YEAR,
        start + YEAR + 12_345,
        start + 4 * YEAR - 1,
    ]
    points += [start + 4 * YEAR, start + 10 * YEAR]
    for t in points:
        assert escrow.vested_at(t) == vested_at(amount, start, YEAR, 4 * YEAR, t)
    assert escrow.vested_at(start + YEAR) == amount // 4
    assert escrow.vested_at(start + YEAR + 1) == amount * (YEAR + 1) // (4 * YEAR)
    assert escrow.vested_at(start + 4 * YEAR) == amount


def test_nothing_before_cliff(create: Any, vtoken: Any, alice: str) -> None:
    escrow = create()
    warp_to(escrow.start() + YEAR - 1)
    assert escrow.vested() == escrow.claimable() == 0
    assert escrow.locked() == escrow.total()
    with boa.env.prank(alice):
        assert escrow.claim() == 0
    (log,) = events(escrow, "Claimed")
    assert (log.beneficiary, log.amount, log.total_claimed) == (alice, 0, 0)
    assert vtoken.balanceOf(alice) == 0


def test_claim_at_cliff_then_linear_then_end(create: Any, vtoken: Any, alice: str) -> None:
    escrow = create(amount=4_000 * CLUB)
    start = escrow.start()
    warp_to(start + YEAR)
    assert escrow.claimable() == 1_000 * CLUB
    with boa.env.prank(alice):
        assert escrow.claim() == 1_000 * CLUB
    (log,) = events(escrow, "Claimed")
    assert (log.amount, log.total_claimed) == (1_000 * CLUB, 1_000 * CLUB)
    assert vtoken.balanceOf(alice) == 1_000 * CLUB
    assert escrow.claimed() == 1_000 * CLUB
    assert escrow.claimable() == 0
    assert escrow.locked() == 3_000 * CLUB

    warp_to(start + 2 * YEAR + DAY)
    expected = 4_000 * CLUB * (2 * YEAR + DAY) // (4 * YEAR) - 1_000 * CLUB
    with boa.env.prank(alice):
        assert escrow.claim() == expected
    assert vtoken.balanceOf(alice) == 1_000 * CLUB + expected

    warp_to(start + 5 * YEAR)
    with boa.env.prank(alice):
        escrow.claim()
    assert vtoken.balanceOf(alice) == 4_000 * CLUB
    assert vtoken.balanceOf(escrow.address) == 0
    assert escrow.claimed() == escrow.total()
    with boa.env.prank(alice):
        assert escrow.claim() == 0


def test_zero_cliff_vests_from_start(create: Any, alice: str) -> None:
    escrow = create(amount=365 * CLUB, cliff=0, duration=YEAR)
    warp_to(escrow.start() + DAY)
    with boa.env.prank(alice):
        assert escrow.claim() == CLUB


def test_claim_only_by_beneficiary(create: Any, bob: str, deployer: str, solo_vesting: Any) -> None:
    escrow = create()
    warp_to(escrow.start() + 2 * YEAR)
    for who in (bob, deployer, solo_vesting.address):
        with boa.env.prank(who), boa.reverts("vesting: not beneficiary"):
            escrow.claim()
    assert escrow.claimed() == 0


def test_claims_follow_model_at_random_times(create: Any, vtoken: Any, alice: str) -> None:
    """A dozen claims at uneven times add up to exactly what has vested."""
    amount = 999_999 * CLUB + 3
    escrow = create(amount=amount, cliff=90 * DAY, duration=700 * DAY)
    start = escrow.start()
    for step in [10, 85, 1, 33, 77, 100, 3, 250, 1, 500]:
        boa.env.time_travel(seconds=step * DAY + 17)
        with boa.env.prank(alice):
            escrow.claim()
        assert vtoken.balanceOf(alice) == vested_at(amount, start, 90 * DAY, 700 * DAY, now())
        assert vtoken.balanceOf(alice) + vtoken.balanceOf(escrow.address) == amount
