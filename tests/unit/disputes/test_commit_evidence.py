"""commit_evidence: stores the block and time of a commitment once; refuses zero and repeats."""

from __future__ import annotations

import boa

from tests.utils.disputes import events
from tests.utils.registry import now


def test_commit_records_block_and_time(disputes, reporter):
    c = b"\x11" * 32
    with boa.env.prank(reporter):
        disputes.commit_evidence(c)
        [ev] = events(disputes, "EvidenceCommitted")
    assert (ev.reporter, ev.commitment) == (reporter, c)
    assert disputes.commitment_of(c) == (boa.env.evm.patch.block_number, now())


def test_unknown_commitment_is_zero(disputes):
    assert disputes.commitment_of(b"\x12" * 32) == (0, 0)


def test_zero_commitment(disputes, reporter):
    with boa.env.prank(reporter), boa.reverts("disputes: zero commitment"):
        disputes.commit_evidence(b"\x00" * 32)


def test_commitment_only_once(disputes, reporter, non_admin):
    c = b"\x13" * 32
    with boa.env.prank(reporter):
        disputes.commit_evidence(c)
    boa.env.time_travel(blocks=1)
    # Nobody can re-commit it (a re-commit would move its block and let a copier reset a window).
    for who in (reporter, non_admin):
        with boa.env.prank(who), boa.reverts("disputes: already committed"):
            disputes.commit_evidence(c)
