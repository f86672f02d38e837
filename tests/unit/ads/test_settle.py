"""AdMarket.settle: cumulative receipts, the split, and every receipt that must be skipped.

A bad receipt never reverts the batch: it is skipped with `ReceiptSkipped(reason)`; only a
batch sent for a node that is not a NOTIFY node, or by someone who is neither the node nor its
key, reverts.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import boa
import pytest
from conftest import CLUB_A, CLUB_B
from eth_account import Account

from clubchat.ads.receipts import Receipt, SignedReceipt, receipt_digest, receipt_typed_data, sign_receipt
from clubchat.chain.eip712 import SECP256K1_N
from tests.utils.ads import DAY, WAD, CampaignSpec, create, domain, events, signed, skipped
from tests.utils.registry import fund, register_node
from tests.utils.signing import named_signer

TARGETED = CampaignSpec(budget=100 * WAD, price=WAD, per_user_cap=10, targets=(CLUB_A, CLUB_B))


def settle(market, node, items, sender=None):
    with boa.env.prank(sender or node):
        return market.settle(node, items)


@pytest.fixture
def campaign(market, funded, members) -> int:
    return create(market, funded, TARGETED)


def test_settles_and_splits(market, node, campaign, viewer, community_owner):
    spent = settle(market, node, [signed(market, viewer, campaign, node, 3)])
    (batch,) = events(market, "BatchSettled")
    assert spent == 3 * WAD
    assert (batch.node, batch.sender, batch.receipts, batch.amount) == (node, node, 1, 3 * WAD)
    # 50 % user, 20 % node, 20 % community (no payout address yet: held unclaimed), 10 % burn.
    assert market.balances(viewer.address) == 3 * WAD * 5000 // 10_000
    assert market.balances(node) == 3 * WAD * 2000 // 10_000
    assert market.community_unclaimed(CLUB_A) == 3 * WAD * 2000 // 10_000
    assert market.burn_pending() == 3 * WAD * 1000 // 10_000
    assert market.campaign(campaign).spent == 3 * WAD
    assert market.settled(campaign, viewer.address, node) == 3
    assert market.settled_total(campaign, viewer.address) == 3


def test_cumulative_receipt_pays_only_the_new_views(market, node, campaign, viewer):
    settle(market, node, [signed(market, viewer, campaign, node, 3)])
    assert settle(market, node, [signed(market, viewer, campaign, node, 7)]) == 4 * WAD
    assert market.campaign(campaign).spent == 7 * WAD
    assert market.balances(viewer.address) == 7 * WAD // 2


def test_replayed_receipt_is_skipped(market, node, campaign, viewer):
    item = signed(market, viewer, campaign, node, 3)
    settle(market, node, [item])
    assert settle(market, node, [item]) == 0
    assert skipped(market) == ["ads: replayed or lowered"]
    assert market.campaign(campaign).spent == 3 * WAD


def test_replay_inside_one_batch(market, node, campaign, viewer):
    item = signed(market, viewer, campaign, node, 3)
    assert settle(market, node, [item, item]) == 3 * WAD
    assert skipped(market) == ["ads: replayed or lowered"]


def test_lowered_receipt_is_skipped(market, node, campaign, viewer):
    settle(market, node, [signed(market, viewer, campaign, node, 5)])
    assert settle(market, node, [signed(market, viewer, campaign, node, 4)]) == 0
    assert skipped(market) == ["ads: replayed or lowered"]


def test_zero_count_is_skipped(market, node, campaign, viewer):
    assert settle(market, node, [signed(market, viewer, campaign, node, 0)]) == 0
    assert skipped(market) == ["ads: replayed or lowered"]


def test_over_the_cap_is_skipped_not_truncated(market, node, campaign, viewer):
    assert settle(market, node, [signed(market, viewer, campaign, node, 11)]) == 0
    assert skipped(market) == ["ads: over the per-user cap"]
    assert settle(market, node, [signed(market, viewer, campaign, node, 10)]) == 10 * WAD


def test_cap_counts_views_through_all_nodes(market, node, other_node, campaign, viewer):
    assert settle(market, node, [signed(market, viewer, campaign, node, 6)]) == 6 * WAD
    # The second node's own counter starts at 0; together the user may not pass 10.
    assert settle(market, other_node, [signed(market, viewer, campaign, other_node, 5)]) == 0
    assert skipped(market) == ["ads: over the per-user cap"]
    assert settle(market, other_node, [signed(market, viewer, campaign, other_node, 4)]) == 4 * WAD
    assert market.settled(campaign, viewer.address, node) == 6
    assert market.settled(campaign, viewer.address, other_node) == 4
    assert market.settled_total(campaign, viewer.address) == 10
    assert market.balances(other_node) == 4 * WAD * 2000 // 10_000
    # The second node's counter is monotonic on its own.
    assert settle(market, other_node, [signed(market, viewer, campaign, other_node, 4)]) == 0
    assert skipped(market) == ["ads: replayed or lowered"]


def test_first_node_counter_survives_a_second_node(market, node, other_node, campaign, viewer):
    settle(market, node, [signed(market, viewer, campaign, node, 2)])
    settle(market, other_node, [signed(market, viewer, campaign, other_node, 3)])
    assert settle(market, node, [signed(market, viewer, campaign, node, 4)]) == 2 * WAD
    assert market.settled_total(campaign, viewer.address) == 7


def test_budget_is_never_exceeded(market, node, funded, members, viewer, viewer2):
    cid = create(market, funded, CampaignSpec(budget=5 * WAD, price=WAD, per_user_cap=10, targets=(CLUB_A,)))
    assert settle(market, node, [signed(market, viewer, cid, node, 4)]) == 4 * WAD
    assert settle(market, node, [signed(market, viewer2, cid, node, 2)]) == 0
    assert skipped(market) == ["ads: budget exhausted"]
    assert settle(market, node, [signed(market, viewer2, cid, node, 1)]) == WAD
    assert market.campaign(cid).spent == 5 * WAD


def test_wrong_campaign_receipt_is_skipped(market, node, funded, campaign, viewer):
    other = create(market, funded, TARGETED)
    receipt = Receipt(campaign, viewer.address, node, 3)
    sig = sign_receipt(viewer.key, domain(market), receipt).packed()
    forged = SignedReceipt(Receipt(other, viewer.address, node, 3), sig).settlement()
    assert settle(market, node, [forged]) == 0
    assert skipped(market) == ["ads: bad signature"]


def test_wrong_chain_receipt_is_skipped(market, node, campaign, viewer):
    other_chain = domain(market).with_chain_id(domain(market).chain_id + 1)
    assert settle(market, node, [signed(market, viewer, campaign, node, 3, dom=other_chain)]) == 0
    assert skipped(market) == ["ads: bad signature"]


def test_other_contract_receipt_is_skipped(market, node, campaign, viewer, token):
    elsewhere = replace(domain(market), verifying_contract=str(token.address))
    assert settle(market, node, [signed(market, viewer, campaign, node, 3, dom=elsewhere)]) == 0
    assert skipped(market) == ["ads: bad signature"]


def test_receipt_for_another_node_is_skipped(market, node, other_node, campaign, viewer):
    assert settle(market, node, [signed(market, viewer, campaign, other_node, 3)]) == 0
    assert skipped(market) == ["ads: wrong node"]


def test_receipt_signed_for_another_node_relabelled(market, node, other_node, campaign, viewer):
    sig = sign_receipt(viewer.key, domain(market), Receipt(campaign, viewer.address, other_node, 3)).packed()
    relabelled = SignedReceipt(Receipt(campaign, viewer.address, node, 3), sig).settlement()
    assert settle(market, node, [relabelled]) == 0
    assert skipped(market) == ["ads: bad signature"]


def test_receipt_signed_by_someone_else(market, node, campaign, viewer):
    mallory = named_signer("ads-mallory")
    receipt = Receipt(campaign, viewer.address, node, 3)
    sig = sign_receipt(mallory.key, domain(market), receipt).packed()
    assert settle(market, node, [SignedReceipt(receipt, sig).settlement()]) == 0
    assert skipped(market) == ["ads: bad signature"]


@pytest.mark.parametrize("mangle", ["high_s", "bad_v", "short", "empty", "zero_r"])
def test_malformed_signatures_are_skipped(market, node, campaign, viewer, mangle):
    receipt = Receipt(campaign, viewer.address, node, 3)
    sig = sign_receipt(viewer.key, domain(market), receipt)
    raw = {
        "high_s": sig.malleable_twin().packed(),
        "bad_v": sig.r + sig.s + bytes([29]),
        "short": sig.packed()[:64],
        "empty": b"",
        "zero_r": b"\x00" * 32 + sig.s + bytes([sig.v]),
    }[mangle]
    good = signed(market, viewer, campaign, node, 2)
    # The bad receipt does not revert the batch: the good one behind it settles.
    assert settle(market, node, [SignedReceipt(receipt, raw).settlement(), good]) == 2 * WAD
    assert skipped(market) == ["ads: bad signature"]
    assert sig.malleable_twin().packed() != sig.packed() and int.from_bytes(sig.s, "big") <= SECP256K1_N // 2


def test_unknown_campaign(market, node, campaign, viewer):
    assert settle(market, node, [signed(market, viewer, 99, node, 1)]) == 0
    assert skipped(market) == ["ads: unknown campaign"]


def test_campaign_zero_is_unknown_even_first_in_a_batch(market, node, campaign, viewer):
    """Ids start at 1; `settle` keeps the current campaign's words from one receipt to the next,
    starting from "no campaign" (0), which must answer like any id that was never created."""
    items = [signed(market, viewer, 0, node, 1), signed(market, viewer, campaign, node, 1)]
    items.append(signed(market, viewer, 0, node, 2))
    assert settle(market, node, items) == WAD
    assert skipped(market) == ["ads: unknown campaign", "ads: unknown campaign"]


def test_before_start(market, node, funded, members, viewer):
    cid = create(market, funded, CampaignSpec(start_in=DAY, targets=(CLUB_A,)))
    assert settle(market, node, [signed(market, viewer, cid, node, 1)]) == 0
    assert skipped(market) == ["ads: campaign not started"]
    boa.env.time_travel(seconds=DAY)
    assert settle(market, node, [signed(market, viewer, cid, node, 1)]) == WAD


def test_settles_until_end_plus_grace_and_not_after(market, node, campaign, viewer, viewer2):
    c = market.campaign(campaign)
    boa.env.time_travel(seconds=c.end + c.grace - int(boa.env.evm.patch.timestamp))
    assert settle(market, node, [signed(market, viewer, campaign, node, 1)]) == WAD
    boa.env.time_travel(seconds=1)
    assert settle(market, node, [signed(market, viewer2, campaign, node, 1)]) == 0
    assert skipped(market) == ["ads: settlement closed"]


def test_cancelled_campaign_settles_only_in_the_grace_after_cancel(
    market, node, funded, campaign, viewer, viewer2
):
    boa.env.time_travel(seconds=DAY)
    with boa.env.prank(funded):
        market.cancel(campaign)
    c = market.campaign(campaign)
    assert c.cancelled and c.end == int(boa.env.evm.patch.timestamp)
    boa.env.time_travel(seconds=c.grace)
    assert settle(market, node, [signed(market, viewer, campaign, node, 2)]) == 2 * WAD
    boa.env.time_travel(seconds=1)
    assert settle(market, node, [signed(market, viewer2, campaign, node, 2)]) == 0
    assert skipped(market) == ["ads: settlement closed"]


def test_paused_campaign_still_settles(market, node, funded, campaign, viewer):
    with boa.env.prank(funded):
        market.pause(campaign)
    assert settle(market, node, [signed(market, viewer, campaign, node, 2)]) == 2 * WAD


def test_non_member_is_skipped(market, node, campaign, communities, viewer2):
    # viewer2 is a member of CLUB_A (target 0) but not of CLUB_B (target 1).
    assert settle(market, node, [signed(market, viewer2, campaign, node, 1, target=1)]) == 0
    assert skipped(market) == ["ads: not a member"]
    assert settle(market, node, [signed(market, viewer2, campaign, node, 1, target=0)]) == WAD


def test_membership_is_checked_at_settlement(market, node, campaign, communities, viewer):
    with boa.env.prank(viewer.address):
        communities.set_member(CLUB_A, viewer.address, False)
    assert settle(market, node, [signed(market, viewer, campaign, node, 1, target=0)]) == 0
    assert skipped(market) == ["ads: not a member"]


def test_member_below_the_gate_is_skipped_with_its_reason(market, node, campaign, communities, viewer):
    """AdMarket pays on `is_qualified_member`; a member who no longer meets its community's gate
    is told apart from a non-member (the second `is_member` call runs on the skip path only)."""
    communities.set_gate_met(CLUB_A, viewer.address, False)
    assert settle(market, node, [signed(market, viewer, campaign, node, 1, target=0)]) == 0
    assert skipped(market) == ["ads: community gate not met"]
    # the same receipt qualifies through the other target, whose gate the viewer meets
    assert settle(market, node, [signed(market, viewer, campaign, node, 1, target=1)]) == WAD
    communities.set_gate_met(CLUB_A, viewer.address, True)
    assert settle(market, node, [signed(market, viewer, campaign, node, 2, target=0)]) == WAD


def test_bad_target_index(market, node, campaign, viewer):
    assert settle(market, node, [signed(market, viewer, campaign, node, 1, target=2)]) == 0
    assert skipped(market) == ["ads: bad target"]


def test_community_share_goes_to_the_qualifying_community(market, node, campaign, viewer):
    settle(market, node, [signed(market, viewer, campaign, node, 5, target=1)])
    assert market.community_unclaimed(CLUB_B) == 5 * WAD * 2000 // 10_000
    assert market.community_unclaimed(CLUB_A) == 0


def test_community_payout_address_receives_the_share(market, node, campaign, viewer, community_owner):
    payout = str(boa.env.generate_address("club_a_treasury"))
    settle(market, node, [signed(market, viewer, campaign, node, 5)])
    with boa.env.prank(community_owner):
        market.set_community_payout(CLUB_A, payout)
    (event,) = events(market, "CommunityPayoutSet")
    assert (event.community_id, event.payout, event.moved) == (CLUB_A, payout, WAD)
    assert market.community_unclaimed(CLUB_A) == 0 and market.balances(payout) == WAD
    settle(market, node, [signed(market, viewer, campaign, node, 10)])
    assert market.balances(payout) == 2 * WAD


def test_untargeted_campaign_burns_the_community_share(market, node, funded, viewer):
    cid = create(market, funded, CampaignSpec(price=WAD))
    assert settle(market, node, [signed(market, viewer, cid, node, 10)]) == 10 * WAD
    assert market.balances(viewer.address) == 5 * WAD
    assert market.balances(node) == 2 * WAD
    assert market.burn_pending() == 3 * WAD


def test_split_rounding_dust_is_burned(market, node, funded, viewer):
    cid = create(market, funded, CampaignSpec(price=7, budget=WAD))
    settle(market, node, [signed(market, viewer, cid, node, 1)])
    # 7 wei: user 3, node 1, community (burned, untargeted) 1, burn 0 + 2 dust.
    assert market.balances(viewer.address) == 3 and market.balances(node) == 1
    assert market.burn_pending() == 3


def test_premium_tier_gate(market, node, funded, premium, viewer):
    cid = create(market, funded, CampaignSpec(min_tier=2))
    with boa.env.prank(viewer.address):
        premium.set_tier(viewer.address, 1)
    assert settle(market, node, [signed(market, viewer, cid, node, 1)]) == 0
    assert skipped(market) == ["ads: premium tier too low"]
    premium.set_tier(viewer.address, 2)
    assert settle(market, node, [signed(market, viewer, cid, node, 1)]) == WAD


def test_stake_gate(market, node, funded, registry, token, governance, viewer):
    cid = create(market, funded, CampaignSpec(min_stake=50 * WAD))
    assert settle(market, node, [signed(market, viewer, cid, node, 1, stake_node=node)]) == 0
    assert skipped(market) == ["ads: stake too low"]
    with boa.env.prank(governance):
        token.transfer(viewer.address, 50 * WAD)
    with boa.env.prank(viewer.address):
        token.approve(registry.address, 50 * WAD)
        registry.delegate(node, 50 * WAD)
    # The hint must name the node the user stakes with.
    other = str(boa.env.generate_address("nobody_node"))
    assert settle(market, node, [signed(market, viewer, cid, node, 1, stake_node=other)]) == 0
    assert skipped(market) == ["ads: stake too low"]
    assert settle(market, node, [signed(market, viewer, cid, node, 1, stake_node=node)]) == WAD


def test_contract_wallet_user(market, node, campaign, communities, community_owner):
    wallet = boa.load(str(Path(__file__).parents[2] / "utils" / "contracts" / "MockERC1271Wallet.vy"))
    with boa.env.prank(community_owner):
        communities.set_member(CLUB_A, wallet.address, True)
    sig = b"\x01" * 32 + b"\x02" * 32 + b"\x1b"

    def item(count):
        return SignedReceipt(Receipt(campaign, str(wallet.address), node, count), sig).settlement()

    assert settle(market, node, [item(4)]) == 0
    assert skipped(market) == ["ads: bad signature"]
    # The wallet approves the digest and accepts only exactly r || s || v.
    wallet.set_approved(market.receipt_digest(campaign, wallet.address, node, 4), True)
    wallet.set_required_signature(sig)
    assert settle(market, node, [item(4)]) == 4 * WAD
    assert market.balances(wallet.address) == 2 * WAD
    assert settle(market, node, [item(4)]) == 0
    assert skipped(market) == ["ads: replayed or lowered"]
    # A wallet that reverts is a bad signature, not a reverted batch.
    wallet.set_approved(market.receipt_digest(campaign, wallet.address, node, 6), True)
    wallet.set_broken(True)
    assert settle(market, node, [item(6), signed(market, named_signer("ads-eoa"), campaign, node, 1)]) == 0
    assert skipped(market) == ["ads: bad signature", "ads: not a member"]


def test_node_key_may_send_the_batch(market, node, node_key, campaign, viewer):
    assert settle(market, node, [signed(market, viewer, campaign, node, 1)], sender=node_key) == WAD
    assert market.balances(node) == WAD * 2000 // 10_000


def test_stranger_may_not_send_the_batch(market, node, campaign, viewer, non_admin):
    with boa.env.prank(non_admin), boa.reverts("ads: not the node or its key"):
        market.settle(node, [signed(market, viewer, campaign, node, 1)])


def test_unregistered_node_reverts(market, campaign, viewer, non_admin):
    with boa.env.prank(non_admin), boa.reverts("ads: not a NOTIFY node"):
        market.settle(non_admin, [signed(market, viewer, campaign, non_admin, 1)])


def test_relay_node_is_not_a_notify_node(market, token, registry, governance, campaign, viewer, params):
    relay = str(boa.env.generate_address("relay_only"))
    fund(token, registry, governance, relay, params.registry.min_self_stake_per_kind_wei)
    register_node(
        registry,
        relay,
        str(boa.env.generate_address("relay_only_key")),
        kinds=1,
        amount=params.registry.min_self_stake_per_kind_wei,
        tag="relayonly",
    )
    with boa.env.prank(relay), boa.reverts("ads: not a NOTIFY node"):
        market.settle(relay, [signed(market, viewer, campaign, relay, 1)])


def test_batch_of_one_hundred(market, node, funded):
    cid = create(market, funded, CampaignSpec(budget=1_000 * WAD))
    users = [named_signer(f"ads-batch-{i}") for i in range(100)]
    assert settle(market, node, [signed(market, u, cid, node, 2) for u in users]) == 200 * WAD
    (batch,) = events(market, "BatchSettled")
    assert (batch.receipts, batch.amount) == (100, 200 * WAD)
    assert skipped(market) == []
    assert all(market.settled(cid, u.address, node) == 2 for u in users)


def test_a_batch_mixing_campaigns_and_communities_charges_and_credits_each(
    market, node, funded, campaign, viewer, viewer2, community_owner
):
    """`settle` reads a campaign's words once per run of its receipts and stores its spend when
    the run ends, and adds a community's share up over a run of receipts it qualified: receipts
    of two campaigns and two communities interleaved (and one user twice) must still charge each
    campaign and credit each community exactly."""
    other = create(market, funded, replace(TARGETED, price=2 * WAD, targets=(CLUB_B, CLUB_A)))
    payout = str(boa.env.generate_address("club_b_treasury"))
    with boa.env.prank(community_owner):
        market.set_community_payout(CLUB_B, payout)
    batch = [
        signed(market, viewer, campaign, node, 3),  # CLUB_A, 3 WAD
        signed(market, viewer, other, node, 2),  # CLUB_B, 4 WAD
        signed(market, viewer2, campaign, node, 4),  # CLUB_A, 4 WAD
        signed(market, viewer, campaign, node, 5, target=1),  # CLUB_B, 2 more views: 2 WAD
        signed(market, viewer2, other, node, 1, target=1),  # CLUB_A, 2 WAD
        signed(market, viewer, campaign, node, 5),  # replayed inside the batch
    ]
    assert settle(market, node, batch) == 15 * WAD
    assert skipped(market) == ["ads: replayed or lowered"]
    assert market.campaign(campaign).spent == 9 * WAD
    assert market.campaign(other).spent == 6 * WAD
    assert market.settled(campaign, viewer.address, node) == 5
    assert market.settled_total(campaign, viewer.address) == 5
    assert market.settled(other, viewer2.address, node) == 1
    # 20 % to the qualifying community: CLUB_A held unclaimed, CLUB_B paid to its payout.
    assert market.community_unclaimed(CLUB_A) == 9 * WAD * 2000 // 10_000
    assert market.community_unclaimed(CLUB_B) == 0
    assert market.balances(payout) == 6 * WAD * 2000 // 10_000
    assert market.balances(viewer.address) == 9 * WAD // 2
    assert market.balances(viewer2.address) == 6 * WAD // 2
    assert market.balances(node) == 15 * WAD * 2000 // 10_000
    assert market.burn_pending() == 15 * WAD * 1000 // 10_000


def test_settled_views_of_a_campaign_never_created_are_zero(market, node, campaign, viewer):
    """The (campaign, user) word is keyed by `campaign << 160 | user`: an id at or above 2**96
    would land on a real campaign's word, so the views answer 0 for ids never created."""
    settle(market, node, [signed(market, viewer, campaign, node, 3)])
    assert market.settled(campaign, viewer.address, node) == 3
    alias = campaign + 2**96
    assert market.settled(alias, viewer.address, node) == 0
    assert market.settled_total(alias, viewer.address) == 0
    assert market.settled(market.campaign_count() + 1, viewer.address, node) == 0


def test_batch_of_one_hundred_and_one_is_refused(market, node, campaign, viewer):
    items = [signed(market, viewer, campaign, node, 1)] * 101
    with (
        boa.env.prank(node),
        pytest.raises(boa.BoaError),
    ):  # the ABI decoder bounds the array; it reverts without a reason
        market.settle(node, items)


def test_empty_batch(market, node):
    assert settle(market, node, []) == 0
    assert market.burn_pending() == 0


def test_digest_matches_the_package_and_eth_account(market, viewer, node):
    receipt = Receipt(3, viewer.address, node, 12)
    dom = domain(market)
    assert market.receipt_digest(3, viewer.address, node, 12) == receipt_digest(dom, receipt)
    theirs = Account.sign_typed_data(viewer.key, full_message=receipt_typed_data(dom, receipt))
    assert theirs.message_hash == receipt_digest(dom, receipt)
    assert dom.name == "AdMarket" and dom.version == "1"
