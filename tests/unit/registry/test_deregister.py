"""NodeRegistry.deregister: an exited node frees its sum-tree slots and its listing entry.

A slot freed in an epoch is handed out again only from the next epoch: the frozen view sampling
reads in the freeing epoch may still hold the old node's weight in that leaf.
"""

from __future__ import annotations

import boa

from tests.utils.registry import (
    NOTIFY,
    RELAY,
    TURN,
    TURN_CREDENTIAL,
    approve_key,
    beat,
    register_node,
)

WAD = 10**18
ZERO = "0x0000000000000000000000000000000000000000"


def _epoch_start(registry, epoch: int) -> int:
    return registry.EPOCH_START() + epoch * registry.EPOCH_SECONDS()


def _to_next_epoch(registry) -> int:
    """Travel to the first second of the next sampling epoch; returns its number."""
    epoch = registry.sampling_epoch() + 1
    now = int(boa.env.evm.patch.timestamp)
    boa.env.time_travel(seconds=_epoch_start(registry, epoch) - now)
    assert registry.sampling_epoch() == epoch
    return epoch


def _exit(directory, registry, operator: str) -> None:
    """Unbond all of the operator's own shares."""
    with boa.env.prank(operator):
        registry.unbond(operator, directory.shares(operator, operator))


def _slots_handed_out(registry, kind: int) -> int:
    return registry.eval(f"sumtree.shape[{kind}]") & (2**30 - 1)


def _slot_of(registry, node: str, kind: int) -> int:
    shift = {RELAY: 0, TURN: 16, NOTIFY: 32}[kind]
    meta = registry.eval(f"self.meta[{node}]")
    return (meta >> (156 + shift)) & 0xFFFF


def test_deregister_frees_the_listing_and_retires_the_key(directory, registry, actors, alice, bob, minimum):
    register_node(registry, alice, str(boa.env.generate_address("ka")), kinds=RELAY, amount=minimum)
    register_node(
        registry, actors.operator, actors.node_key, kinds=RELAY | TURN, amount=2 * minimum, tag="op"
    )
    register_node(registry, bob, str(boa.env.generate_address("kb")), kinds=NOTIFY, amount=minimum)
    assert [registry.node_list(i) for i in range(3)] == [alice, actors.operator, bob]
    _exit(directory, registry, actors.operator)
    with boa.env.prank(actors.operator):
        registry.deregister()
        ev = registry.get_logs()[-1]
    assert ev.node == actors.operator
    # Swap-and-pop: the last node takes the leaver's index.
    assert registry.node_count() == 2
    assert [directory.node_at(i)[0] for i in range(2)] == [alice, bob]
    n = directory.nodes(actors.operator)
    assert (n.kinds, n.node_key, n.weight, n.live_until) == (0, ZERO, 0, 0)
    # The key is retired, not released: evidence it signed stays attributable to the pool left behind.
    assert directory.operator_of_key(actors.node_key) == actors.operator
    assert registry.key_record(actors.node_key) == (actors.operator, int(boa.env.evm.patch.timestamp))
    for kind in (RELAY, TURN, TURN_CREDENTIAL):
        assert registry.endpoint(actors.operator, kind) == ""
    assert not directory.is_eligible(actors.operator)
    # The listing keeps working after more exits, the last entry included.
    _exit(directory, registry, bob)
    with boa.env.prank(bob):
        registry.deregister()
    assert registry.node_count() == 1 and directory.node_at(0)[0] == alice
    # The retired key can serve nobody else, even with its consent.
    with boa.reverts("registry: node key in use"):
        register_node(registry, bob, actors.node_key, kinds=RELAY, amount=minimum, tag="b2")
    register_node(registry, bob, str(boa.env.generate_address("kb2")), kinds=RELAY, amount=minimum, tag="b2")
    assert registry.node_count() == 2 and directory.node_at(1)[0] == bob


def test_deregister_reverts(directory, registry, actors, alice, minimum):
    with boa.env.prank(alice), boa.reverts("registry: not registered"):
        registry.deregister()
    register_node(registry, actors.operator, actors.node_key, kinds=RELAY, amount=minimum)
    with boa.env.prank(actors.operator), boa.reverts("registry: self-stake still bonded"):
        registry.deregister()
    _exit(directory, registry, actors.operator)
    with boa.env.prank(actors.operator):
        registry.deregister()
    with boa.env.prank(actors.operator), boa.reverts("registry: not registered"):
        registry.deregister()


def test_what_a_node_leaves_behind_keeps_working(directory, registry, token, actors, governance, minimum):
    """Delegators unbond, withdraw and claim after the exit; the pool stays slashable; a heartbeat
    of the released key, a stake, a delegation and a rebond are refused."""
    register_node(registry, actors.operator, actors.node_key, kinds=RELAY, amount=2 * minimum)
    with boa.env.prank(actors.delegator):
        registry.delegate(actors.operator, minimum)
    with boa.env.prank(actors.operator):
        entry = registry.unbond(actors.operator, directory.shares(actors.operator, actors.operator))
        registry.deregister()
    with boa.env.prank(actors.node_key), boa.reverts("registry: not a node key"):
        registry.heartbeat()
    with boa.env.prank(actors.operator), boa.reverts("registry: not registered"):
        registry.stake(minimum)
    with boa.env.prank(actors.delegator), boa.reverts("registry: not registered"):
        registry.delegate(actors.operator, minimum)
    with boa.env.prank(actors.operator), boa.reverts("registry: not registered"):
        registry.rebond(entry)
    # Still slashable: 50 % of the delegator's bonded stake and of the operator's unbonding entry.
    with boa.env.prank(governance):
        cut = registry.slash(actors.operator, WAD // 2, ZERO, 0)
    assert cut == minimum // 2 + minimum
    with boa.env.prank(actors.delegator):
        d_entry = registry.unbond(actors.operator, directory.shares(actors.operator, actors.delegator))
        registry.claim(actors.operator)
    boa.env.time_travel(seconds=registry.unbonding_seconds() + 1)
    before = token.balanceOf(actors.delegator)
    with boa.env.prank(actors.delegator):
        paid = registry.withdraw(d_entry)
    assert token.balanceOf(actors.delegator) == before + paid and paid >= minimum // 2 - 1
    with boa.env.prank(actors.operator):
        assert registry.withdraw(entry) >= minimum - 1


def test_slash_of_an_address_that_never_had_a_pool_reverts(registry, governance, alice):
    with boa.env.prank(governance), boa.reverts("registry: not registered"):
        registry.slash(alice, WAD // 2, ZERO, 0)


def test_a_returning_node_keeps_its_jail_and_a_slashed_out_node_stays_out(
    directory, registry, actors, governance, alice, minimum
):
    register_node(registry, actors.operator, actors.node_key, kinds=RELAY, amount=minimum)
    now = int(boa.env.evm.patch.timestamp)
    with boa.env.prank(governance):
        registry.jail(actors.operator, now + 86_400)
    _exit(directory, registry, actors.operator)
    with boa.env.prank(actors.operator):
        registry.deregister()
    # It comes back with a new key (the old one is retired for good).
    register_node(
        registry,
        actors.operator,
        str(boa.env.generate_address("k2")),
        kinds=RELAY,
        amount=minimum,
        tag="again",
    )
    n = directory.nodes(actors.operator)
    assert n.jailed and n.jailed_until == now + 86_400
    # A 100 % slash closes the node for good, through a deregistration too.
    with boa.env.prank(governance):
        registry.slash(actors.operator, WAD, ZERO, 0)
    # Its shares are worth 0 and cannot be unbonded; it may still leave and free its slot.
    with boa.env.prank(actors.operator), boa.reverts("registry: amount too small"):
        registry.unbond(actors.operator, directory.shares(actors.operator, actors.operator))
    with boa.env.prank(actors.operator):
        registry.deregister()
    k3 = str(boa.env.generate_address("k3"))
    approve_key(registry, k3, actors.operator)
    with boa.reverts("registry: pool slashed out"):
        register_node(registry, actors.operator, k3, kinds=RELAY, amount=minimum, tag="3")
    # Another operator is not affected.
    register_node(registry, alice, str(boa.env.generate_address("ka")), kinds=RELAY, amount=minimum)


def test_a_freed_slot_is_reused_only_from_the_next_epoch(
    directory, registry, actors, alice, bob, carol, minimum
):
    """The leaver had weight when the epoch began, so the frozen view still holds it in the slot's
    leaf for the rest of the epoch. A newcomer in the same epoch gets a new slot, and no draw of
    this epoch returns it with the leaver's weight; from the next epoch on the slot is reused."""
    leaver_key = str(boa.env.generate_address("leaver_key"))
    register_node(registry, alice, leaver_key, kinds=RELAY, amount=3 * minimum, tag="a")
    beat(registry, leaver_key)
    _to_next_epoch(registry)  # alice's weight is frozen for this epoch
    beat(registry, leaver_key)
    old_slot = _slot_of(registry, alice, RELAY)
    handed_out = _slots_handed_out(registry, RELAY)
    _exit(directory, registry, alice)
    with boa.env.prank(alice):
        registry.deregister()
    assert registry.sampling_stake(RELAY) == 3 * minimum  # still frozen in the leaf

    bob_key = str(boa.env.generate_address("bob_key"))
    register_node(registry, bob, bob_key, kinds=RELAY, amount=minimum, tag="b")
    beat(registry, bob_key)
    # Every draw of this epoch lands on alice's frozen weight (bob has none frozen): alice is
    # gone, so nothing comes back; with the slot reused, bob would come back with alice's weight.
    for i in range(20):
        assert registry.sample(RELAY, i.to_bytes(32, "big"), 1) == []
    assert _slots_handed_out(registry, RELAY) == handed_out + 1
    assert _slot_of(registry, bob, RELAY) != old_slot

    _to_next_epoch(registry)
    beat(registry, bob_key)
    carol_key = str(boa.env.generate_address("carol_key"))
    register_node(registry, carol, carol_key, kinds=RELAY, amount=minimum, tag="c")
    beat(registry, carol_key)
    assert _slot_of(registry, carol, RELAY) == old_slot
    assert _slots_handed_out(registry, RELAY) == handed_out + 1
    # This epoch froze bob's weight only (alice's leaf was 0 at its start): bob is drawn every time.
    assert registry.sampling_stake(RELAY) == minimum
    for i in range(10):
        assert registry.sample(RELAY, i.to_bytes(32, "big"), 2) == [bob]
    _to_next_epoch(registry)
    beat(registry, bob_key, carol_key)
    assert registry.sampling_stake(RELAY) == 2 * minimum
    assert sorted(registry.sample(RELAY, b"\x01" * 32, 2)) == sorted([bob, carol])


def test_deregister_refuses_a_full_slot_queue(directory, registry, actors, minimum):
    """The queue's tail shares the shape word with the height above it: it may not wrap into it."""
    register_node(registry, actors.operator, actors.node_key, kinds=RELAY, amount=minimum)
    _exit(directory, registry, actors.operator)
    shape = registry.eval(f"sumtree.shape[{RELAY}]")
    full = shape | ((2**32 - 1) << 64)
    registry.eval(f"sumtree.shape[{RELAY}] = {full}")
    with boa.env.prank(actors.operator), boa.reverts("registry: slot queue full"):
        registry.deregister()
    # One entry below the bound is still accepted, and the height and the slot count are kept.
    registry.eval(f"sumtree.shape[{RELAY}] = {shape | ((2**32 - 2) << 64)}")
    with boa.env.prank(actors.operator):
        registry.deregister()
    after = registry.eval(f"sumtree.shape[{RELAY}]")
    assert (after >> 64) & (2**32 - 1) == 2**32 - 1
    assert after >> 96 == shape >> 96 and _slots_handed_out(registry, RELAY) == shape & (2**30 - 1)
