"""Discovery grinding (security review, finding 1): an operator that knows every public input cannot raise
its chance of being drawn for a chosen seed above its stake share.

The attacker runs two offline searches over its own stake, like `poc_sample_grinding.py`:
- the reproduction's search (draws from `keccak(seed, i)` over the live weights), which captured
  both rendezvous relays of a chosen victim at once on the old registry;
- the strongest search the public inputs allow now: over the weights that will be frozen at the next
  epoch boundary and that epoch's fallback seed (what `sample` would use if nobody recorded one).
It stakes what it found; the tests then check that the stake change does not move any draw before
the boundary, and that after the boundary (the first heartbeat records the epoch seed) the attacker
captures the victim at the rate its stake share predicts. Block randomness comes from a seeded
generator, so the statistics are fixed and cannot flake.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import boa
import pytest
from eth_abi import encode
from eth_utils import keccak, to_canonical_address

from tests.utils.registry import RELAY, beat, fund, mirror_draws, next_epoch, register_node

WAD = 10**18
HONEST = tuple(50_000 + 10_000 * i for i in range(10))  # CLUB, as in the reproduction
ATTACKER = (250_000, 250_000)  # CLUB: about a third of RELAY stake, so captures are frequent
K = 2
SEARCH = 20_000  # stake values (whole CLUB) the attacker tries per victim


@dataclass
class Fleet:
    order: list[str]  # operators in slot (= registration) order
    keys: list[str]
    attacker: list[str]


def _grind(weights: list[int], captured: set[int], mixed: bytes) -> int | None:
    """The smallest extra stake (whole CLUB) on the first attacker node that makes every draw an
    attacker's, or None within SEARCH tries."""
    first = min(captured)
    for extra in range(SEARCH):
        ws = list(weights)
        ws[first] += extra
        got = mirror_draws(ws, mixed, K)
        if len(got) == K and set(got) <= captured:
            return extra
    return None


def _p_fair(w1: int, w2: int, total: int) -> float:
    """P(both of two draws without replacement hit the two attacker nodes of weights w1, w2)."""
    return w1 / total * w2 / (total - w1) + w2 / total * w1 / (total - w2)


@pytest.fixture
def fleet(registry, token, governance) -> Fleet:
    # Heartbeats that outlast an epoch, so a look one epoch ahead needs no heartbeat (which would
    # record that epoch's seed).
    with boa.env.prank(governance):
        registry.set_parameters(
            registry.min_self_stake_per_kind(),
            registry.saturation_multiple(),
            registry.unbonding_seconds(),
            3 * registry.EPOCH_SECONDS(),
            registry.commission_max_bps(),
            registry.commission_max_change_bps(),
            registry.commission_delay_seconds(),
            registry.finalize_tip(),
            registry.stream_seconds(),
        )
    order, keys, attacker = [], [], []
    stakes = [(f"honest{i}", s) for i, s in enumerate(HONEST)] + [
        (f"att{i}", s) for i, s in enumerate(ATTACKER)
    ]
    for name, club in stakes:
        op = str(boa.env.generate_address(f"grind-{name}"))
        key = str(boa.env.generate_address(f"grind-key-{name}"))
        fund(token, registry, governance, op, 10_000_000 * WAD)
        register_node(registry, op, key, kinds=RELAY, amount=club * WAD, tag=name)
        beat(registry, key)
        order.append(op)
        keys.append(key)
        if name.startswith("att"):
            attacker.append(op)
    # The weights above are frozen from the next boundary on.
    next_epoch(registry, *keys)
    return Fleet(order, keys, attacker)


def _victim_seed(n: int) -> bytes:
    return bytes(keccak(to_canonical_address(str(boa.env.generate_address(f"victim-{n}")))))


def _next_fallback_seed(registry) -> bytes:
    """The seed `sample` would use next epoch if nobody recorded one (public right now)."""
    with boa.env.anchor():
        boa.env.time_travel(seconds=registry.EPOCH_SECONDS())
        seed, recorded = registry.epoch_seed()
        assert not recorded
        return bytes(seed)


def _weights(directory, registry, fleet: Fleet) -> list[int]:
    return [directory.nodes(op).weight for op in fleet.order]


def test_stake_change_moves_sampling_only_at_the_next_boundary(registry, fleet):
    """Within an epoch, sample() and the sampled stake ignore stake changes; at the boundary they
    take effect (and the epoch seed changes)."""
    att = fleet.attacker[0]
    seeds = [_victim_seed(n) for n in range(20)]
    before = [registry.sample(RELAY, s, K) for s in seeds]
    sampled = registry.sampling_stake(RELAY)
    epoch = registry.sampling_epoch()
    for amount in (1, 1_000, 400_000):
        with boa.env.prank(att):
            registry.stake(amount * WAD)
        assert registry.total_stake(RELAY) != sampled  # the live weights moved ...
        assert registry.sampling_stake(RELAY) == sampled  # ... the sampled ones did not
        assert [registry.sample(RELAY, s, K) for s in seeds] == before
    assert registry.sampling_epoch() == epoch

    next_epoch(registry, *fleet.keys)
    assert registry.sampling_epoch() == epoch + 1
    assert registry.sampling_stake(RELAY) == registry.total_stake(RELAY) == sampled + 401_001 * WAD
    assert [registry.sample(RELAY, s, K) for s in seeds] != before


def test_reproduction_search_no_longer_captures_the_victim(directory, registry, fleet):
    """poc_sample_grinding.py's search and stake: the victim's relays do not change this epoch, and
    after the boundary they are drawn afresh with a seed recorded after the weights froze.

    Whether one fresh draw is the attacker's is a coin with the attacker's stake-proportional odds
    (about 7 % with the ground stake), so a single draw proves nothing either way and depends on
    the absolute time the test runs at (the epoch number enters the seed); the statistical claim is
    `test_grinding_every_public_input_stays_at_stake_share`."""
    captured = {fleet.order.index(a) for a in fleet.attacker}
    # The first victim the search needs stake for (whether one is captured without any depends on
    # the epoch the test runs in, which enters the seed).
    for n in range(50):
        victim = _victim_seed(n)
        extra = _grind(_weights(directory, registry, fleet), captured, victim)
        if extra:
            break
    assert extra  # the victim was not captured before: the search needed stake
    before = registry.sample(RELAY, victim, K)
    with boa.env.prank(fleet.attacker[0]):
        registry.stake(extra * WAD)
    assert registry.sample(RELAY, victim, K) == before
    boa.env.evm.patch.prevrandao = random.Random(11).randbytes(32)
    epoch = registry.sampling_epoch()
    next_epoch(registry, *fleet.keys)
    assert registry.sampling_epoch() == epoch + 1 and registry.epoch_seed()[1]  # recorded, not the fallback
    w = _weights(directory, registry, fleet)
    slots = sorted(captured)
    # The fresh draw captures the victim with the odds of the stake it now holds (7 % here), no more.
    assert _p_fair(w[slots[0]], w[slots[1]], sum(w)) < 0.08


def _capture_rate(
    directory, registry, fleet: Fleet, victims: int, rng_seed: int
) -> tuple[int, float, float, int]:
    """For each victim: grind against every public input of the next epoch, stake, cross the boundary
    (the first heartbeat records the seed), sample. Returns (captures, expected, variance, would-have)."""
    rng = random.Random(rng_seed)
    captured_slots = {fleet.order.index(a) for a in fleet.attacker}
    captures, expected, variance, unrecorded_captures = 0, 0.0, 0.0, 0
    for n in range(victims):
        victim = _victim_seed(n)
        with boa.env.anchor():
            mixed = bytes(keccak(encode(["bytes32", "bytes32"], [_next_fallback_seed(registry), victim])))
            extra = _grind(_weights(directory, registry, fleet), captured_slots, mixed)
            if extra is None:
                continue
            if extra > 0:
                with boa.env.prank(fleet.attacker[0]):
                    registry.stake(extra * WAD)
            w = _weights(directory, registry, fleet)
            p = _p_fair(w[min(captured_slots)], w[max(captured_slots)], sum(w))
            expected += p
            variance += p * (1 - p)
            # Had nobody recorded a seed, the ground stake would win (the documented fallback).
            with boa.env.anchor():
                boa.env.time_travel(seconds=registry.EPOCH_SECONDS())
                unrecorded_captures += set(registry.sample(RELAY, victim, K)) <= set(fleet.attacker)
            boa.env.evm.patch.prevrandao = rng.randbytes(32)
            next_epoch(registry, *fleet.keys)
            assert registry.epoch_seed()[1]
            captures += set(registry.sample(RELAY, victim, K)) <= set(fleet.attacker)
    return captures, expected, variance, unrecorded_captures


def _assert_at_stake_share(captures: int, expected: float, variance: float) -> None:
    print(f"captures {captures}, expected at stake share {expected:.2f} (sd {math.sqrt(variance):.2f})")
    # One-sided: a grinding attacker would sit far above its stake share; 4 sigma (+1 for the
    # discreteness of small counts) is a bound a fair draw exceeds with probability < 1e-4.
    assert captures <= expected + 4 * math.sqrt(variance) + 1, (captures, expected)


def test_grinding_every_public_input_stays_at_stake_share(directory, registry, fleet):
    captures, expected, variance, unrecorded = _capture_rate(
        directory, registry, fleet, victims=24, rng_seed=1
    )
    assert unrecorded >= 20  # the search itself works: it wins whenever no seed is recorded
    _assert_at_stake_share(captures, expected, variance)


@pytest.mark.slow
def test_grinding_every_public_input_stays_at_stake_share_many_victims(directory, registry, fleet):
    captures, expected, variance, unrecorded = _capture_rate(
        directory, registry, fleet, victims=300, rng_seed=2
    )
    assert unrecorded >= 250
    _assert_at_stake_share(captures, expected, variance)
    # And not below it either: the draw is fair, not just unfavourable to the attacker.
    assert captures >= expected - 4 * math.sqrt(variance) - 1, (captures, expected)
