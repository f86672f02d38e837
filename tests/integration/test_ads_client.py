"""clubchat.ads and `club ads` on a real anvil: the package API advertisers, users and nodes use.

AdMarket is deployed by the plan's `deploy_ads` through the web3 backend, next to ClubToken and
NodeRegistry (tests/node/chain_env.py), with the test-only Communities and Premium stand-ins, and
recorded in the manifest the client and the CLI read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boa
import pytest
from click.testing import CliRunner
from eth_account import Account
from vyper.compiler.output import build_abi_output

from clubchat.ads import AdMarketClient, AdsError, CampaignSpec, Receipt, SignedReceipt, sign_receipt
from clubchat.chain import LocalSender
from clubchat.chain.manifest import ContractRecord
from clubchat.chain.tx import send_tx
from clubchat.cli import main
from clubchat.deploy.backend import EVM_VERSION
from clubchat.deploy.plan import deploy_ads
from clubchat.params import load
from clubchat.registry import NOTIFY, NodeRegistryClient, Registration
from tests.node.chain_env import WAD, Chain, chain

pytestmark = [pytest.mark.integration]

MOCKS = Path(__file__).resolve().parents[1] / "utils" / "contracts"
advertiser = Account.from_key("0x" + "a1" * 32)
operator = Account.from_key("0x" + "a2" * 32)
node_key = Account.from_key("0x" + "a3" * 32)
viewer = Account.from_key("0x" + "a4" * 32)
stranger = Account.from_key("0x" + "a5" * 32)
COMMUNITY = 7


def _deploy_mock(c: Chain, name: str) -> Any:
    compiled = boa.load_partial(str(MOCKS / f"{name}.vy"), compiler_args={"evm_version": EVM_VERSION})
    abi = build_abi_output(compiled.compiler_data)
    factory = c.w3.eth.contract(abi=abi, bytecode=compiled.compiler_data.bytecode)
    receipt = send_tx(c.w3, c.backend.account, factory.constructor())
    return c.w3.eth.contract(address=receipt["contractAddress"], abi=abi)


def _with_market(c: Chain) -> Any:
    """Deploy the stand-ins and AdMarket, add AdMarket to the saved manifest; returns Communities."""
    from clubchat.deploy.plan import Deployment

    dep = Deployment(treasury=c.backend.deployer, genesis_time=c.backend.timestamp())
    dep.contracts.update(ClubToken=c.token, NodeRegistry=c.registry)
    dep.contracts["Communities"] = _deploy_mock(c, "MockCommunities")
    dep.contracts["Premium"] = _deploy_mock(c, "MockPremium")
    deploy_ads(c.backend, load(), dep)
    record: ContractRecord = c.backend.records["AdMarket"]
    c.manifest.contracts["AdMarket"] = record
    c.manifest.save(c.manifest_path)
    return dep.contracts["Communities"]


def test_campaign_settlement_and_withdraw(tmp_path: Path) -> None:
    with chain(tmp_path) as c:
        communities = _with_market(c)
        for acct, club in (
            (advertiser, 10_000),
            (operator, 20_000),
            (node_key, 0),
            (viewer, 0),
            (stranger, 100),
        ):
            c.fund(acct.address, club)
        send_tx(c.w3, c.backend.account, communities.functions.set_member(COMMUNITY, viewer.address, True))
        NodeRegistryClient(c.w3, c.manifest, LocalSender(c.w3, operator)).register(
            Registration(kinds=NOTIFY, node_key=node_key.address, endpoints={NOTIFY: "https://n.example"}),
            10_000 * WAD,
            key=LocalSender(c.w3, node_key),
        )

        adv = AdMarketClient(c.w3, c.manifest, LocalSender(c.w3, advertiser))
        now = int(c.w3.eth.get_block("latest")["timestamp"])
        spec = CampaignSpec(
            1_000 * WAD, WAD, 10, now, now + 7 * 86_400, b"\x22" * 32, "ipfs://c", (COMMUNITY,)
        )
        with pytest.raises(AdsError, match="at least one notification"):
            adv.create_campaign(CampaignSpec(WAD - 1, WAD, 10, now, now + 86_400, b"\x22" * 32, ""))
        cid = adv.create_campaign(spec)
        status = adv.status(cid)
        assert (status.budget_wei, status.price_wei, status.targets) == (1_000 * WAD, WAD, (COMMUNITY,))
        assert status.state(now + 1) == "running"

        # The node's key settles the viewer's signed receipt for 4 notifications.
        nodes = AdMarketClient(c.w3, c.manifest, LocalSender(c.w3, node_key))
        receipt = Receipt(cid, viewer.address, operator.address, 4)
        sig = sign_receipt(viewer.key, nodes.domain(), receipt).packed()
        nodes.settle(operator.address, [SignedReceipt(receipt, sig)])
        assert adv.status(cid).spent_wei == 4 * WAD
        assert adv.earnings(viewer.address) == 2 * WAD

        user = AdMarketClient(c.w3, c.manifest, LocalSender(c.w3, viewer))
        assert user.withdraw() == 2 * WAD
        with pytest.raises(AdsError, match="nothing to withdraw"):
            user.withdraw()
        with pytest.raises(AdsError, match="belongs to"):
            user.pause(cid)
        with pytest.raises(AdsError, match="refund after that"):
            adv.refund(cid)

        # The node's receipt store and `club node settle`: the stored receipt for 9 pays 5 more
        # views, but only once its value reaches --min-value.
        from clubchat.ads.receipt_store import ReceiptStore

        store = ReceiptStore(tmp_path / "receipts.sqlite", nodes.domain())
        higher = Receipt(cid, viewer.address, operator.address, 9)
        assert store.add(SignedReceipt(higher, sign_receipt(viewer.key, nodes.domain(), higher).packed()))
        store.close()
        settle_args = [
            "node",
            "settle",
            "--store",
            str(tmp_path / "receipts.sqlite"),
            "--node",
            operator.address,
        ]
        settle_args += [
            "--rpc-url",
            c.anvil.url,
            "--network",
            str(c.manifest_path),
            "--key",
            "0x" + "a3" * 32,
        ]
        out = CliRunner().invoke(main, [*settle_args, "--min-value", "6"])
        assert out.exit_code == 0 and "sent 0 receipts" in out.output and "5.000000 CLUB waits" in out.output
        # Below its community's gate now: held back, not sent to be skipped (and not dropped).
        send_tx(c.w3, c.backend.account, communities.functions.set_gate_met(COMMUNITY, viewer.address, False))
        out = CliRunner().invoke(main, [*settle_args, "--min-value", "5"])
        assert out.exit_code == 0 and "sent 0 receipts" in out.output, out.output
        assert "1 receipts held back: their users do not qualify" in out.output, out.output
        send_tx(c.w3, c.backend.account, communities.functions.set_gate_met(COMMUNITY, viewer.address, True))
        # A Communities without the view (deployed before it) cannot say: the receipt goes to the chain.
        from clubchat.ads.receipt_store import _QUALIFIED_ABI, _qualified

        assert _qualified(
            c.w3.eth.contract(address=c.token.address, abi=_QUALIFIED_ABI), COMMUNITY, viewer.address
        )
        out = CliRunner().invoke(main, [*settle_args, "--min-value", "5"])
        assert out.exit_code == 0 and "sent 1 receipts in 1 batches, worth 5.000000" in out.output, out.output
        assert adv.status(cid).spent_wei == 9 * WAD
        out = CliRunner().invoke(main, settle_args)
        assert "dropped 1 settled" in out.output, out.output

        # The CLI reads the same manifest.
        runner = CliRunner()
        common = ["--rpc-url", c.anvil.url, "--network", str(c.manifest_path)]
        out = runner.invoke(main, ["ads", "campaign", "status", str(cid), *common])
        assert out.exit_code == 0, out.output
        assert "spent 9.000000" in out.output and "targets: 7" in out.output
        out = runner.invoke(main, ["ads", "earnings", operator.address, *common])
        assert out.exit_code == 0 and "1.8" in out.output, out.output
        key = ["--key", "0x" + "a1" * 32]
        out = runner.invoke(main, ["ads", "campaign", "cancel", str(cid), *common, *key])
        assert out.exit_code == 0 and "cancelled, settling" in out.output, out.output
        out = runner.invoke(main, ["ads", "campaign", "refund", str(cid), *common, *key])
        assert out.exit_code == 1 and "refund after that" in out.output, out.output

        # Paid message request: price, escrow, accept.
        user.set_request_price(5 * WAD)
        sender = AdMarketClient(c.w3, c.manifest, LocalSender(c.w3, stranger))
        with pytest.raises(AdsError, match="raise --max-price"):
            sender.send_request(viewer.address, WAD)
        assert sender.send_request(viewer.address, 5 * WAD) == 5 * WAD
        with pytest.raises(AdsError, match="reclaim after that"):
            sender.reclaim_request(viewer.address)
        user.accept_request(stranger.address)
        # 2.5 CLUB of the 5 settled views, plus the request minus its 10 % burn.
        assert user.earnings(viewer.address) == 5 * WAD // 2 + 5 * WAD - 5 * WAD // 10


def test_ape_run_ads(tmp_path: Path) -> None:
    """`ape run ads` on the same kind of chain: create with an ape test account, status, earnings, pause."""
    from tests.utils.ape_cli import ape_run

    with chain(tmp_path) as c:
        _with_market(c)
        ape_chain = (c.anvil, c.w3, tmp_path)
        creator = str(c.w3.eth.accounts[6])  # TEST::6
        c.fund(creator, 1_000)
        creative = tmp_path / "creative.json"
        creative.write_text('{"text": "hello"}')
        out = ape_run(
            ape_chain, "ads", "create", "--account", "TEST::6", "--budget", "100", "--price", "0.5",
            "--per-user-cap", "3", "--days", "2", "--creative-file", str(creative), "--creative-uri", "ipfs://c",
            "--target", "7",
        )  # fmt: skip
        assert "campaign 1 created: 100 CLUB escrowed" in out
        out = ape_run(ape_chain, "ads", "status", "1")
        assert "running" in out and "targets: 7" in out and creator in out
        out = ape_run(ape_chain, "ads", "pause", "1", "--account", "TEST::7", ok=False)
        assert f"campaign 1 belongs to {creator}" in out and "Traceback" not in out
        assert "campaign 1: pause sent" in ape_run(ape_chain, "ads", "pause", "1", "--account", "TEST::6")
        out = ape_run(ape_chain, "ads", "withdraw", "--account", "TEST::6", ok=False)
        assert "nothing to withdraw yet" in out
        assert f"{creator} can withdraw 0 CLUB" in ape_run(ape_chain, "ads", "earnings", creator)
