"""The reward reserve always covers what node checkpoints may take."""

from __future__ import annotations

import boa

from tests.utils.registry import RELAY, beat, now, register_node, send_rewards

WAD = 10**18


def _finalise_next(registry) -> None:
    end = registry.EPOCH_START() + (registry.epochs_finalised() + 1) * registry.EPOCH_SECONDS()
    boa.env.time_travel(seconds=max(end - now(), 0) + 1)
    registry.finalize_epoch()


def test_reserve_covers_a_checkpoint_over_several_epochs(
    directory, registry, token, governance, actors, alice
):
    """With weight 30,000 and 1,000 CLUB a epoch, weight * step / 1e9 has a fraction of 2/3 every
    epoch: rounding the reserve down each epoch and the node's take once over both epochs left the
    reserve 1 wei short, and every checkpoint of the node (poke, heartbeat, unbond) underflowed.
    Streamed rewards (finding 7) update the accumulator at every weight change and finalisation;
    the reserve still rounds up at every update and a checkpoint down once over all of them."""
    register_node(registry, alice, actors.node_key, kinds=RELAY, amount=30_000 * WAD, commission_bps=0)
    beat(registry, actors.node_key)  # live for one heartbeat period, then down
    tip = registry.finalize_tip()
    for _ in range(2):
        send_rewards(token, registry, governance, 1000 * WAD + tip)
        _finalise_next(registry)
    weight = directory.nodes(alice).weight
    assert weight == 30_000
    snapshot = directory.nodes(alice).acc_snapshot
    reserve = registry.reward_reserve()  # streamed up to now
    registry.poke(alice)  # the node expired an hour after its beat: all of it is forfeited
    assert directory.nodes(alice).weight == 0
    # Everything the checkpoint took (weight * accumulator delta, exactly) was covered.
    due = weight * (directory.nodes(alice).acc_snapshot - snapshot)
    assert due > 0 and reserve * 10**9 >= due
    assert registry.reward_reserve() == reserve - due // 10**9
    # The forfeit is fresh again at the next finalisation; nothing is owed any more.
    assert token.balanceOf(registry.address) >= registry.principal() + registry.reward_reserve()
    with boa.env.prank(alice):
        registry.unbond(alice, directory.shares(alice, alice))
