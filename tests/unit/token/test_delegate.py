"""ClubToken.delegate, delegates and getVotes: vote movement, events with OpenZeppelin's exact topics."""

from __future__ import annotations

from typing import Any

import boa

from tests.unit.token.conftest import ALICE_FUNDS, BOB_FUNDS
from tests.unit.token.helpers import (
    CLUB,
    TOPIC_DELEGATE_CHANGED,
    TOPIC_DELEGATE_VOTES_CHANGED,
    TOPIC_TRANSFER,
    ZERO,
    deploy_token,
    event_names,
    events,
    now,
    raw_logs,
    warp,
)

# An address with every bit set: catches a delegate that leaks into (or is cut by) the balance bits.
ALL_ONES = "0xFFfFfFffFFfffFFfFFfFFFFFffFFFffffFfFFFfF"


def _topic_address(topic: int) -> str:
    return "0x" + topic.to_bytes(32, "big")[12:].hex()


def test_nobody_delegates_by_default(funded: Any, alice: str) -> None:
    assert funded.delegates(alice) == ZERO
    assert funded.getVotes(alice) == 0
    assert funded.numCheckpoints(alice) == 0


def test_self_delegation(funded: Any, alice: str) -> None:
    with boa.env.prank(alice):
        funded.delegate(alice)
    assert event_names(funded) == ["DelegateChanged", "DelegateVotesChanged"]
    (dc,) = events(funded, "DelegateChanged")
    assert (dc.delegator, dc.fromDelegate, dc.toDelegate) == (alice, ZERO, alice)
    (dvc,) = events(funded, "DelegateVotesChanged")
    assert (dvc.delegate, dvc.previousVotes, dvc.newVotes) == (alice, 0, ALICE_FUNDS)
    assert funded.delegates(alice) == alice
    assert funded.getVotes(alice) == ALICE_FUNDS
    assert funded.balanceOf(alice) == ALICE_FUNDS


def test_event_topics_are_openzeppelins(funded: Any, alice: str, bob: str) -> None:
    """Indexers filter on topic0 = keccak of OZ's signatures and read the indexed fields from topics."""
    with boa.env.prank(alice):
        funded.delegate(bob)
    dc, dvc = raw_logs(funded)
    assert dc.topics[0] == TOPIC_DELEGATE_CHANGED
    assert [_topic_address(t) for t in dc.topics[1:]] == [alice.lower(), ZERO, bob.lower()]
    assert dc.data == b""
    assert dvc.topics[0] == TOPIC_DELEGATE_VOTES_CHANGED
    assert [_topic_address(t) for t in dvc.topics[1:]] == [bob.lower()]
    assert dvc.data == (0).to_bytes(32, "big") + ALICE_FUNDS.to_bytes(32, "big")
    with boa.env.prank(alice):
        funded.transfer(bob, 1)
    transfer, dvc_transfer = raw_logs(funded)
    assert transfer.topics[0] == TOPIC_TRANSFER
    assert dvc_transfer.topics[0] == TOPIC_DELEGATE_VOTES_CHANGED


def test_redelegation_moves_votes(funded: Any, alice: str, bob: str, carol: str) -> None:
    with boa.env.prank(alice):
        funded.delegate(bob)
        funded.delegate(carol)
    assert event_names(funded) == ["DelegateChanged", "DelegateVotesChanged", "DelegateVotesChanged"]
    (dc,) = events(funded, "DelegateChanged")
    assert (dc.delegator, dc.fromDelegate, dc.toDelegate) == (alice, bob, carol)
    old, new = events(funded, "DelegateVotesChanged")
    assert (old.delegate, old.previousVotes, old.newVotes) == (bob, ALICE_FUNDS, 0)
    assert (new.delegate, new.previousVotes, new.newVotes) == (carol, 0, ALICE_FUNDS)
    assert funded.getVotes(bob) == 0
    assert funded.getVotes(carol) == ALICE_FUNDS


def test_delegate_to_zero_stops_counting(funded: Any, alice: str) -> None:
    with boa.env.prank(alice):
        funded.delegate(alice)
        funded.delegate(ZERO)
    (dc,) = events(funded, "DelegateChanged")
    assert (dc.delegator, dc.fromDelegate, dc.toDelegate) == (alice, alice, ZERO)
    (dvc,) = events(funded, "DelegateVotesChanged")
    assert (dvc.delegate, dvc.previousVotes, dvc.newVotes) == (alice, ALICE_FUNDS, 0)
    assert funded.delegates(alice) == ZERO
    assert funded.getVotes(alice) == 0
    assert funded.getVotes(ZERO) == 0


def test_redelegate_same_delegatee_moves_nothing(funded: Any, alice: str, bob: str) -> None:
    with boa.env.prank(alice):
        funded.delegate(bob)
        funded.delegate(bob)
    assert event_names(funded) == ["DelegateChanged"]
    (dc,) = events(funded, "DelegateChanged")
    assert (dc.fromDelegate, dc.toDelegate) == (bob, bob)
    assert funded.getVotes(bob) == ALICE_FUNDS
    assert funded.numCheckpoints(bob) == 1


def test_delegate_without_balance(fresh_token: Any, carol: str, bob: str) -> None:
    with boa.env.prank(carol):
        fresh_token.delegate(bob)
    assert event_names(fresh_token) == ["DelegateChanged"]
    assert fresh_token.delegates(carol) == bob
    assert fresh_token.getVotes(bob) == 0
    assert fresh_token.numCheckpoints(bob) == 0


def test_votes_accumulate_from_several_delegators(funded: Any, alice: str, bob: str, carol: str) -> None:
    with boa.env.prank(alice):
        funded.delegate(carol)
    with boa.env.prank(bob):
        funded.delegate(carol)
    (dvc,) = events(funded, "DelegateVotesChanged")
    assert (dvc.delegate, dvc.previousVotes, dvc.newVotes) == (carol, ALICE_FUNDS, ALICE_FUNDS + BOB_FUNDS)
    assert funded.getVotes(carol) == ALICE_FUNDS + BOB_FUNDS


def test_transfer_between_delegated_holders(funded: Any, alice: str, bob: str) -> None:
    with boa.env.prank(alice):
        funded.delegate(alice)
    with boa.env.prank(bob):
        funded.delegate(bob)
    with boa.env.prank(alice):
        funded.transfer(bob, 100 * CLUB)
    assert event_names(funded) == ["Transfer", "DelegateVotesChanged", "DelegateVotesChanged"]
    src, dst = events(funded, "DelegateVotesChanged")
    assert (src.delegate, src.previousVotes, src.newVotes) == (alice, ALICE_FUNDS, ALICE_FUNDS - 100 * CLUB)
    assert (dst.delegate, dst.previousVotes, dst.newVotes) == (bob, BOB_FUNDS, BOB_FUNDS + 100 * CLUB)


def test_transfer_to_non_delegating_holder_drops_votes(funded: Any, alice: str, carol: str) -> None:
    with boa.env.prank(alice):
        funded.delegate(alice)
        funded.transfer(carol, 100 * CLUB)
    assert event_names(funded) == ["Transfer", "DelegateVotesChanged"]
    assert funded.getVotes(alice) == ALICE_FUNDS - 100 * CLUB
    assert funded.getVotes(carol) == 0
    with boa.env.prank(carol):
        funded.delegate(carol)
    assert funded.getVotes(carol) == 100 * CLUB


def test_transfer_between_holders_with_same_delegate(funded: Any, alice: str, bob: str, carol: str) -> None:
    with boa.env.prank(alice):
        funded.delegate(carol)
    with boa.env.prank(bob):
        funded.delegate(carol)
    with boa.env.prank(alice):
        funded.transfer(bob, 10)
    assert event_names(funded) == ["Transfer"]
    assert funded.getVotes(carol) == ALICE_FUNDS + BOB_FUNDS


def test_delegate_and_balance_share_a_slot_without_interference(funded: Any, alice: str, bob: str) -> None:
    with boa.env.prank(alice):
        funded.delegate(ALL_ONES)
    assert funded.delegates(alice) == ALL_ONES
    assert funded.balanceOf(alice) == ALICE_FUNDS
    assert funded.getVotes(ALL_ONES) == ALICE_FUNDS
    with boa.env.prank(alice):
        funded.transfer(bob, ALICE_FUNDS)
    assert funded.delegates(alice) == ALL_ONES
    assert funded.balanceOf(alice) == 0
    assert funded.getVotes(ALL_ONES) == 0
    with boa.env.prank(bob):
        funded.transfer(alice, 3)
    assert funded.balanceOf(alice) == 3
    assert funded.getVotes(ALL_ONES) == 3
    assert funded.delegates(bob) == ZERO


def test_delegate_does_not_move_tokens(funded: Any, alice: str, bob: str) -> None:
    with boa.env.prank(alice):
        funded.delegate(bob)
    assert funded.balanceOf(alice) == ALICE_FUNDS
    assert funded.balanceOf(bob) == BOB_FUNDS
    assert funded.totalSupply() == ALICE_FUNDS + BOB_FUNDS
    assert funded.delegates(bob) == ZERO


def test_vote_state_follows_self_delegation(funded: Any, alice: str, bob: str, carol: str) -> None:
    """alice's vote state moves between `_state` and her account slot as she starts and stops
    delegating to herself; her checkpoint history must survive every move intact."""
    expected: list[tuple[int, int]] = []
    with boa.env.prank(bob):
        funded.delegate(alice)  # alice receives votes while not delegating herself
    expected.append((now(), BOB_FUNDS))
    warp(10)
    with boa.env.prank(alice):
        funded.delegate(alice)  # state moves into alice's account slot
    expected.append((now(), BOB_FUNDS + ALICE_FUNDS))
    assert funded.balanceOf(alice) == ALICE_FUNDS
    warp(10)
    with boa.env.prank(alice):
        funded.transfer(carol, 100 * CLUB)
    expected.append((now(), BOB_FUNDS + ALICE_FUNDS - 100 * CLUB))
    warp(10)
    with boa.env.prank(alice):
        funded.delegate(bob)  # state moves back out; alice keeps bob's votes
    expected.append((now(), BOB_FUNDS))
    assert funded.delegates(alice) == bob
    assert funded.getVotes(bob) == ALICE_FUNDS - 100 * CLUB
    warp(10)
    with boa.env.prank(alice):
        funded.delegate(alice)
    expected.append((now(), BOB_FUNDS + ALICE_FUNDS - 100 * CLUB))
    with boa.env.prank(carol):
        funded.transfer(alice, 40 * CLUB)  # same timestamp: rewrites the last checkpoint
    expected[-1] = (now(), BOB_FUNDS + ALICE_FUNDS - 60 * CLUB)
    warp(1)
    assert funded.balanceOf(alice) == ALICE_FUNDS - 60 * CLUB
    assert funded.getVotes(alice) == expected[-1][1]
    assert funded.getVotes(bob) == 0
    assert funded.numCheckpoints(alice) == len(expected)
    assert [tuple(funded.checkpoints(alice, i)) for i in range(len(expected))] == expected
    for i, (t, v) in enumerate(expected):
        assert funded.getPastVotes(alice, t) == v
        assert funded.getPastVotes(alice, t - 1) == (expected[i - 1][1] if i else 0)
    with boa.env.prank(alice):
        funded.delegate(ZERO)
    assert funded.getVotes(alice) == BOB_FUNDS
    assert funded.balanceOf(alice) == ALICE_FUNDS - 60 * CLUB


def test_self_delegated_full_cap_with_long_history(deployer: str, alice: str, bob: str) -> None:
    """Largest balance and vote value (2**90 - 1) and a growing history length, all in one slot."""
    cap = 2**90 - 1
    token = deploy_token(deployer, cap=cap)
    with boa.env.prank(alice):
        token.delegate(alice)
    with boa.env.prank(deployer):
        token.mint(alice, cap)
    times = [now()]
    for _ in range(5):
        warp(2**20)
        with boa.env.prank(alice):
            token.transfer(bob, 1)
        with boa.env.prank(bob):
            token.transfer(alice, 1)
        times.append(now())
        assert token.balanceOf(alice) == cap
        assert token.getVotes(alice) == cap
        assert token.delegates(alice) == alice
    # Every round wrote one checkpoint: two same-timestamp changes that net to zero.
    assert token.numCheckpoints(alice) == len(times)
    assert [tuple(token.checkpoints(alice, i)) for i in range(len(times))] == [(t, cap) for t in times]
    warp(1)
    assert token.getPastVotes(alice, times[0] - 1) == 0
    assert all(token.getPastVotes(alice, t) == cap for t in times)
    with boa.env.prank(alice):
        token.delegate(bob)
    assert token.getVotes(bob) == cap
    assert token.getVotes(alice) == 0
    assert token.balanceOf(alice) == cap
    assert token.numCheckpoints(alice) == len(times) + 1
