"""draw_panel: seeded after the flag, exclusions, weights, re-arm, dismissal."""

from __future__ import annotations

import boa

from tests.utils.disputes import add_node, draw, draw_event, events, open_flag, set_params
from tests.utils.registry import now

WAD = 10**18


def test_draw_panel(disputes, registry, token, governance, network, target, flagger):
    dispute_id = open_flag(token, disputes, governance, flagger, target.operator)
    ev = draw_event(disputes, dispute_id)
    panel = [str(a) for a in ev.panel]
    p = disputes.parameters()
    assert len(panel) == p.panel_size
    assert len(set(panel)) == len(panel) and target.operator not in panel
    assert set(panel) <= {n.operator for n in network}
    weights = [min(registry.assets_of(r, r), p.reviewer_cap) // WAD for r in panel]
    assert list(ev.weights) == weights
    assert ev.commit_deadline == now() + p.vote_commit_seconds
    assert ev.reveal_deadline == ev.commit_deadline + p.vote_reveal_seconds
    d = disputes.disputes(dispute_id)
    assert (d.status, d.panel_size, d.panel_weight) == (2, len(panel), sum(weights))
    for seat, r in enumerate(panel):
        assert disputes.reviewer_of(r) == (
            dispute_id,
            seat,
            weights[seat],
            ev.reveal_deadline + p.reviewer_cooldown_seconds,
        )
    # The draw records the epoch seed (never the public fallback).
    assert registry.epoch_seed()[1]


def test_flagger_node_is_excluded(disputes, token, governance, network, target):
    # Every other node flags the target in turn: the flagger never sits on its own panel.
    for turn, flagger_node in enumerate(network[1:4]):
        dispute_id = open_flag(token, disputes, governance, flagger_node.operator, target.operator)
        panel = draw(disputes, dispute_id)
        assert flagger_node.operator not in panel and target.operator not in panel
        if turn == 0:
            # Nobody is busy yet: the spare candidates fill the seats the exclusions took (8 of the
            # 10 nodes may sit; the later panels only get the reviewers the first one left free).
            assert len(panel) == disputes.parameters().panel_size


def test_simultaneous_flags_get_disjoint_panels(disputes, token, governance, network, flagger, alice):
    first = open_flag(token, disputes, governance, flagger, network[0].operator)
    second = open_flag(token, disputes, governance, alice, network[1].operator)
    a = draw(disputes, first)
    b = draw(disputes, second)
    assert a and b and not set(a) & set(b)
    assert network[1].operator not in b


def test_cool_down_excludes_recent_reviewers(disputes, registry, token, governance, network, flagger, alice):
    first = open_flag(token, disputes, governance, flagger, network[0].operator)
    a = draw(disputes, first)
    d = disputes.disputes(first)
    # After the reveal deadline but inside the cool-down: still excluded.
    boa.env.time_travel(seconds=d.reveal_deadline - now() + 12)
    for n in network:
        with boa.env.prank(n.key_address):
            registry.heartbeat()
    second = open_flag(token, disputes, governance, alice, network[0].operator)
    b = draw(disputes, second)
    assert not set(a) & set(b)


def test_cool_down_ends(disputes, registry, token, governance, network, flagger, alice):
    first = open_flag(token, disputes, governance, flagger, network[0].operator)
    a = draw(disputes, first)
    _, _, _, available = disputes.reviewer_of(a[0])
    boa.env.time_travel(seconds=available - now() + 12)
    for n in network:
        with boa.env.prank(n.key_address):
            registry.heartbeat()
    second = open_flag(token, disputes, governance, alice, network[0].operator)
    b = draw(disputes, second)
    # All nine other nodes are available again and k = 7 of 9 are drawn.
    assert len(b) == disputes.parameters().panel_size


def test_seed_block_not_mined(disputes, token, governance, target, flagger):
    dispute_id = open_flag(token, disputes, governance, flagger, target.operator)
    # Same block as the flag, and the seed block itself: its hash is not known yet.
    for _ in range(2):
        with boa.reverts("disputes: seed block not mined"):
            disputes.draw_panel(dispute_id)
        boa.env.time_travel(blocks=1)
    disputes.draw_panel(dispute_id)


def test_not_awaiting_a_draw(disputes, token, governance, target, flagger):
    with boa.reverts("disputes: not awaiting a draw"):
        disputes.draw_panel(1)
    dispute_id = open_flag(token, disputes, governance, flagger, target.operator)
    draw(disputes, dispute_id)
    with boa.reverts("disputes: not awaiting a draw"):
        disputes.draw_panel(dispute_id)


def test_rearm_after_256_blocks(disputes, token, governance, target, flagger):
    dispute_id = open_flag(token, disputes, governance, flagger, target.operator)
    boa.env.time_travel(blocks=258)
    assert disputes.draw_panel(dispute_id) == 0
    [ev] = events(disputes, "DrawRearmed")
    block = boa.env.evm.patch.block_number
    assert (ev.dispute_id, ev.draw_block) == (dispute_id, block + 1)
    d = disputes.disputes(dispute_id)
    assert (d.status, d.draw_block) == (1, block + 1)
    assert len(draw(disputes, dispute_id)) == disputes.parameters().panel_size


def test_dismissed_when_nobody_can_review(disputes, registry, token, governance, params, flagger):
    minimum = params.registry.min_self_stake_per_kind_wei
    target = add_node(token, registry, governance, "lonely", 2 * minimum)
    dispute_id = open_flag(token, disputes, governance, flagger, target.operator)
    boa.env.time_travel(blocks=2)
    assert disputes.draw_panel(dispute_id) == 0
    [ev] = events(disputes, "DisputeResolved")
    d = disputes.disputes(dispute_id)
    assert d.status == 5
    assert token.balanceOf(flagger) == d.bond and token.balanceOf(disputes.address) == 0
    assert registry.frozen(target.operator) == 0
    assert (ev.dispute_id, ev.node, ev.status, ev.cut) == (dispute_id, target.operator, 5, 0)


def test_weights_are_capped(disputes, registry, token, governance, network, target, flagger):
    set_params(disputes, governance, reviewer_cap=30_000 * WAD)
    dispute_id = open_flag(token, disputes, governance, flagger, target.operator)
    ev = draw_event(disputes, dispute_id)
    assert max(ev.weights) == 30_000
    assert list(ev.weights) == [min(registry.assets_of(r, r) // WAD, 30_000) for r in ev.panel]
