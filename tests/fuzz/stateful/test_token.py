"""Stateful fuzz of ClubToken: ERC-20 and ERC-5805 votes against a small Python model.

Actors mint (with and without the role), transfer, approve, transferFrom, burn,
burnFrom and delegate (to themselves, to others, to nobody) while the clock moves
by random amounts, zero included, so several changes often share one timestamp.

The model keeps balances, delegates and allowances, plus two independent views
of the vote history:
- `snapshots`: (timestamp, votes per delegatee, total supply) at the end of every
  timestamp with a change, derived from balances and delegates alone;
- `checkpoints`: per delegatee, OpenZeppelin's checkpoint list (one entry per
  timestamp in which its votes were written), for numCheckpoints/checkpoints.
Past look-ups (random past timestamps, between changes, before the first
checkpoint) must match the snapshots. An initialize step builds histories of
random length first, so the 2-per-slot history and its binary search are
exercised at odd and even lengths across several slots.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import boa
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.unit.token.helpers import CAP, MAX_UINT256, MISSING_ROLE, ZERO, deploy_token, now

HOLDERS = ("alice", "bob", "carol", "dave", "erin")
# Delegatees: the holders, one account that only ever receives votes, and nobody.
VOTE_ONLY = "voter"

_small = st.integers(0, 10**22)
# Mostly ordinary amounts; sometimes anything up to just above the cap (hits "cap exceeded").
amounts = st.one_of(_small, _small, _small, st.integers(0, CAP + 10**18), st.sampled_from([0, 1, CAP]))
pcts = st.integers(0, 120)  # share of a balance, in %; above 100 means "more than the balance"
waits = st.one_of(st.sampled_from([0, 0, 0, 1, 2, 12, 3600, 7 * 86400]), st.integers(0, 10**6))
# For transferFrom/burnFrom: None = any (owner, spender) pair, an int = pick among the approved pairs.
approved_pair = st.one_of(st.none(), st.integers(0, 10**6))
allowances = st.one_of(st.sampled_from([0, MAX_UINT256]), st.integers(0, 10**22), st.integers(0, 10**24))


def portion(balance: int, pct: int) -> int:
    """pct % of a balance, or one more than the balance when pct > 100."""
    return balance * pct // 100 if pct <= 100 else balance + 1


@dataclass
class TokenModel:
    """Expected state of the token."""

    balances: dict[str, int]
    delegates: dict[str, str]
    allowances: dict[tuple[str, str], int] = field(default_factory=dict)
    supply: int = 0
    # (timestamp, votes of each delegatee, total supply) at the end of each timestamp with a change.
    snapshots: list[tuple[int, dict[str, int], int]] = field(default_factory=list)
    # OpenZeppelin semantics: one (timestamp, votes) entry per timestamp in which votes were written.
    checkpoints: dict[str, list[tuple[int, int]]] = field(default_factory=dict)

    def votes(self) -> dict[str, int]:
        """Votes per delegatee, from balances and delegates only."""
        out: dict[str, int] = {}
        for holder, bal in self.balances.items():
            d = self.delegates[holder]
            if d != ZERO:
                out[d] = out.get(d, 0) + bal
        return out

    def record(self, t: int) -> None:
        snap = (t, self.votes(), self.supply)
        if self.snapshots and self.snapshots[-1][0] == t:
            self.snapshots[-1] = snap
        else:
            self.snapshots.append(snap)

    def write_checkpoint(self, delegatee: str, t: int) -> None:
        cps = self.checkpoints.setdefault(delegatee, [])
        value = self.votes().get(delegatee, 0)
        if cps and cps[-1][0] == t:
            cps[-1] = (t, value)
        else:
            cps.append((t, value))

    def move_votes(self, src: str, dst: str, amount: int, t: int) -> None:
        """Called after balances/delegates changed: OZ writes a checkpoint for each non-zero side."""
        if src == dst or amount == 0:
            return
        for d in (src, dst):
            if d != ZERO:
                self.write_checkpoint(d, t)

    def at(self, t: int) -> tuple[dict[str, int], int]:
        """Votes and supply at the end of timestamp t (nothing before the first snapshot)."""
        votes: dict[str, int] = {}
        supply = 0
        for ts, v, s in self.snapshots:
            if ts > t:
                break
            votes, supply = v, s
        return votes, supply


class TokenMachine(RuleBasedStateMachine):
    # Set by the test function before the machine runs (fixtures cannot be injected).
    minter: str = ""
    non_admin: str = ""
    holders: tuple[str, ...] = ()
    vote_only: str = ""

    def __init__(self) -> None:
        super().__init__()
        self.token = deploy_token(self.minter)
        self.delegatees = (*self.holders, self.vote_only)
        self.model = TokenModel(
            balances=dict.fromkeys(self.holders, 0), delegates=dict.fromkeys(self.holders, ZERO)
        )
        self.genesis = now()
        self.model.record(self.genesis)

    # helpers ##################################################################

    def _moved(self, src_holder: str | None, dst_holder: str | None, amount: int) -> None:
        """Book a balance move (None = mint/burn side) in the model and its vote history."""
        m, t = self.model, now()
        if src_holder is not None:
            m.balances[src_holder] -= amount
        if dst_holder is not None:
            m.balances[dst_holder] += amount
        src = m.delegates[src_holder] if src_holder is not None else ZERO
        dst = m.delegates[dst_holder] if dst_holder is not None else ZERO
        m.move_votes(src, dst, amount, t)
        m.record(t)

    def _spend(self, owner: str, spender: str, amount: int) -> str | None:
        """Model of `_spend_allowance`: the revert reason, or None after spending."""
        current = self.model.allowances.get((owner, spender), 0)
        if current == MAX_UINT256:
            return None
        if current < amount:
            return "erc20: insufficient allowance"
        self.model.allowances[(owner, spender)] = current - amount
        return None

    def _pair(self, owner: int, spender: int, pick: int | None) -> tuple[str, str]:
        """(owner, spender): the drawn holders, or, when `pick` is set, one of the pairs with an allowance."""
        approved = sorted(pair for pair, value in self.model.allowances.items() if value)
        if pick is not None and approved:
            return approved[pick % len(approved)]
        return self.holders[owner], self.holders[spender]

    def _pull_amount(self, owner: str, spender: str, pct: int) -> int:
        """A share of what the spender may pull: min(balance, allowance), or just over one of them."""
        balance = self.model.balances[owner]
        allowance = self.model.allowances.get((owner, spender), 0)
        return portion(min(balance, allowance), pct)

    # setup ####################################################################

    @initialize(
        seeds=st.lists(st.integers(1, 10**21), min_size=2, max_size=2),
        history=st.sampled_from(range(13)),
        gaps=st.lists(st.sampled_from([1, 2, 60]), min_size=12, max_size=12),
    )
    def build_history(self, seeds: list[int], history: int, gaps: list[int]) -> None:
        """alice and bob vote for themselves and trade `history` times, one trade per timestamp."""
        a, b = self.holders[0], self.holders[1]
        with boa.env.prank(self.minter):
            for holder, amount in ((a, seeds[0]), (b, seeds[1])):
                self.token.mint(holder, amount)
                self.model.supply += amount
                self._moved(None, holder, amount)
        for who in (a, b):
            with boa.env.prank(who):
                self.token.delegate(who)
            self.model.delegates[who] = who
            self.model.move_votes(ZERO, who, self.model.balances[who], now())
            self.model.record(now())
        for i in range(history):
            boa.env.time_travel(seconds=gaps[i])
            src, dst = (a, b) if i % 2 == 0 else (b, a)
            amount = self.model.balances[src] // 3
            with boa.env.prank(src):
                self.token.transfer(dst, amount)
            self._moved(src, dst, amount)

    # rules ####################################################################

    @rule(
        by_minter=st.sampled_from([True, True, True, False]),
        to=st.sampled_from(range(len(HOLDERS) + 1)),
        amount=amounts,
    )
    def mint(self, by_minter: bool, to: int, amount: int) -> None:
        caller = self.minter if by_minter else self.non_admin
        receiver = self.holders[to] if to < len(self.holders) else ZERO
        if not by_minter:
            reason: str | None = MISSING_ROLE
        elif receiver == ZERO:
            reason = "erc20: mint to the zero address"
        elif self.model.supply + amount > CAP:
            reason = "club: cap exceeded"
        else:
            reason = None
        with boa.env.prank(caller):
            if reason is not None:
                with boa.reverts(reason):
                    self.token.mint(receiver, amount)
                return
            self.token.mint(receiver, amount)
        self.model.supply += amount
        self._moved(None, receiver, amount)

    @precondition(lambda self: self.model.supply < CAP)
    @rule(to=st.sampled_from(HOLDERS))
    def mint_up_to_cap(self, to: str) -> None:
        """Mint exactly what is left under the cap; one more wei must then fail."""
        receiver = self.holders[HOLDERS.index(to)]
        rest = CAP - self.model.supply
        with boa.env.prank(self.minter):
            self.token.mint(receiver, rest)
            with boa.reverts("club: cap exceeded"):
                self.token.mint(receiver, 1)
        self.model.supply = CAP
        self._moved(None, receiver, rest)

    @rule(sender=st.sampled_from(range(len(HOLDERS))), to=st.sampled_from(range(len(HOLDERS) + 1)), pct=pcts)
    def transfer(self, sender: int, to: int, pct: int) -> None:
        src = self.holders[sender]
        dst = self.holders[to] if to < len(self.holders) else ZERO
        amount = portion(self.model.balances[src], pct)
        with boa.env.prank(src):
            if dst == ZERO:
                with boa.reverts("erc20: transfer to the zero address"):
                    self.token.transfer(dst, amount)
                return
            if amount > self.model.balances[src]:
                with boa.reverts("erc20: transfer amount exceeds balance"):
                    self.token.transfer(dst, amount)
                return
            assert self.token.transfer(dst, amount) is True
        self._moved(src, dst, amount)

    @rule(
        owner=st.sampled_from(range(len(HOLDERS))),
        spender=st.sampled_from(range(len(HOLDERS) + 1)),
        value=allowances,
    )
    def approve(self, owner: int, spender: int, value: int) -> None:
        o = self.holders[owner]
        s = self.holders[spender] if spender < len(self.holders) else ZERO
        with boa.env.prank(o):
            if s == ZERO:
                with boa.reverts("erc20: approve to the zero address"):
                    self.token.approve(s, value)
                return
            assert self.token.approve(s, value) is True
        self.model.allowances[(o, s)] = value
        assert self.token.allowance(o, s) == value

    @rule(
        spender=st.sampled_from(range(len(HOLDERS))),
        owner=st.sampled_from(range(len(HOLDERS))),
        to=st.sampled_from(range(len(HOLDERS) + 1)),
        pct=pcts,
        pick=approved_pair,
    )
    def transfer_from(self, spender: int, owner: int, to: int, pct: int, pick: int | None) -> None:
        o, sp = self._pair(owner, spender, pick)
        dst = self.holders[to] if to < len(self.holders) else ZERO
        amount = self._pull_amount(o, sp, pct)
        before = self.model.allowances.get((o, sp), 0)
        reason = self._spend(o, sp, amount)
        if reason is None and dst == ZERO:
            reason = "erc20: transfer to the zero address"
        if reason is None and amount > self.model.balances[o]:
            reason = "erc20: transfer amount exceeds balance"
        with boa.env.prank(sp):
            if reason is not None:
                self.model.allowances[(o, sp)] = before
                with boa.reverts(reason):
                    self.token.transferFrom(o, dst, amount)
                return
            assert self.token.transferFrom(o, dst, amount) is True
        assert self.token.allowance(o, sp) == self.model.allowances.get((o, sp), 0)
        self._moved(o, dst, amount)

    @rule(who=st.sampled_from(range(len(HOLDERS))), pct=pcts)
    def burn(self, who: int, pct: int) -> None:
        h = self.holders[who]
        amount = portion(self.model.balances[h], pct)
        with boa.env.prank(h):
            if amount > self.model.balances[h]:
                with boa.reverts("erc20: burn amount exceeds balance"):
                    self.token.burn(amount)
                return
            self.token.burn(amount)
        self.model.supply -= amount
        self._moved(h, None, amount)

    @rule(
        spender=st.sampled_from(range(len(HOLDERS))),
        owner=st.sampled_from(range(len(HOLDERS))),
        pct=pcts,
        pick=approved_pair,
    )
    def burn_from(self, spender: int, owner: int, pct: int, pick: int | None) -> None:
        o, sp = self._pair(owner, spender, pick)
        amount = self._pull_amount(o, sp, pct)
        before = self.model.allowances.get((o, sp), 0)
        reason = self._spend(o, sp, amount)
        if reason is None and amount > self.model.balances[o]:
            reason = "erc20: burn amount exceeds balance"
        with boa.env.prank(sp):
            if reason is not None:
                self.model.allowances[(o, sp)] = before
                with boa.reverts(reason):
                    self.token.burnFrom(o, amount)
                return
            self.token.burnFrom(o, amount)
        assert self.token.allowance(o, sp) == self.model.allowances.get((o, sp), 0)
        self.model.supply -= amount
        self._moved(o, None, amount)

    @rule(who=st.sampled_from(range(len(HOLDERS))), to=st.sampled_from(range(len(HOLDERS) + 2)))
    def delegate(self, who: int, to: int) -> None:
        """Delegate to a holder (itself included), to the vote-only account, or to nobody."""
        h = self.holders[who]
        targets = (*self.delegatees, ZERO)
        target = targets[to]
        old = self.model.delegates[h]
        with boa.env.prank(h):
            self.token.delegate(target)
        self.model.delegates[h] = target
        self.model.move_votes(old, target, self.model.balances[h], now())
        self.model.record(now())

    @rule(seconds=waits)
    def wait(self, seconds: int) -> None:
        if seconds:
            boa.env.time_travel(seconds=seconds)

    @rule(index=st.integers(0, 10**6), offset=st.sampled_from([-1, 0, 1]))
    def past_lookups(self, index: int, offset: int) -> None:
        """getPastVotes/getPastTotalSupply at a recorded change, just before or after it, vs the snapshots."""
        t = self.model.snapshots[index % len(self.model.snapshots)][0] + offset
        if t >= now():
            with boa.reverts("votes: future lookup"):
                self.token.getPastTotalSupply(t)
            return
        votes, supply = self.model.at(t)
        assert self.token.getPastTotalSupply(t) == supply, t
        for d in self.delegatees:
            assert self.token.getPastVotes(d, t) == votes.get(d, 0), (d, t)

    @rule()
    def lookup_before_genesis(self) -> None:
        t = self.genesis - 1
        assert self.token.getPastTotalSupply(t) == 0
        assert self.token.getPastVotes(self.holders[0], t) == 0

    # invariants ###############################################################

    @invariant()
    def balances_supply_and_votes(self) -> None:
        m = self.model
        assert self.token.totalSupply() == m.supply == sum(m.balances.values())
        assert m.supply <= CAP
        for h in self.holders:
            assert self.token.balanceOf(h) == m.balances[h], h
        votes = m.votes()
        on_chain = {d: self.token.getVotes(d) for d in self.delegatees}
        assert on_chain == {d: votes.get(d, 0) for d in self.delegatees}
        # Sum of all delegatees' votes == balances of the holders who delegate to someone.
        delegated = sum(b for h, b in m.balances.items() if m.delegates[h] != ZERO)
        assert sum(on_chain.values()) == delegated
        assert self.token.getVotes(ZERO) == 0

    def teardown(self) -> None:
        """Once per run: every delegate, every checkpoint list, and the history at every recorded change."""
        m = self.model
        for h in self.holders:
            assert self.token.delegates(h) == m.delegates[h], h
        for d in self.delegatees:
            cps = m.checkpoints.get(d, [])
            assert self.token.numCheckpoints(d) == len(cps), d
            assert [tuple(self.token.checkpoints(d, i)) for i in range(len(cps))] == cps, d
            if cps:
                assert cps[-1][1] == self.token.getVotes(d)
        for t, votes, supply in m.snapshots:
            if t < now():
                assert self.token.getPastTotalSupply(t) == supply, t
                for d in self.delegatees:
                    assert self.token.getPastVotes(d, t) == votes.get(d, 0), (d, t)


def test_token_state_machine(deployer: str, non_admin: str) -> None:
    TokenMachine.minter = deployer
    TokenMachine.non_admin = non_admin
    TokenMachine.holders = tuple(str(boa.env.generate_address(name)) for name in HOLDERS)
    TokenMachine.vote_only = str(boa.env.generate_address(VOTE_ONLY))
    # Half the profile's examples: the machine's steps are cheap but its invariant replays every
    # checkpoint of every delegatee, and the suite must stay well inside CI's time (`make deep`
    # runs the deep profile).
    run_state_machine_as_test(
        TokenMachine, settings=settings(settings.default, max_examples=settings.default.max_examples // 2)
    )
