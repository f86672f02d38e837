"""Forged-receipt evidence (clubchat.ads.evidence) on a real anvil: a node's batch with a receipt its
user never signed is found, written as a document, named by its hash, and verified from the chain;
a tampered document, another skip reason and a wrong URI are refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from clubchat.ads import AdMarketClient, CampaignSpec, Receipt, SignedReceipt, sign_receipt
from clubchat.ads.evidence import evidence_json, evidence_uri, find_forged, verify
from clubchat.chain import LocalSender
from clubchat.chain.tx import send_tx
from clubchat.registry import NOTIFY, NodeRegistryClient, Registration
from tests.integration.test_ads_client import COMMUNITY, _with_market
from tests.node.chain_env import WAD, chain

pytestmark = [pytest.mark.integration]


def test_forged_receipts_become_verifiable_evidence(tmp_path: Path) -> None:
    advertiser, operator, node_key, viewer, mallory = (Account.create() for _ in range(5))
    with chain(tmp_path) as c:
        communities = _with_market(c)
        for acct, club in ((advertiser, 1_000), (operator, 20_000), (node_key, 0)):
            c.fund(acct.address, club)
        send_tx(c.w3, c.backend.account, communities.functions.set_member(COMMUNITY, viewer.address, True))
        NodeRegistryClient(c.w3, c.manifest, LocalSender(c.w3, operator)).register(
            Registration(kinds=NOTIFY, node_key=node_key.address, endpoints={NOTIFY: "https://n.example"}),
            10_000 * WAD,
            key=LocalSender(c.w3, node_key),
        )
        now = int(c.w3.eth.get_block("latest")["timestamp"])
        cid = AdMarketClient(c.w3, c.manifest, LocalSender(c.w3, advertiser)).create_campaign(
            CampaignSpec(100 * WAD, WAD, 10, now, now + 86_400, b"\x22" * 32, "ipfs://c", (COMMUNITY,))
        )
        node = AdMarketClient(c.w3, c.manifest, LocalSender(c.w3, node_key))
        dom = node.domain()
        forged = Receipt(cid, viewer.address, operator.address, 7)  # signed by mallory, not the viewer
        over = Receipt(cid, viewer.address, operator.address, 11)  # over the cap: skipped, not forged
        honest = Receipt(cid, viewer.address, operator.address, 2)
        batch = [
            SignedReceipt(forged, sign_receipt(mallory.key, dom, forged).packed()),
            SignedReceipt(over, sign_receipt(viewer.key, dom, over).packed()),
            SignedReceipt(honest, sign_receipt(viewer.key, dom, honest).packed()),
        ]
        node.settle(operator.address, batch)
        market = node.market
        (found,) = find_forged(market, operator.address, c.manifest.block)
        assert (found.campaign, found.user, found.count) == (cid, viewer.address, 7)
        doc = evidence_json(int(c.w3.eth.chain_id), market.address, operator.address, [found])
        uri = evidence_uri(doc)
        assert len(uri) <= 256 and uri.startswith("keccak256:0x")
        assert verify(c.w3, market, doc, uri) == [found]

        with pytest.raises(ValueError, match="does not hash"):
            verify(c.w3, market, doc, "keccak256:0x" + "00" * 32)
        tampered = json.loads(doc)
        tampered["receipts"][0]["count"] = 8
        with pytest.raises(ValueError, match="says otherwise"):
            verify(c.w3, market, json.dumps(tampered))
        over_cap = json.loads(doc)
        over_cap["receipts"][0].update(logIndex=found.log_index + 1, count=11)
        with pytest.raises(ValueError, match="skipped for 'ads: over the per-user cap'"):
            verify(c.w3, market, json.dumps(over_cap))
        assert find_forged(market, mallory.address, c.manifest.block) == []

        # A contract wallet that no longer approves its receipt: skipped as a bad signature, but
        # its answer may have changed since it signed, so it is neither found nor verified.
        wallet = _wallet(c)
        send_tx(c.w3, c.backend.account, communities.functions.set_member(COMMUNITY, wallet, True))
        revoked = Receipt(cid, wallet, operator.address, 1)
        tx = node.settle(operator.address, [SignedReceipt(revoked, b"\x01" * 65)])
        (skip,) = market.events.ReceiptSkipped().process_receipt(c.w3.eth.get_transaction_receipt(tx))
        assert skip["args"]["reason"] == "ads: bad signature" and skip["args"]["user"] == wallet
        assert find_forged(market, operator.address, c.manifest.block) == [found]
        claimed = json.loads(doc)
        claimed["receipts"] = [dict(tx=tx, logIndex=skip["logIndex"], campaign=cid, user=wallet, count=1)]
        with pytest.raises(ValueError, match="contract wallet"):
            verify(c.w3, market, json.dumps(claimed))


def _wallet(c: Any) -> str:
    import boa
    from vyper.compiler.output import build_abi_output

    from clubchat.deploy.backend import EVM_VERSION

    source = Path(__file__).resolve().parents[1] / "utils" / "contracts" / "MockERC1271Wallet.vy"
    compiled = boa.load_partial(str(source), compiler_args={"evm_version": EVM_VERSION})
    factory = c.w3.eth.contract(
        abi=build_abi_output(compiled.compiler_data), bytecode=compiled.compiler_data.bytecode
    )
    return str(send_tx(c.w3, c.backend.account, factory.constructor())["contractAddress"])
