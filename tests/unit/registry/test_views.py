"""sample (distinct, right kind, eligible, deterministic, bounds), node_at, NodeDirectory.list_nodes,
stake views, Fenwick growth."""

from __future__ import annotations

import boa
import pytest

from tests.utils.deployer import deployer_for
from tests.utils.registry import NOTIFY, RELAY, TURN, beat, fund, register_node

WAD = 10**18


@pytest.fixture
def fleet(registry, token, governance, minimum):
    """Nine nodes: kinds cycle RELAY, RELAY|TURN, NOTIFY; stakes 1..9 x minimum per kind."""
    nodes = []
    for i in range(9):
        op = str(boa.env.generate_address(f"fleet-op-{i}"))
        key = str(boa.env.generate_address(f"fleet-key-{i}"))
        kinds = (RELAY, RELAY | TURN, NOTIFY)[i % 3]
        amount = (i + 1) * minimum * bin(kinds).count("1")
        fund(token, registry, governance, op, amount)
        register_node(registry, op, key, kinds=kinds, amount=amount, tag=f"f{i}")
        beat(registry, key)
        nodes.append((op, key, kinds, amount))
    return nodes


def test_sample_distinct_right_kind(registry, fleet):
    relay = {op for op, _, kinds, _ in fleet if kinds & RELAY}
    for i in range(20):
        got = registry.sample(RELAY, i.to_bytes(32, "big"), 16)
        assert len(got) == len(set(got)) == len(relay)  # all 6 relays, each once
        assert set(got) == relay
        some = registry.sample(RELAY, i.to_bytes(32, "big"), 3)
        assert len(some) == 3 == len(set(some)) and set(some) <= relay
    notify = {op for op, _, kinds, _ in fleet if kinds & NOTIFY}
    assert set(registry.sample(NOTIFY, b"\x09" * 32, 16)) == notify
    turn = {op for op, _, kinds, _ in fleet if kinds & TURN}
    assert set(registry.sample(TURN, b"\x09" * 32, 2)) <= turn


def test_sample_is_deterministic(registry, fleet):
    seed = b"\x42" * 32
    first = registry.sample(RELAY, seed, 4)
    # Same seed, later blocks: the draw depends on the seed and the stakes only, not on the block.
    boa.env.time_travel(blocks=5)
    assert registry.sample(RELAY, seed, 4) == first
    # Another seed draws otherwise: any one other seed may draw the same ordered four by chance (the
    # epoch seed mixed in changes with the session's start time), eight in a row do not.
    others = {tuple(registry.sample(RELAY, bytes([b]) * 32, 4)) for b in range(0x43, 0x4B)}
    assert others - {tuple(first)}
    # The first draws of a larger k are the smaller k (sequential draws).
    assert registry.sample(RELAY, seed, 5)[:4] == registry.sample(RELAY, seed, 4)


def test_sample_skips_expired_and_jailed(registry, fleet, governance, params):
    boa.env.time_travel(seconds=params.registry.heartbeat_seconds + 1)
    live = fleet[:3]
    for _, key, _, _ in live:
        beat(registry, key)
    with boa.env.prank(governance):
        registry.jail(fleet[0][0], int(boa.env.evm.patch.timestamp) + 100)
    expect = {fleet[1][0]}
    for i in range(10):
        assert set(registry.sample(RELAY, i.to_bytes(32, "big"), 16)) == expect
    assert registry.sample(NOTIFY, b"\x01" * 32, 16) == [fleet[2][0]]


def test_sample_bounds(registry, fleet):
    assert registry.sample(RELAY, b"\x00" * 32, 0) == []
    with boa.reverts("registry: k above 16"):
        registry.sample(RELAY, b"\x00" * 32, 17)
    for kind in (0, 3, 8):
        with boa.reverts("registry: unknown kind"):
            registry.sample(kind, b"\x00" * 32, 1)


def test_sample_empty_kind(registry):
    assert registry.sample(TURN, b"\x00" * 32, 3) == []


def test_total_stake_matches_fleet(registry, fleet, minimum):
    for kind in (RELAY, TURN, NOTIFY):
        expect = sum(amount for _, _, kinds, amount in fleet if kinds & kind)
        assert registry.total_stake(kind) == expect
    assert registry.total_weight() == sum(a // WAD for *_, a in fleet)


def test_list_nodes(directory, registry, protocol, fleet):
    directory = protocol["NodeDirectory"]
    assert directory.REGISTRY() == registry.address
    ops = [op for op, *_ in fleet]
    page, nxt = directory.list_nodes(0, False, 0, 4)
    assert list(page) == ops[:4] and nxt == 4
    page, nxt = directory.list_nodes(0, False, nxt, 100)
    assert list(page) == ops[4:] and nxt == 9 == registry.node_count()
    page, _ = directory.list_nodes(NOTIFY, False, 0, 100)
    assert list(page) == [op for op, _, k, _ in fleet if k & NOTIFY]
    page, _ = directory.list_nodes(TURN | NOTIFY, False, 0, 100)
    assert list(page) == [op for op, _, k, _ in fleet if k & (TURN | NOTIFY)]
    boa.env.time_travel(seconds=registry.heartbeat_seconds() + 1)
    beat(registry, fleet[4][1])
    page, _ = directory.list_nodes(0, True, 0, 100)
    assert list(page) == [fleet[4][0]]
    assert directory.list_nodes(0, False, 50, 10) == ([], 9)


def test_node_at(directory, registry, fleet):
    op, _, kinds, _ = fleet[2]
    assert directory.node_at(2) == (op, kinds, True)
    boa.env.time_travel(seconds=registry.heartbeat_seconds() + 1)
    assert directory.node_at(2) == (op, kinds, False)
    with boa.reverts("directory: index out of range"):  # past the last node
        directory.node_at(registry.node_count())


def test_directory_needs_a_registry_with_code():
    with boa.reverts("directory: registry not a contract"):
        deployer_for("NodeDirectory").deploy(boa.env.generate_address("no_registry"))


def test_sum_tree_across_growth(directory, registry, token, governance, minimum):
    """Slots crossing 8 and 64 (the tree grows a level at the 9th and the 65th node): every node is
    reachable and the sums stay exact."""
    n = 66
    ops = []
    for i in range(n):
        op = str(boa.env.generate_address(f"g-op-{i}"))
        key = str(boa.env.generate_address(f"g-key-{i}"))
        fund(token, registry, governance, op, (i + 1) * minimum)
        register_node(registry, op, key, kinds=RELAY, amount=(i + 1) * minimum, tag=f"g{i}")
        beat(registry, key)
        ops.append(op)
        assert registry.total_stake(RELAY) == minimum * (i + 1) * (i + 2) // 2
        if i in (0, 7, 8, 9, 63, 64, 65):
            assert set(registry.sample(RELAY, b"\x07" * 32, 16)) <= set(ops)
    # Remove weight from slot 5 (unbond to exit) and check the rest is still exact.
    with boa.env.prank(ops[4]):
        registry.unbond(ops[4], directory.shares(ops[4], ops[4]))
    assert registry.total_stake(RELAY) == minimum * (n * (n + 1) // 2 - 5)
    seen = set()
    for i in range(40):
        seen |= set(registry.sample(RELAY, i.to_bytes(32, "big"), 16))
    assert ops[4] not in seen
    # The heaviest nodes (slots 56..65, in the third level's new subtree) are all reachable.
    assert set(ops[56:]) <= seen
