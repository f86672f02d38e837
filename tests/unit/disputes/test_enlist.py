"""enlist: a node pre-pays its per-node word; panels and offences then share it without losing bits."""

from __future__ import annotations

import boa
from eth_utils import to_checksum_address

from tests.utils.disputes import (
    beat_all,
    committed_fork,
    draw,
    events,
    open_flag,
    prove,
    set_params,
)
from tests.utils.signing import named_signer


def test_operator_enlists(disputes, network):
    node = network[3].operator
    assert not disputes.enlisted(node)
    with boa.env.prank(node):
        disputes.enlist()
        (ev,) = events(disputes, "Enlisted")
    assert ev.node == node and disputes.enlisted(node)
    # Nothing else changes: never drawn, no offence.
    assert disputes.reviewer_of(node) == (0, 0, 0, 0) and disputes.offences(node) == 0


def test_node_key_enlists_its_operator(disputes, network):
    n = network[4]
    with boa.env.prank(n.key_address):
        disputes.enlist()
    assert disputes.enlisted(n.operator) and not disputes.enlisted(n.key_address)


def test_not_a_node(disputes, alice):
    with boa.reverts("disputes: not a node"), boa.env.prank(alice):
        disputes.enlist()


def test_retired_key_cannot_enlist(disputes, registry, network):
    n = network[5]
    new_key = to_checksum_address(named_signer("enlist-new-key").address)
    with boa.env.prank(new_key):
        registry.approve_operator(n.operator)
    with boa.env.prank(n.operator):
        registry.set_node_key(new_key)
    with boa.reverts("disputes: not a node"), boa.env.prank(n.key_address):
        disputes.enlist()


def test_twice(disputes, network):
    node = network[6].operator
    with boa.env.prank(node):
        disputes.enlist()
        with boa.reverts("disputes: already enlisted"):
            disputes.enlist()


def test_offence_keeps_the_panel_seat(disputes, token, governance, network, target, flagger, reporter):
    for n in network:
        with boa.env.prank(n.operator):
            disputes.enlist()
    dispute_id = open_flag(token, disputes, governance, flagger, target.operator)
    panel = draw(disputes, dispute_id)
    member = next(n for n in network if n.operator == panel[0])
    seat_before = disputes.reviewer_of(member.operator)
    a, sa, b, sb = committed_fork(disputes, member, reporter)
    prove(disputes, reporter, a, sa, b, sb)
    assert disputes.offences(member.operator) == 1
    assert disputes.reviewer_of(member.operator) == seat_before and disputes.enlisted(member.operator)


def test_seat_keeps_offences(disputes, registry, token, governance, network, target, flagger, reporter):
    # Every eligible node sits on the panel (k = all but the target).
    set_params(disputes, governance, panel_size=len(network) - 1)
    offender = network[2]
    with boa.env.prank(offender.operator):
        disputes.enlist()
    a, sa, b, sb = committed_fork(disputes, offender, reporter)
    prove(disputes, reporter, a, sa, b, sb)
    boa.env.time_travel(seconds=disputes.parameters().jail_base_seconds + 12)
    with boa.env.prank(offender.operator):
        registry.unjail()
    # Sampling uses the weights frozen at an epoch's start: the next one has the offender back.
    beat_all(registry, network)
    boa.env.time_travel(seconds=registry.EPOCH_SECONDS() + 12)
    beat_all(registry, network)
    dispute_id = open_flag(token, disputes, governance, flagger, target.operator)
    panel = draw(disputes, dispute_id)
    assert offender.operator in panel
    assert disputes.offences(offender.operator) == 1 and disputes.enlisted(offender.operator)
    assert disputes.reviewer_of(offender.operator)[0] == dispute_id
