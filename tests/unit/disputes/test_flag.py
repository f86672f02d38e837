"""flag: bond pulled, node frozen, dispute recorded; refusals."""

from __future__ import annotations

import boa
import pytest

from tests.utils.disputes import events, open_flag

ZERO = "0x0000000000000000000000000000000000000000"


def test_flag_pulls_the_bond_and_freezes(disputes, registry, token, governance, target, flagger):
    bond = disputes.parameters().flag_bond
    with boa.env.prank(governance):
        token.transfer(flagger, bond)
    with boa.env.prank(flagger):
        token.approve(disputes.address, bond)
        dispute_id = disputes.flag(target.operator, 3, "ipfs://evidence")
        [ev] = events(disputes, "Flagged")
    assert dispute_id == 1 and disputes.dispute_count() == 1
    assert token.balanceOf(flagger) == 0 and token.balanceOf(disputes.address) == bond
    assert registry.frozen(target.operator) == 1
    d = disputes.disputes(dispute_id)
    block = boa.env.evm.patch.block_number
    assert (d.node, d.flagger, d.status, d.reason, d.bond, d.draw_block) == (
        target.operator,
        flagger,
        1,
        3,
        bond,
        block + 1,
    )
    assert (ev.dispute_id, ev.node, ev.flagger, ev.reason, ev.bond, ev.evidence_uri, ev.draw_block) == (
        1,
        target.operator,
        flagger,
        3,
        bond,
        "ipfs://evidence",
        block + 1,
    )


def test_overlapping_flags_each_freeze(disputes, registry, token, governance, target, flagger, alice):
    open_flag(token, disputes, governance, flagger, target.operator)
    assert open_flag(token, disputes, governance, alice, target.operator) == 2
    assert registry.frozen(target.operator) == 2


@pytest.mark.parametrize("reason", [0, 8, 2**256 - 1])
def test_unknown_reason(disputes, target, flagger, reason):
    with boa.env.prank(flagger), boa.reverts("disputes: unknown reason"):
        disputes.flag(target.operator, reason, "")


def test_the_last_reason_is_forged_ad_receipts(disputes, token, governance, target, flagger):
    """Reason 7 (settling forged ad receipts) is the highest code a flag takes."""
    dispute_id = open_flag(token, disputes, governance, flagger, target.operator, reason=7)
    assert disputes.disputes(dispute_id).reason == 7


def test_cannot_flag_yourself(disputes, target):
    with boa.env.prank(target.operator), boa.reverts("disputes: cannot flag yourself"):
        disputes.flag(target.operator, 1, "")


def test_not_a_node(disputes, flagger, non_admin):
    for who in (non_admin, ZERO):
        with boa.env.prank(flagger), boa.reverts("disputes: not a node"):
            disputes.flag(who, 1, "")


def test_flag_without_the_bond(disputes, registry, target, flagger):
    # No approval / no balance: the token refuses and nothing is frozen.
    with boa.env.prank(flagger), boa.reverts("erc20: insufficient allowance"):
        disputes.flag(target.operator, 1, "")
    assert registry.frozen(target.operator) == 0 and disputes.dispute_count() == 0
