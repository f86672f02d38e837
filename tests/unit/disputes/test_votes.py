"""commit_vote / reveal_vote: who may vote, the phases, commit-reveal matching, the tally."""

from __future__ import annotations

import boa
import pytest

from tests.utils.disputes import draw, events, open_flag, set_params, vote_commitment
from tests.utils.registry import now

SALT = b"\x09" * 32


@pytest.fixture
def drawn(disputes, token, governance, target, flagger):
    """A dispute against `target` with its panel drawn: (dispute id, panel)."""
    dispute_id = open_flag(token, disputes, governance, flagger, target.operator)
    return dispute_id, draw(disputes, dispute_id)


def _commit(disputes, dispute_id, reviewer, kick, sender=None):
    with boa.env.prank(sender or reviewer):
        disputes.commit_vote(dispute_id, reviewer, vote_commitment(dispute_id, reviewer, kick, SALT))


def _to_reveal_phase(disputes, dispute_id):
    boa.env.time_travel(seconds=disputes.disputes(dispute_id).commit_deadline - now() + 12)


def test_commit_and_reveal_tally(disputes, drawn):
    dispute_id, panel = drawn
    _commit(disputes, dispute_id, panel[0], True)
    with boa.env.prank(panel[1]):
        disputes.commit_vote(dispute_id, panel[1], vote_commitment(dispute_id, panel[1], False, SALT))
        [ev] = events(disputes, "VoteCommitted")
    assert (ev.dispute_id, ev.reviewer) == (dispute_id, panel[1])
    _to_reveal_phase(disputes, dispute_id)
    w0 = disputes.reviewer_of(panel[0])[2]
    w1 = disputes.reviewer_of(panel[1])[2]
    with boa.env.prank(panel[0]):
        disputes.reveal_vote(dispute_id, panel[0], True, SALT)
        [ev] = events(disputes, "VoteRevealed")
    assert (ev.dispute_id, ev.reviewer, ev.kick, ev.weight) == (dispute_id, panel[0], True, w0)
    with boa.env.prank(panel[1]):
        disputes.reveal_vote(dispute_id, panel[1], False, SALT)
    d = disputes.disputes(dispute_id)
    seat0, seat1 = disputes.reviewer_of(panel[0])[1], disputes.reviewer_of(panel[1])[1]
    assert (d.revealed_weight, d.kick_weight, d.revealed_mask) == (w0 + w1, w0, (1 << seat0) | (1 << seat1))


def test_node_key_votes_for_its_operator(disputes, registry, drawn):
    dispute_id, panel = drawn
    key = registry.node_key(panel[0])
    _commit(disputes, dispute_id, panel[0], True, sender=key)
    _to_reveal_phase(disputes, dispute_id)
    with boa.env.prank(key):
        disputes.reveal_vote(dispute_id, panel[0], True, SALT)
    assert disputes.disputes(dispute_id).kick_weight == disputes.reviewer_of(panel[0])[2]


def test_a_later_commit_replaces_the_earlier(disputes, drawn):
    dispute_id, panel = drawn
    _commit(disputes, dispute_id, panel[0], True)
    _commit(disputes, dispute_id, panel[0], False)
    _to_reveal_phase(disputes, dispute_id)
    with boa.env.prank(panel[0]), boa.reverts("disputes: vote does not match"):
        disputes.reveal_vote(dispute_id, panel[0], True, SALT)
    with boa.env.prank(panel[0]):
        disputes.reveal_vote(dispute_id, panel[0], False, SALT)


def test_not_the_reviewer(disputes, drawn, non_admin, network):
    dispute_id, panel = drawn
    for sender in (non_admin, next(n.operator for n in network if n.operator != panel[0])):
        with boa.env.prank(sender), boa.reverts("disputes: not the reviewer"):
            disputes.commit_vote(dispute_id, panel[0], b"\x01" * 32)
        with boa.env.prank(sender), boa.reverts("disputes: not the reviewer"):
            disputes.reveal_vote(dispute_id, panel[0], True, SALT)


def test_not_on_the_panel(disputes, drawn, target, network):
    dispute_id, panel = drawn
    outsider = next(n.operator for n in network if n.operator not in panel)
    for who in (outsider, target.operator):
        with boa.env.prank(who), boa.reverts("disputes: not on the panel"):
            disputes.commit_vote(dispute_id, who, b"\x01" * 32)


def test_not_in_voting(disputes, token, governance, target, flagger, network):
    dispute_id = open_flag(token, disputes, governance, flagger, target.operator)
    reviewer = network[1].operator
    with boa.env.prank(reviewer), boa.reverts("disputes: not in voting"):
        disputes.commit_vote(dispute_id, reviewer, b"\x01" * 32)
    with boa.env.prank(reviewer), boa.reverts("disputes: not in voting"):
        disputes.commit_vote(99, reviewer, b"\x01" * 32)


def test_zero_commitment(disputes, drawn):
    dispute_id, panel = drawn
    with boa.env.prank(panel[0]), boa.reverts("disputes: zero commitment"):
        disputes.commit_vote(dispute_id, panel[0], b"\x00" * 32)


def test_commit_phase_over(disputes, drawn):
    dispute_id, panel = drawn
    _to_reveal_phase(disputes, dispute_id)
    with boa.env.prank(panel[0]), boa.reverts("disputes: commit phase over"):
        disputes.commit_vote(dispute_id, panel[0], b"\x01" * 32)


def test_reveal_in_the_commit_phase(disputes, drawn):
    dispute_id, panel = drawn
    _commit(disputes, dispute_id, panel[0], True)
    with boa.env.prank(panel[0]), boa.reverts("disputes: commit phase not over"):
        disputes.reveal_vote(dispute_id, panel[0], True, SALT)


def test_reveal_phase_over(disputes, drawn):
    dispute_id, panel = drawn
    _commit(disputes, dispute_id, panel[0], True)
    boa.env.time_travel(seconds=disputes.disputes(dispute_id).reveal_deadline - now() + 12)
    with boa.env.prank(panel[0]), boa.reverts("disputes: reveal phase over"):
        disputes.reveal_vote(dispute_id, panel[0], True, SALT)


def test_reveal_without_commit_and_twice(disputes, drawn):
    dispute_id, panel = drawn
    _commit(disputes, dispute_id, panel[1], True)
    _to_reveal_phase(disputes, dispute_id)
    with boa.env.prank(panel[0]), boa.reverts("disputes: no vote committed"):
        disputes.reveal_vote(dispute_id, panel[0], True, SALT)
    with boa.env.prank(panel[1]):
        disputes.reveal_vote(dispute_id, panel[1], True, SALT)
    with boa.env.prank(panel[1]), boa.reverts("disputes: no vote committed"):
        disputes.reveal_vote(dispute_id, panel[1], True, SALT)
    assert disputes.disputes(dispute_id).kick_weight == disputes.reviewer_of(panel[1])[2]


def test_wrong_salt_or_vote(disputes, drawn):
    dispute_id, panel = drawn
    _commit(disputes, dispute_id, panel[0], True)
    _to_reveal_phase(disputes, dispute_id)
    with boa.env.prank(panel[0]), boa.reverts("disputes: vote does not match"):
        disputes.reveal_vote(dispute_id, panel[0], False, SALT)
    with boa.env.prank(panel[0]), boa.reverts("disputes: vote does not match"):
        disputes.reveal_vote(dispute_id, panel[0], True, b"\x01" * 32)


def test_longest_reveal_phase_is_kept_in_the_dispute(disputes, token, governance, target, flagger):
    """The reveal deadline is the commit deadline plus the reveal phase fixed at the draw (kept in
    the dispute's word): a later parameter change moves neither; a reveal at the last second of the
    longest phase counts, one second later it is refused, and finalising waits for it."""
    set_params(disputes, governance, vote_reveal_seconds=2**24 - 1)
    dispute_id = open_flag(token, disputes, governance, flagger, target.operator)
    panel = draw(disputes, dispute_id)
    d = disputes.disputes(dispute_id)
    assert d.reveal_deadline == d.commit_deadline + 2**24 - 1
    set_params(disputes, governance, vote_reveal_seconds=60, vote_commit_seconds=60)
    assert disputes.disputes(dispute_id)[-2:] == (d.commit_deadline, d.reveal_deadline)
    _commit(disputes, dispute_id, panel[0], True)
    _commit(disputes, dispute_id, panel[1], False)
    boa.env.time_travel(seconds=d.reveal_deadline - now())
    with boa.env.prank(panel[0]):
        disputes.reveal_vote(dispute_id, panel[0], True, SALT)
    with boa.reverts("disputes: voting not over"):
        disputes.finalize(dispute_id, panel)
    boa.env.time_travel(seconds=1)
    with boa.env.prank(panel[1]), boa.reverts("disputes: reveal phase over"):
        disputes.reveal_vote(dispute_id, panel[1], False, SALT)
    disputes.finalize(dispute_id, panel)
    assert disputes.disputes(dispute_id).status == 4  # rejected: one revealed vote is below the quorum
