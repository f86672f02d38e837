"""A reviewer's decision on a flag for settling forged ad receipts (Disputes reason 7), on anvil with
AdMarket and Disputes: the node software reads the flagged node's settled batches from AdMarket's
logs and votes kick iff `clubchat.ads.evidence.find_forged` finds a receipt its user never signed.
A node whose batches were only skipped for other reasons (over the cap) is kept."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from eth_account import Account

from clubchat.ads import AdMarketClient, CampaignSpec, Receipt, SignedReceipt, sign_receipt
from clubchat.chain.tx import LocalSender, send_tx
from clubchat.disputes.client import FORGED_AD_RECEIPTS, REASONS, DisputesClient
from clubchat.disputes.probe import audit_ad_receipts
from clubchat.node.reviewer import Reviewer
from clubchat.registry import NOTIFY, NodeRegistryClient, Registration
from tests.integration.test_ads_client import COMMUNITY, _with_market
from tests.node.chain_env import WAD, chain

pytestmark = [pytest.mark.integration]


def test_reason_seven_is_forged_ad_receipts() -> None:
    assert FORGED_AD_RECEIPTS == REASONS["forged-ad-receipts"] == 7


def test_no_market_means_nothing_to_forge() -> None:
    report = audit_ad_receipts(None, "0x" + "11" * 20, 0, 10)
    assert report.kick is False and "no AdMarket" in report.checks[0].detail


def test_reviewer_kicks_a_forger_and_keeps_an_honest_node(tmp_path: Path) -> None:
    advertiser, viewer, mallory, flagger, reviewer_op, reviewer_key = (Account.create() for _ in range(6))
    forger, forger_key, honest, honest_key = (Account.create() for _ in range(4))
    with chain(tmp_path) as c:
        communities = _with_market(c)
        c.with_disputes()
        for acct, club in ((advertiser, 1_000), (forger, 20_000), (honest, 20_000), (flagger, 10_000)):
            c.fund(acct.address, club)
        for acct in (forger_key, honest_key, reviewer_key):
            c.fund(acct.address, 0)
        send_tx(c.w3, c.backend.account, communities.functions.set_member(COMMUNITY, viewer.address, True))
        for op, key in ((forger, forger_key), (honest, honest_key)):
            NodeRegistryClient(c.w3, c.manifest, LocalSender(c.w3, op)).register(
                Registration(kinds=NOTIFY, node_key=key.address, endpoints={NOTIFY: "https://n.example"}),
                10_000 * WAD,
                key=LocalSender(c.w3, key),
            )
        now = int(c.w3.eth.get_block("latest")["timestamp"])
        cid = AdMarketClient(c.w3, c.manifest, LocalSender(c.w3, advertiser)).create_campaign(
            CampaignSpec(100 * WAD, WAD, 10, now, now + 86_400, b"\x22" * 32, "ipfs://c", (COMMUNITY,))
        )
        # The forger settles a receipt signed by mallory in the viewer's name; the honest node one
        # over the per-user cap (skipped, but signed by its user) and an honest one.
        for op, key, receipts in (
            (forger, forger_key, [(Receipt(cid, viewer.address, forger.address, 7), mallory)]),
            (
                honest,
                honest_key,
                [
                    (Receipt(cid, viewer.address, honest.address, 11), viewer),
                    (Receipt(cid, viewer.address, honest.address, 2), viewer),
                ],
            ),
        ):
            node = AdMarketClient(c.w3, c.manifest, LocalSender(c.w3, key))
            dom = node.domain()
            node.settle(
                op.address, [SignedReceipt(r, sign_receipt(s.key, dom, r).packed()) for r, s in receipts]
            )

        flags = DisputesClient(c.w3, c.manifest, LocalSender(c.w3, flagger), tmp_path / "votes")
        reviewer = Reviewer(c.w3, c.manifest, reviewer_op.address, reviewer_key, tmp_path / "reviewer")
        seen = {}
        for op in (forger, honest):
            dispute_id, _ = flags.flag(op.address, FORGED_AD_RECEIPTS, "keccak256:0x" + "ab" * 32)
            d = flags.status(dispute_id)
            assert d.reason == 7
            seen[op.address] = asyncio.run(reviewer.review(d))

        kicked = seen[forger.address]
        assert kicked.kick is True and [ch.name for ch in kicked.checks] == ["ads"]
        assert "1 settled receipt(s) not signed by their user" in kicked.checks[0].detail
        assert f"campaign {cid}, user {viewer.address}, 7 views" in kicked.checks[0].detail
        kept = seen[honest.address]
        assert kept.kick is False and kept.checks[0].ok
        assert "no forged receipt" in kept.checks[0].detail
