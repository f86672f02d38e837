"""NodeRegistry's reward accounting against its exact mirror (clubchat.sim.registry_mirror), to the wei.

A hypothesis state machine drives the deployed registry and the mirror in lockstep: nodes of one
kind and of several beat or let their heartbeat lapse (the next checkpoint forfeits), delegators
bond and unbond, rewards arrive, epochs are finalised, the Timelock changes the split (a share may be
0), the only TURN node leaves (TURN's stream stops mid-stream and its share goes to the others at the
next finalisation), expired nodes are poked and everybody claims. Every claim and finalisation pays
what the mirror says; every pending reward, the reserve, the total weight and the registry's balance
match after each step. The contracts-in-the-loop replay (test_contracts_agree.py) runs the same
mirror over a simulated run; this machine reaches the paths the replay does not (forfeits, a split
change, a kind emptying).
"""

from __future__ import annotations

import os

import boa
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from clubchat.sim.registry_mirror import RegistryMirror, count_kinds
from tests.utils.registry import NOTIFY, RELAY, TURN, beat, fund, register_node, send_rewards

WAD = 10**18
# One node per kind and one serving RELAY and NOTIFY; the TURN node is TURN's only one, so
# `turn_leaves` (or its lapse and a poke) leaves TURN without weight.
NODE_KINDS = (RELAY, TURN, NOTIFY, RELAY | NOTIFY)
SPLITS = ((2000, 7000, 1000), (5000, 3000, 2000), (0, 10_000, 0), (10_000, 0, 0), (3334, 3333, 3333))


class MirrorMachine(RuleBasedStateMachine):
    registry = directory = token = governance = None
    minimum = 0

    def __init__(self) -> None:
        super().__init__()
        self._anchor = boa.env.anchor()
        self._anchor.__enter__()

    def teardown(self) -> None:
        self._anchor.__exit__(None, None, None)

    @initialize()
    def setup(self) -> None:
        r = self.registry
        bps = tuple(int(r.kind_reward_bps(k)) for k in (RELAY, TURN, NOTIFY))
        self.mirror = RegistryMirror(
            min_self_stake_per_kind=int(r.min_self_stake_per_kind()),
            heartbeat_seconds=int(r.heartbeat_seconds()),
            finalize_tip=int(r.finalize_tip()),
            stream_seconds=int(r.stream_seconds()),
            kind_bps=bps,  # type: ignore[arg-type]
        )
        self.mirror.receive(int(self.token.balanceOf(r.address)))
        self.ops, self.keys = [], []
        for i, kinds in enumerate(NODE_KINDS):
            op, key = (str(boa.env.generate_address(f"mm-{n}-{i}")) for n in ("op", "key"))
            fund(self.token, r, self.governance, op, 10_000_000 * WAD)
            amount = (i + 1) * self.minimum * count_kinds(kinds)
            register_node(r, op, key, kinds=kinds, amount=amount, commission_bps=700 * i, tag=f"mm{i}")
            self.mirror.register(op, kinds, 700 * i, amount, self._now())
            self.ops.append(op)
            self.keys.append(key)
        self.delegators = [str(boa.env.generate_address(f"mm-dl-{i}")) for i in range(2)]
        for d in self.delegators:
            fund(self.token, r, self.governance, d, 10_000_000 * WAD)
        self.left: set[int] = set()  # nodes whose operator unbonded everything
        for i in range(len(self.ops)):
            self.beat(i)

    def _now(self) -> int:
        return int(boa.env.evm.patch.timestamp)

    # ---------------------------------------------------------------- rules

    @rule(i=st.integers(0, len(NODE_KINDS) - 1))
    def beat(self, i: int) -> None:
        if i in self.left:
            return
        beat(self.registry, self.keys[i])
        self.mirror.heartbeat(self.ops[i], self._now())

    @rule(seconds=st.integers(1, 3 * 3600))
    def wait(self, seconds: int) -> None:
        """Time passes; nodes that do not beat for a heartbeat period lapse."""
        boa.env.time_travel(seconds=seconds)

    @rule(beaters=st.sets(st.integers(0, len(NODE_KINDS) - 1)))
    def finalise(self, beaters: set[int]) -> None:
        """Up to the end of the next unfinalised epoch (`beaters` beat a minute before it), then finalise."""
        r = self.registry
        end = r.EPOCH_START() + (r.epochs_finalised() + 1) * r.EPOCH_SECONDS()
        if self._now() < end - 60:
            boa.env.time_travel(seconds=end - 60 - self._now())
        for i in sorted(beaters):
            self.beat(i)
        boa.env.time_travel(seconds=max(end - self._now(), 0) + 1)
        keeper = str(boa.env.generate_address("mm-keeper"))
        with boa.env.prank(keeper):
            tip = int(r.finalize_epoch())
        ev = [e for e in r.get_logs() if type(e).__name__ == "EpochFinalised"][-1]
        fresh, tip_mirror = self.mirror.finalize_epoch(self._now())
        assert (int(ev.rewards), tip) == (fresh, tip_mirror)
        assert int(ev.total_weight) == self.mirror.total_weight

    @rule(amount=st.integers(0, 50_000))
    def rewards_arrive(self, amount: int) -> None:
        send_rewards(self.token, self.registry, self.governance, amount * WAD + 7)
        self.mirror.receive(amount * WAD + 7)

    @rule(i=st.integers(0, len(NODE_KINDS) - 1), d=st.integers(0, 1), whole=st.integers(1, 20_000))
    def delegate(self, i: int, d: int, whole: int) -> None:
        node = self.mirror.nodes[self.ops[i]]
        own = node.accounts[self.ops[i]].shares
        if i in self.left or node.bonded_shares - own + 2 * whole * WAD > 5 * own:
            return  # far inside the saturation cap (10 x own shares)
        with boa.env.prank(self.delegators[d]):
            self.registry.delegate(self.ops[i], whole * WAD)
        self.mirror.delegate(self.ops[i], self.delegators[d], whole * WAD, self._now())

    @rule(i=st.integers(0, len(NODE_KINDS) - 1), d=st.integers(0, 1), part=st.integers(1, 4))
    def unbond(self, i: int, d: int, part: int) -> None:
        shares = int(self.directory.shares(self.ops[i], self.delegators[d])) * part // 4
        n = self.mirror.nodes[self.ops[i]]
        if shares * (n.bonded_assets + 1) // (n.bonded_shares + 1) == 0:
            return  # the registry refuses to unbond dust worth 0 wei
        with boa.env.prank(self.delegators[d]):
            self.registry.unbond(self.ops[i], shares)
        self.mirror.unbond(self.ops[i], self.delegators[d], shares, self._now())

    @precondition(lambda self: 1 not in self.left)
    @rule()
    def turn_leaves(self) -> None:
        """The TURN-only operator unbonds all its stake: its weight leaves TURN's total mid-stream."""
        op = self.ops[1]
        with boa.env.prank(op):
            self.registry.unbond(op, int(self.directory.shares(op, op)))
        self.mirror.unbond(op, op, self.mirror.nodes[op].accounts[op].shares, self._now())
        self.left.add(1)

    @rule(i=st.integers(0, len(NODE_KINDS) - 1))
    def poke(self, i: int) -> None:
        """Anyone takes an expired node out of the weights (the registry refuses an eligible one)."""
        n = self.mirror.nodes[self.ops[i]]
        if n.weight == 0 or n.live_until >= self._now():
            with boa.reverts("registry: node is eligible"):
                self.registry.poke(self.ops[i])
            return
        self.registry.poke(self.ops[i])
        self.mirror.poke(self.ops[i], self._now())

    @rule(split=st.sampled_from(SPLITS))
    def governance_splits(self, split: tuple[int, int, int]) -> None:
        with boa.env.prank(self.governance):
            self.registry.set_kind_reward_bps(list(split))
        self.mirror.set_kind_reward_bps(split, self._now())

    @rule(i=st.integers(0, len(NODE_KINDS) - 1), who=st.integers(0, 2))
    def claim(self, i: int, who: int) -> None:
        account = self.ops[i] if who == 2 else self.delegators[who]
        with boa.env.prank(account):
            paid = int(self.registry.claim(self.ops[i]))
        assert paid == self.mirror.claim(self.ops[i], account)

    # ---------------------------------------------------------------- invariants

    @invariant()
    def pending_rewards_match(self) -> None:
        for op in self.ops:
            for account in (op, *self.delegators):
                assert int(self.directory.pending_rewards(op, account)) == self.mirror.pending(op, account)

    @invariant()
    def totals_match(self) -> None:
        r = self.registry
        assert int(r.total_weight()) == self.mirror.total_weight
        assert int(self.token.balanceOf(r.address)) == self.mirror.balance
        assert int(r.reward_reserve()) == self.mirror.reserve_now(self._now())
        assert int(r.principal()) == self.mirror.principal


def test_the_mirror_follows_the_registry_to_the_wei(token, protocol, params):
    MirrorMachine.registry = protocol["NodeRegistry"]
    MirrorMachine.directory = protocol["NodeDirectory"]
    MirrorMachine.token = token
    MirrorMachine.governance = str(protocol["Timelock"].address)
    MirrorMachine.minimum = params.registry.min_self_stake_per_kind_wei
    run = MirrorMachine.TestCase
    deep = os.environ.get("HYPOTHESIS_PROFILE") == "deep"
    run.settings = settings(
        max_examples=100 if deep else 6, stateful_step_count=60 if deep else 30, deadline=None
    )
    run().runTest()
