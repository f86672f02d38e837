"""Vote checkpoints: numCheckpoints, checkpoints, getPastVotes, getPastTotalSupply (packed 2 per slot)."""

from __future__ import annotations

from typing import Any

import boa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.token.conftest import ALICE_FUNDS, BOB_FUNDS
from tests.unit.token.helpers import CAP, CLUB, ZERO, now, warp

OUT_OF_RANGE = "votes: checkpoint out of range"


def value_at(checkpoints: list[tuple[int, int]], t: int) -> int:
    """OpenZeppelin's upperLookup: the value of the last checkpoint with time <= t (0 before the first)."""
    value = 0
    for time, v in checkpoints:
        if time > t:
            break
        value = v
    return value


def test_no_checkpoints(fresh_token: Any, alice: str) -> None:
    assert fresh_token.numCheckpoints(alice) == 0
    with boa.reverts(OUT_OF_RANGE):
        fresh_token.checkpoints(alice, 0)
    warp(1)
    assert fresh_token.getPastVotes(alice, now() - 1) == 0
    assert fresh_token.getPastTotalSupply(now() - 1) == 0
    assert fresh_token.getPastTotalSupply(0) == 0


def test_zero_address_has_no_checkpoints(funded: Any, alice: str) -> None:
    """The supply history lives under key 0 but is not visible as an account's checkpoints."""
    assert funded.numCheckpoints(ZERO) == 0
    with boa.reverts(OUT_OF_RANGE):
        funded.checkpoints(ZERO, 0)
    warp(1)
    assert funded.getPastVotes(ZERO, now() - 1) == 0
    assert funded.getPastTotalSupply(now() - 1) == ALICE_FUNDS + BOB_FUNDS


def test_future_lookup_reverts(funded: Any, alice: str) -> None:
    t = now()
    for timepoint in (t, t + 1, 2**48, 2**256 - 1):
        with boa.reverts("votes: future lookup"):
            funded.getPastVotes(alice, timepoint)
        with boa.reverts("votes: future lookup"):
            funded.getPastTotalSupply(timepoint)
    with boa.reverts("votes: future lookup"):
        funded.getPastVotes(ZERO, t)
    assert funded.getPastVotes(alice, t - 1) == 0


def test_changes_in_one_timestamp_make_one_checkpoint(funded: Any, alice: str, bob: str) -> None:
    t = now()
    with boa.env.prank(alice):
        funded.delegate(alice)
        funded.transfer(bob, 100)
        funded.transfer(bob, 50)
    with boa.env.prank(bob):
        funded.transfer(alice, 20)
    assert funded.numCheckpoints(alice) == 1
    assert funded.checkpoints(alice, 0) == (t, ALICE_FUNDS - 130)
    with boa.reverts(OUT_OF_RANGE):
        funded.checkpoints(alice, 1)


def test_checkpoint_per_timestamp(funded: Any, alice: str, bob: str) -> None:
    t0 = now()
    with boa.env.prank(alice):
        funded.delegate(alice)
    warp(10)
    with boa.env.prank(alice):
        funded.transfer(bob, 100)
    warp(5)
    with boa.env.prank(alice):
        funded.transfer(bob, 100)
        funded.delegate(ZERO)
    assert funded.numCheckpoints(alice) == 3
    assert [tuple(funded.checkpoints(alice, i)) for i in range(3)] == [
        (t0, ALICE_FUNDS),
        (t0 + 10, ALICE_FUNDS - 100),
        (t0 + 15, 0),
    ]
    warp(1)
    assert funded.getPastVotes(alice, t0 - 1) == 0
    assert funded.getPastVotes(alice, t0) == ALICE_FUNDS
    assert funded.getPastVotes(alice, t0 + 9) == ALICE_FUNDS
    assert funded.getPastVotes(alice, t0 + 10) == ALICE_FUNDS - 100
    assert funded.getPastVotes(alice, t0 + 14) == ALICE_FUNDS - 100
    assert funded.getPastVotes(alice, t0 + 15) == 0
    # A value that returns to an old level after zero is a new checkpoint, not a reuse.
    with boa.env.prank(alice):
        funded.delegate(alice)
    assert funded.numCheckpoints(alice) == 4
    assert funded.checkpoints(alice, 3) == (t0 + 16, ALICE_FUNDS - 200)


def test_past_total_supply(fresh_token: Any, deployer: str, alice: str, bob: str) -> None:
    t0 = now()
    with boa.env.prank(deployer):
        fresh_token.mint(alice, 100)
    warp(7)
    with boa.env.prank(alice):
        fresh_token.transfer(bob, 40)  # transfers do not checkpoint the supply
    warp(7)
    with boa.env.prank(alice):
        fresh_token.burn(10)
    with boa.env.prank(deployer):
        fresh_token.mint(bob, 1_000)
    warp(1)
    assert fresh_token.getPastTotalSupply(t0 - 1) == 0
    assert fresh_token.getPastTotalSupply(t0) == 100
    assert fresh_token.getPastTotalSupply(t0 + 7) == 100
    assert fresh_token.getPastTotalSupply(t0 + 13) == 100
    assert fresh_token.getPastTotalSupply(t0 + 14) == 1_090
    assert fresh_token.totalSupply() == 1_090


@pytest.mark.parametrize("n", range(1, 10))
def test_history_of_every_length(fresh_token: Any, deployer: str, alice: str, n: int) -> None:
    """n checkpoints, i.e. n-1 history entries: odd and even fills of the 2-per-slot history."""
    with boa.env.prank(alice):
        fresh_token.delegate(alice)
    expected: list[tuple[int, int]] = []
    for i in range(n):
        with boa.env.prank(deployer):
            fresh_token.mint(alice, (i + 1) * CLUB)
        expected.append((now(), (expected[-1][1] if expected else 0) + (i + 1) * CLUB))
        warp(3)
    assert fresh_token.numCheckpoints(alice) == n
    assert [tuple(fresh_token.checkpoints(alice, i)) for i in range(n)] == expected
    with boa.reverts(OUT_OF_RANGE):
        fresh_token.checkpoints(alice, n)
    for t in range(expected[0][0] - 1, now()):
        assert fresh_token.getPastVotes(alice, t) == value_at(expected, t), t
        assert fresh_token.getPastTotalSupply(t) == value_at(expected, t), t


# (seconds to wait before the change, signed change of the delegatee's votes in CLUB)
_steps = st.lists(
    st.tuples(st.sampled_from([0, 0, 1, 2, 5, 3600, 10**6]), st.integers(-3, 5)),
    min_size=1,
    max_size=40,
)


@given(steps=_steps, waits=st.lists(st.integers(0, 3), min_size=1, max_size=5))
def test_random_history_lookups(
    fresh_token: Any, deployer: str, alice: str, bob: str, steps: list[tuple[int, int]], waits: list[int]
) -> None:
    """Random histories (many same-timestamp changes, long gaps) against an OZ-semantics model."""
    with boa.env.prank(deployer):
        fresh_token.mint(bob, CAP // 2)
    with boa.env.prank(alice):
        fresh_token.delegate(alice)
    checkpoints: list[tuple[int, int]] = []
    votes = 0
    for wait, change in steps:
        warp(wait)
        if change > 0:
            with boa.env.prank(bob):
                fresh_token.transfer(alice, change * CLUB)
        elif change < 0 and votes >= -change * CLUB:
            with boa.env.prank(alice):
                fresh_token.transfer(bob, -change * CLUB)
        else:
            continue
        votes += change * CLUB
        if checkpoints and checkpoints[-1][0] == now():
            checkpoints[-1] = (now(), votes)
        else:
            checkpoints.append((now(), votes))
    for w in waits:
        warp(w)
    assert fresh_token.getVotes(alice) == votes
    assert fresh_token.numCheckpoints(alice) == len(checkpoints)
    assert [tuple(fresh_token.checkpoints(alice, i)) for i in range(len(checkpoints))] == checkpoints
    probes = {0, checkpoints[0][0] - 1 if checkpoints else 0}
    for t, _ in checkpoints:
        probes.update({t - 1, t, t + 1})
    for t in sorted(p for p in probes if 0 <= p < now()):
        assert fresh_token.getPastVotes(alice, t) == value_at(checkpoints, t), t
