"""Stateful fuzzing of Disputes (with the real NodeRegistry) against a small Python model.

Reporters prove forks, flaggers flag nodes (some flaggers are nodes themselves), anyone draws
panels, reviewers vote (or not) and anyone finalises, while time passes, nodes beat and operators
try to withdraw unbonding stake. Invariants: no (node, room, seq) is slashed twice; every cut is
at most the pool it was taken from; bonds are conserved (Disputes holds exactly the bonds of the
open disputes); the registry's freeze count of a node is its number of open disputes and a frozen
node never withdraws; panels never contain the flagged node, the flagger, or a reviewer that is
busy or cooling down; the outcome (kick or not) is the one the model computes from the votes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import boa
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from tests.utils.disputes import (
    Node,
    add_node,
    after_reveal,
    beat_all,
    commit_fork,
    draw_event,
    fork,
    next_block,
    open_flag,
    prove,
    vote,
)
from tests.utils.registry import now

WAD = 10**18
BPS = 10_000
NODES = 7
ROOMS = (b"\x01" * 32, b"\x02" * 32)


@dataclass
class Case:
    node: str
    flagger: str
    bond: int
    status: int = 1
    panel: list[str] = field(default_factory=list)
    voter_seats: list[int] = field(default_factory=list)  # seats that revealed (a rejection pays them)
    unpaid: int = 0  # CLUB wei of a rejection's bond its voters have not collected yet
    paid_mask: int = 0  # seats that collected their share


class DisputesMachine(RuleBasedStateMachine):
    disputes = registry = token = governance = directory = None
    minimum = 0

    def __init__(self) -> None:
        super().__init__()
        self._anchor = boa.env.anchor()
        self._anchor.__enter__()
        self.nodes: list[Node] = []
        self.proven: set[tuple[str, bytes, int]] = set()
        self.cases: dict[int, Case] = {}
        self.available: dict[str, int] = {}
        self.release: dict[str, int] = {}
        self.eoa_flaggers = [str(boa.env.generate_address(f"flagger{i}")) for i in range(2)]
        self.reporter = str(boa.env.generate_address("reporter"))
        self.attempts = 0

    def teardown(self) -> None:
        self._anchor.__exit__(None, None, None)

    @initialize()
    def setup(self) -> None:
        for i in range(NODES):
            n = add_node(self.token, self.registry, self.governance, f"s{i}", (i + 2) * self.minimum)
            self.nodes.append(n)
            # Each operator starts unbonding a little, withdrawable after the unbonding period.
            with boa.env.prank(n.operator):
                self.registry.unbond(n.operator, self.directory.shares(n.operator, n.operator) // 10)
            self.release[n.operator] = now() + self.registry.unbonding_seconds()

    # ---------------------------------------------------------------- helpers

    def _pool(self, node: str) -> int:
        n = self.directory.nodes(node)
        return n.bonded_assets + n.unbonding_assets

    def _open(self, node: str) -> int:
        return sum(1 for c in self.cases.values() if c.node == node and c.status in (1, 2))

    def _pick(self, data_id: int, status: int) -> int | None:
        ids = sorted(i for i, c in self.cases.items() if c.status == status)
        return ids[data_id % len(ids)] if ids else None

    # ---------------------------------------------------------------- rules

    @rule(i=st.integers(0, NODES - 1), room=st.sampled_from(ROOMS), seq=st.integers(1, 3))
    def prove_fork(self, i: int, room: bytes, seq: int) -> None:
        node = self.nodes[i]
        a, sa, b, sb = fork(self.disputes, node, seq=seq, room=room)
        # A fresh salt per attempt: a refused reveal leaves its commitment behind.
        self.attempts += 1
        salt = self.attempts.to_bytes(32, "big")
        commit_fork(self.disputes, self.reporter, a, salt=salt)
        next_block()
        place = (node.operator, room, seq)
        if place in self.proven:
            with boa.reverts("disputes: already proven"):
                prove(self.disputes, self.reporter, a, sa, b, sb, salt=salt)
            return
        pool = self._pool(node.operator)
        cut = prove(self.disputes, self.reporter, a, sa, b, sb, salt=salt)
        assert 0 < cut <= pool or pool == 0
        assert self._pool(node.operator) == pool - cut
        self.proven.add(place)

    @rule(i=st.integers(0, NODES - 1), f=st.integers(0, NODES + 1))
    def flag(self, i: int, f: int) -> None:
        node = self.nodes[i].operator
        flagger = self.eoa_flaggers[f - NODES] if f >= NODES else self.nodes[f].operator
        if flagger == node:
            with boa.env.prank(flagger), boa.reverts("disputes: cannot flag yourself"):
                self.disputes.flag(node, 1, "")
            return
        dispute_id = open_flag(self.token, self.disputes, self.governance, flagger, node)
        self.cases[dispute_id] = Case(node, flagger, self.disputes.parameters().flag_bond)

    @rule(data_id=st.integers(0, 100))
    def draw_panel(self, data_id: int) -> None:
        dispute_id = self._pick(data_id, 1)
        if dispute_id is None:
            return
        case = self.cases[dispute_id]
        beat_all(self.registry, self.nodes)
        ev = draw_event(self.disputes, dispute_id)
        status = self.disputes.disputes(dispute_id).status
        if ev is None and status == 1:
            # The seed block was more than 256 blocks ago: re-armed on the next block; draw again.
            assert self.disputes.disputes(dispute_id).draw_block == boa.env.evm.patch.block_number + 1
            ev = draw_event(self.disputes, dispute_id)
            status = self.disputes.disputes(dispute_id).status
        if ev is None:
            assert status == 5  # nobody could review: dismissed, bond back
            case.status = 5
            return
        panel = [str(a) for a in ev.panel]
        assert case.node not in panel and case.flagger not in panel
        assert len(set(panel)) == len(panel) <= self.disputes.parameters().panel_size
        for r in panel:
            assert self.available.get(r, 0) <= now(), "a busy or cooling reviewer was drawn"
            self.available[r] = self.disputes.reviewer_of(r)[3]
        case.status, case.panel = 2, panel

    @rule(
        data_id=st.integers(0, 100),
        votes=st.lists(st.sampled_from([None, True, False]), min_size=14, max_size=14),
    )
    def vote_and_finalize(self, data_id: int, votes: list[bool | None]) -> None:
        dispute_id = self._pick(data_id, 2)
        if dispute_id is None:
            return
        case = self.cases[dispute_id]
        d = self.disputes.disputes(dispute_id)
        ballots = {r: v for r, v in zip(case.panel, votes, strict=False) if v is not None}
        if now() <= d.commit_deadline:
            vote(self.disputes, dispute_id, ballots)
        else:
            ballots = {}
        after_reveal(self.disputes, dispute_id)
        self._finalize(dispute_id, ballots)

    @rule(data_id=st.integers(0, 100))
    def finalize_late(self, data_id: int) -> None:
        dispute_id = self._pick(data_id, 2)
        if dispute_id is None:
            return
        after_reveal(self.disputes, dispute_id)
        self._finalize(dispute_id, {})

    def _finalize(self, dispute_id: int, ballots: dict[str, bool]) -> None:
        case = self.cases[dispute_id]
        p = self.disputes.parameters()
        weight = {r: self.disputes.reviewer_of(r)[2] for r in case.panel}
        total = sum(weight.values())
        revealed = sum(weight[r] for r in ballots)
        kicks = sum(weight[r] for r, k in ballots.items() if k)
        expect_kick = revealed * BPS >= p.quorum_bps * total and kicks * BPS > p.majority_bps * revealed
        pool = self._pool(case.node)
        flagger_before = self.token.balanceOf(case.flagger)
        with boa.env.prank(str(boa.env.generate_address("finaliser"))):
            cut = self.disputes.finalize(dispute_id, case.panel)
        case.status = 3 if expect_kick else 4
        assert self.disputes.disputes(dispute_id).status == case.status
        assert cut <= pool
        if expect_kick:
            assert cut > 0 or pool == 0
            assert self.token.balanceOf(case.flagger) >= flagger_before + case.bond
        elif not ballots:
            assert self.token.balanceOf(case.flagger) == flagger_before + case.bond
        else:
            assert self.token.balanceOf(case.flagger) == flagger_before
            case.voter_seats = sorted(self.disputes.reviewer_of(r)[1] for r in ballots)
            case.unpaid = case.bond

    @rule(data_id=st.integers(0, 100), pick=st.integers(0, 13))
    def claim_share(self, data_id: int, pick: int) -> None:
        ids = sorted(i for i, c in self.cases.items() if c.voter_seats)
        if not ids:
            return
        dispute_id = ids[data_id % len(ids)]
        case = self.cases[dispute_id]
        seat = case.voter_seats[pick % len(case.voter_seats)]
        paid_bit = 1 << seat
        if case.paid_mask & paid_bit:
            with boa.reverts("disputes: share already paid"):
                self.disputes.claim_share(dispute_id, case.panel, seat)
            return
        each = case.bond // len(case.voter_seats)
        expected = each + (case.bond - each * len(case.voter_seats) if seat == case.voter_seats[0] else 0)
        assert self.disputes.claim_share(dispute_id, case.panel, seat) == expected
        case.paid_mask |= paid_bit
        case.unpaid -= expected

    @rule(i=st.integers(0, NODES - 1))
    def withdraw(self, i: int) -> None:
        node = self.nodes[i].operator
        entry = self.registry.unbondings(node, 0)
        if entry.shares == 0:
            return
        with boa.env.prank(node):
            if now() < self.release[node]:
                with boa.reverts("registry: still unbonding"):
                    self.registry.withdraw(0)
            elif self._open(node) > 0:
                with boa.reverts("registry: node frozen"):
                    self.registry.withdraw(0)
            else:
                self.registry.withdraw(0)

    @rule(hours=st.integers(1, 30))
    def time_passes(self, hours: int) -> None:
        boa.env.time_travel(seconds=hours * 3600)
        beat_all(self.registry, self.nodes)

    # ---------------------------------------------------------------- invariants

    @invariant()
    def bonds_conserved(self) -> None:
        held = sum(c.bond for c in self.cases.values() if c.status in (1, 2))
        # A rejection's bond stays until its voters collect their shares.
        held += sum(c.unpaid for c in self.cases.values())
        assert self.token.balanceOf(self.disputes.address) == held

    @invariant()
    def freeze_counts_are_open_disputes(self) -> None:
        for n in self.nodes:
            assert self.registry.frozen(n.operator) == self._open(n.operator)

    @invariant()
    def each_place_slashed_once(self) -> None:
        for node, room, seq in self.proven:
            assert self.disputes.proven(self.disputes.evidence_id(node, room, seq))


_PROFILE_IS_DEEP = os.environ.get("HYPOTHESIS_PROFILE") == "deep"


def test_disputes_stateful(token, protocol, params):
    DisputesMachine.disputes = protocol["Disputes"]
    DisputesMachine.registry = protocol["NodeRegistry"]
    DisputesMachine.directory = protocol["NodeDirectory"]
    DisputesMachine.token = token
    DisputesMachine.governance = str(protocol["Timelock"].address)
    DisputesMachine.minimum = params.registry.min_self_stake_per_kind_wei
    run = DisputesMachine.TestCase
    run.settings = settings(
        max_examples=100 if _PROFILE_IS_DEEP else 4,
        stateful_step_count=60 if _PROFILE_IS_DEEP else 20,
        deadline=None,
    )
    run().runTest()
