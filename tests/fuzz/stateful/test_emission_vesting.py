"""Stateful test of Emission + Vesting on the deployed protocol against a small Python model.

Rules advance the emission from random callers at random times, change its parameters
through the governance role (and try to without it), burn CLUB, create vesting
allocations, claim, delegate and revoke them at random times. Invariants compare the
chain with the model after every step:

- Emission has minted exactly what the model of its rule mints (r x (cap - totalSupply)
  per epoch, closed-form catch-up re-anchored after burns, the bootstrap guard on the
  registry's share), so nothing is minted twice whatever the order and grouping of
  `advance` calls and burns; totalSupply == genesis + emitted - burned <= cap under any
  order of burns (up to the whole treasury) and mints (rates up to the 10 % maximum);
- every tracked balance equals the model (tips, receiver shares, claims, revocations);
- per escrow: vested <= allocation, claimed <= vested, balance + claimed + revoked == allocation;
- each account's votes are exactly the balances of the escrows delegating to it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import boa
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.utils.deployer import deployer_for
from tests.utils.emission_model import EmissionModel, vested_at

pytestmark = pytest.mark.filterwarnings("ignore:casted bytecode does not match compiled bytecode:UserWarning")

DAY = 86_400
WEEK = 7 * DAY
YEAR = 365 * DAY
CLUB = 10**18
ZERO = "0x" + "00" * 20
MISSING_ROLE = "access_control: account is missing role"


@dataclass
class Allocation:
    """Model of one escrow."""

    escrow: Any
    beneficiary: str
    total: int
    start: int
    cliff: int
    duration: int
    revocable: bool
    delegatee: str
    claimed: int = 0
    revoked_at: int = 0
    unvested_revoked: int = 0

    def vested(self, t: int) -> int:
        return vested_at(self.total, self.start, self.cliff, self.duration, t, self.revoked_at)


def _now() -> int:
    return int(boa.env.evm.patch.timestamp)


class EmissionVestingMachine(RuleBasedStateMachine):
    # Set by the test function before the machine runs (fixtures cannot be injected).
    protocol: Any = None
    actors: list[str] = []
    outsider: str = ""
    gov: str = ""

    def __init__(self) -> None:
        super().__init__()
        p = self.protocol
        self.token, self.emission, self.vesting = p["ClubToken"], p["Emission"], p["Vesting"]
        self.treasury = str(p.treasury)
        e = self.emission
        self.registry = p["NodeRegistry"]
        self.model = EmissionModel.from_contract(e, stake=self.registry.total_weight())
        self.cap = self.token.cap()
        self.supply = self.token.totalSupply()
        # Sum of what every settle (advance or setter) reported minting.
        self.emitted_at_start = e.emitted()
        self.minted_by_calls = 0
        self.allocations: list[Allocation] = []
        for i in range(self.vesting.escrow_count()):
            esc = deployer_for("VestingEscrow").at(self.vesting.escrows(i))
            self.allocations.append(
                Allocation(
                    escrow=esc,
                    beneficiary=esc.beneficiary(),
                    total=esc.total(),
                    start=esc.start(),
                    cliff=esc.cliff(),
                    duration=esc.duration(),
                    revocable=esc.revocable(),
                    delegatee=self.token.delegates(esc.address),
                    claimed=esc.claimed(),
                )
            )
        people = {*self.actors, *(a.beneficiary for a in self.allocations)}
        # Emission receivers may be contracts (NodeRegistry, ...): track their balances too.
        tracked = {*people, self.treasury, self.gov, *self.model.receivers}
        self.balances = {str(a): self.token.balanceOf(a) for a in tracked}
        # Accounts whose votes come only from escrows (none of them delegates its own tokens).
        self.voters = sorted(a for a in people if a not in (self.treasury, self.gov))
        self.base_votes = {
            a: self.token.getVotes(a) - sum(x.total for x in self.allocations if x.delegatee == a)
            for a in self.voters
        }
        assert all(v == 0 for v in self.base_votes.values())

    # -- helpers ------------------------------------------------------------

    def _credit(self, who: str, amount: int) -> None:
        self.balances[who] = self.balances.get(who, 0) + amount

    def _record_payouts(self, before: dict[str, int]) -> None:
        for who, total in self.model.paid.items():
            delta = total - before.get(who, 0)
            if delta:
                self._credit(who, delta)

    def _settle(self, caller: str) -> int:
        """Advance the model as `advance` by `caller` does now; returns the amount."""
        before = dict(self.model.paid)
        self.model.stake = self.registry.total_weight()  # the guard's input, exogenous to Emission
        amount, _ = self.model.advance(_now(), caller)
        self._record_payouts(before)
        self.supply += amount
        self.minted_by_calls += amount
        return amount

    # -- time ---------------------------------------------------------------

    @rule(seconds=st.one_of(st.integers(0, 2 * WEEK), st.integers(0, 60 * WEEK)))
    def time_passes(self, seconds: int) -> None:
        boa.env.time_travel(seconds=seconds)

    # -- emission -----------------------------------------------------------

    @rule(
        i=st.integers(0, 100),
        wait=st.one_of(
            st.just(0),
            st.integers(-2, 2),  # around the next epoch time, where off-by-one errors live
            st.integers(0, 3 * WEEK),
            st.integers(0, 80 * WEEK),
        ),
        relative=st.booleans(),
    )
    def advance(self, i: int, wait: int, relative: bool) -> None:
        """Wait (from now, or from the next epoch time), then advance from a random caller."""
        target = _now() + wait if relative else self.model.next_epoch_time + wait
        if target > _now():
            boa.env.time_travel(seconds=target - _now())
        caller = self.actors[i % len(self.actors)]
        due = self.model.epochs_due(_now())
        assert self.emission.epochs_due() == due
        self.model.stake = self.registry.total_weight()
        expected_amount, tip = copy.deepcopy(self.model).advance(_now(), caller)
        assert self.emission.preview_due() == expected_amount
        with boa.env.prank(caller):
            got = self.emission.advance()
        logs = [e for e in self.emission.get_logs() if type(e).__name__ == "Emitted"]
        assert got == self._settle(caller) == expected_amount
        if due:
            # one Emitted per segment: the guarded epochs, then the rest (two across the bootstrap's end)
            assert 1 <= len(logs) <= 2 and all(log.caller == caller for log in logs)
            assert sum(log.epochs for log in logs) == due
            assert (sum(log.amount for log in logs), sum(log.tip for log in logs)) == (got, tip)
        else:
            assert logs == []

    @rule(
        change=st.one_of(
            st.tuples(st.just("set_rate"), st.integers(1, 10**17)),
            st.tuples(st.just("set_tip"), st.integers(0, 1_000 * CLUB)),
            st.tuples(st.just("set_epoch_seconds"), st.integers(3_600, YEAR)),
            st.tuples(st.just("set_receivers"), st.integers(0, 2**32)),
            st.tuples(st.just("set_bootstrap"), st.integers(0, 10**24)),
        ),
        data=st.data(),
    )
    def governance_changes_parameter(self, change: tuple[str, int], data: st.DataObject) -> None:
        """The role holder changes one parameter; due epochs settle under the old ones first."""
        fn, value = change
        self._settle(self.gov)
        m = self.model
        args: tuple[Any, ...] = (value,)
        if fn == "set_rate":
            m.anchor_epoch, m.anchor_gap, m.last_gap, m.rate = m.epochs_minted, m.gap, m.gap, value
        elif fn == "set_bootstrap":
            end = data.draw(st.integers(0, m.bootstrap_end_epoch))
            m.bootstrap_multiple, m.bootstrap_end_epoch = value, end
            args = (value, end)
        elif fn == "set_tip":
            m.tip = value
        elif fn == "set_epoch_seconds":
            m.epoch_seconds = value
        else:
            pool = [*self.actors, self.treasury]
            chosen = data.draw(st.lists(st.sampled_from(pool), min_size=1, max_size=4, unique=True))
            raw = data.draw(st.lists(st.integers(1, 100), min_size=len(chosen), max_size=len(chosen)))
            weights = [x * 10_000 // sum(raw) for x in raw[:-1]]
            weights.append(10_000 - sum(weights))
            m.receivers, m.weights = chosen, weights
            args = (chosen, weights)
        with boa.env.prank(self.gov):
            getattr(self.emission, fn)(*args)

    @rule(
        bad=st.sampled_from(
            [
                ("outsider", "set_rate", 10**16, MISSING_ROLE),
                ("outsider", "set_tip", 0, MISSING_ROLE),
                ("outsider", "set_epoch_seconds", DAY, MISSING_ROLE),
                ("gov", "set_rate", 0, "emission: zero rate"),
                ("gov", "set_rate", 10**17 + 1, "emission: rate above maximum"),
                ("gov", "set_tip", 1_000 * CLUB + 1, "emission: tip above maximum"),
                ("gov", "set_epoch_seconds", 3_599, "emission: epoch too short"),
                ("outsider", "set_bootstrap", 0, MISSING_ROLE),
                ("gov", "set_bootstrap", 10**24 + 1, "emission: bootstrap multiple above maximum"),
                ("outsider", "claim", None, "vesting: not beneficiary"),
                ("outsider", "revoke", None, MISSING_ROLE),
            ]
        ),
        i=st.integers(0, 100),
    )
    def refused_call(self, bad: tuple[str, str, int | None, str], i: int) -> None:
        """Calls without the role or with bad input revert with their reason and change nothing."""
        who, fn, value, reason = bad
        sender = self.outsider if who == "outsider" else self.gov
        with boa.env.prank(sender), boa.reverts(reason):
            if fn == "claim":
                self.allocations[i % len(self.allocations)].escrow.claim()
            elif fn == "revoke":
                self.vesting.revoke(self.allocations[i % len(self.allocations)].escrow.address)
            elif fn == "set_bootstrap":
                self.emission.set_bootstrap(value, 0)
            else:
                getattr(self.emission, fn)(value)

    @rule(fraction=st.one_of(st.integers(1, 1_000), st.integers(1, 1_000_000)))
    def treasury_burns(self, fraction: int) -> None:
        """Burns (up to the whole treasury) shrink the supply and widen the gap the next epochs mint from."""
        amount = self.balances[self.treasury] * fraction // 1_000_000
        if amount == 0:
            return
        with boa.env.prank(self.treasury):
            self.token.burn(amount)
        self.balances[self.treasury] -= amount
        self.supply -= amount
        self.model.burn(amount)

    # -- vesting ------------------------------------------------------------

    @rule(
        who=st.integers(0, 100),
        amount=st.integers(1, 1_000_000 * CLUB),
        start_offset=st.integers(-YEAR, YEAR),
        duration=st.integers(1, 4 * YEAR),
        cliff_ppm=st.integers(0, 1_000_000),
        revocable=st.booleans(),
    )
    def create_vesting(
        self, who: int, amount: int, start_offset: int, duration: int, cliff_ppm: int, revocable: bool
    ) -> None:
        if len(self.allocations) >= 6 or self.balances[self.treasury] < amount:
            return
        beneficiary = self.actors[who % len(self.actors)]
        cliff = duration * cliff_ppm // 1_000_000
        start = _now() + start_offset
        # The governance role holds VESTING_CREATOR_ROLE and the treasury funds it.
        funder = self.gov
        if funder != self.treasury:
            return
        with boa.env.prank(funder):
            self.token.approve(self.vesting.address, amount)
            address = self.vesting.create_vesting(beneficiary, amount, start, cliff, duration, revocable)
        self.balances[funder] -= amount
        escrow = deployer_for("VestingEscrow").at(address)
        self.allocations.append(
            Allocation(escrow, beneficiary, amount, start, cliff, duration, revocable, delegatee=beneficiary)
        )
        self._check_escrow(self.allocations[-1])

    @precondition(lambda self: self.allocations)
    @rule(i=st.integers(0, 100))
    def claim(self, i: int) -> None:
        a = self.allocations[i % len(self.allocations)]
        expected = a.vested(_now()) - a.claimed
        with boa.env.prank(a.beneficiary):
            assert a.escrow.claim() == expected
        a.claimed += expected
        self._credit(a.beneficiary, expected)
        self._check_escrow(a)

    @precondition(lambda self: self.allocations)
    @rule(i=st.integers(0, 100), j=st.integers(0, 100))
    def delegate(self, i: int, j: int) -> None:
        a = self.allocations[i % len(self.allocations)]
        targets = [*self.voters, ZERO]
        delegatee = targets[j % len(targets)]
        with boa.env.prank(a.beneficiary):
            a.escrow.delegate(delegatee)
        a.delegatee = delegatee
        self._check_escrow(a)

    @precondition(lambda self: self.allocations)
    @rule(i=st.integers(0, 100))
    def revoke(self, i: int) -> None:
        a = self.allocations[i % len(self.allocations)]
        with boa.env.prank(self.gov):
            if not a.revocable:
                with boa.reverts("vesting: not revocable"):
                    self.vesting.revoke(a.escrow.address)
                return
            if a.revoked_at:
                with boa.reverts("vesting: already revoked"):
                    self.vesting.revoke(a.escrow.address)
                return
            unvested = a.total - a.vested(_now())
            assert self.vesting.revoke(a.escrow.address) == unvested
        a.revoked_at = _now()
        a.unvested_revoked = unvested
        self._credit(self.vesting.treasury(), unvested)
        self._check_escrow(a)

    # -- invariants ---------------------------------------------------------

    def _check_escrow(self, a: Allocation) -> None:
        """Every view of one escrow against its model (run after each rule that touches it)."""
        esc, now = a.escrow, _now()
        vested = esc.vested()
        assert vested == a.vested(now) <= a.total
        assert esc.claimed() == a.claimed <= vested
        assert esc.claimable() == vested - a.claimed
        assert esc.revoked_at() == a.revoked_at
        assert esc.unvested_revoked() == a.unvested_revoked
        assert self.token.delegates(esc.address) == a.delegatee

    @invariant()
    def emission_matches_schedule(self) -> None:
        m, e = self.model, self.emission
        emitted = e.emitted()
        # Nothing minted twice: every settle minted what the model of the rule mints.
        assert emitted == m.emitted
        assert e.withheld() == m.withheld
        assert emitted == self.emitted_at_start + self.minted_by_calls
        assert e.remaining() == m.gap == self.cap - self.supply
        assert e.last_gap() == m.last_gap and e.anchor_gap() == m.anchor_gap
        assert e.epochs_minted() == m.epochs_minted
        assert e.next_epoch_time() == m.next_epoch_time
        assert self.token.totalSupply() == self.supply <= self.cap

    @invariant()
    def balances_and_votes_match_model(self) -> None:
        for who, expected in self.balances.items():
            assert self.token.balanceOf(who) == expected, who
        votes = dict.fromkeys(self.voters, 0)
        for a in self.allocations:
            balance = self.token.balanceOf(a.escrow.address)
            # Conservation per escrow; vested <= allocation and claimed <= vested in the model.
            assert balance + a.claimed + a.unvested_revoked == a.total
            assert a.claimed <= a.vested(_now()) <= a.total
            if a.delegatee in votes:
                votes[a.delegatee] += balance
        for voter, expected in votes.items():
            assert self.token.getVotes(voter) == expected, voter

    def teardown(self) -> None:
        for a in self.allocations:
            self._check_escrow(a)
        assert self.emission.anchor_epoch() == self.model.anchor_epoch
        assert self.emission.anchor_gap() == self.model.anchor_gap


def test_emission_vesting_machine(
    protocol: Any, deployer: str, alice: str, bob: str, carol: str, team: str, non_admin: str
) -> None:
    EmissionVestingMachine.protocol = protocol
    # Holder of the governance roles: the Timelock once the plan deploys it.
    timelock = protocol.contracts.get("Timelock")
    EmissionVestingMachine.gov = str(timelock.address) if timelock is not None else deployer
    EmissionVestingMachine.actors = [alice, bob, carol, team]
    EmissionVestingMachine.outsider = non_admin
    # Half the profile's examples (each deploys its own escrows); `make deep` runs the deep profile.
    run_state_machine_as_test(
        EmissionVestingMachine,
        settings=settings(settings.default, max_examples=settings.default.max_examples // 2),
    )
