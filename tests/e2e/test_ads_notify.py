"""Ad notifications end to end: a real NOTIFY node process on a private anvil delivers a campaign.

The real Communities, Premium and AdMarket are deployed by the plan's web3 backend. The advertiser
escrows a campaign for one community with a `data:` creative; four users sign in to the node: an
opted-in member online (gets it at once), an opted-in member offline (gets it at its next sign-in),
an opted-out member and a non-member who opted in with `club ads opt-in` (get nothing). Both
members sign receipts; the node is killed with SIGKILL and restarted (the receipts and the delivery
queue survive, a receipted notification is not handed out again), and `club node settle` pays both
receipts in one batch: the split lands in the users', the node's and the burn's balances. A
member who set a request price gets a stranger's first message only once its escrow is on chain.
"""

from __future__ import annotations

import asyncio
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from clubchat.ads import AdMarketClient, CampaignSpec, Receipt, SignedReceipt, sign_receipt
from clubchat.ads.notifications import AdInbox
from clubchat.chain import LocalSender
from clubchat.chain.eip712 import Domain
from clubchat.cli import main
from clubchat.client.relay_client import RelayClient, RelayError
from clubchat.communities.client import OPEN, CommunitiesClient
from clubchat.deploy.plan import Deployment, deploy_ads, deploy_communities
from clubchat.node.localnet import free_port_range
from clubchat.node.process import NodeProcess
from clubchat.params import load
from clubchat.protocol import messages as m
from clubchat.registry import NOTIFY, RELAY, NodeRegistryClient, Registration
from tests.node.chain_env import WAD, Chain, chain

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

TEXT = "Club Chat Pro: calls without limits, 20 % off this week"
CREATIVE_URI = "data:text/plain;charset=utf-8," + urllib.parse.quote(TEXT)


def with_ads(c: Chain) -> None:
    """Deploy Premium, Communities and AdMarket next to the chain's token and registry."""
    dep = Deployment(treasury=c.backend.deployer, genesis_time=c.backend.timestamp())
    dep.contracts.update(ClubToken=c.token, NodeRegistry=c.registry)
    params = load()
    deploy_communities(c.backend, params, dep)
    deploy_ads(c.backend, params, dep)
    for name in ("Premium", "Communities", "AdMarket"):
        c.manifest.contracts[name] = c.backend.records[name]
    c.manifest.save(c.manifest_path)


@pytest.fixture(scope="module")
def c(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    with chain(tmp_path_factory.mktemp("ads-notify")) as deployed:
        with_ads(deployed)
        yield deployed


def wait_for(cond: Any, timeout: float = 30.0) -> None:
    for _ in range(int(timeout * 10)):
        if cond():
            return
        threading.Event().wait(0.1)
    raise AssertionError("condition not met in time")


def test_notify_node_delivers_queues_and_settles(c: Chain, tmp_path: Path) -> None:
    advertiser, owner, operator, node_key = (Account.create() for _ in range(4))
    alice, bob, carol, dave = (Account.create() for _ in range(4))  # online, offline, opted out, non-member
    per_kind = c.registry.functions.min_self_stake_per_kind().call() // WAD
    for acct, club in ((advertiser, 1_000), (owner, 1_000), (operator, 3 * per_kind), (node_key, 0)):
        c.fund(acct.address, club)
    for user in (alice, bob, carol, dave):
        c.fund(user.address, 0)

    # A community with three members; dave stays outside.
    cid = CommunitiesClient(c.w3, c.manifest, LocalSender(c.w3, owner)).create(owner.address, OPEN)
    for user in (alice, bob, carol):
        CommunitiesClient(c.w3, c.manifest, LocalSender(c.w3, user)).join(cid)

    port = free_port_range(1)
    uri = f"ws://127.0.0.1:{port}"
    NodeRegistryClient(c.w3, c.manifest, LocalSender(c.w3, operator)).register(
        Registration(
            kinds=RELAY | NOTIFY,
            node_key=node_key.address,
            endpoints={RELAY: uri, NOTIFY: f"http://127.0.0.1:{port}"},
        ),
        2 * per_kind * WAD,
        key=LocalSender(c.w3, node_key),
    )
    data_dir = tmp_path / "notify"
    node_args = (
        "--kinds", "relay,notify", "--port", str(port), "--rpc", c.anvil.url, "--manifest",
        str(c.manifest_path), "--operator", operator.address, "--node-key", "0x" + bytes(node_key.key).hex(),
        "--confirmations", "0",
    )  # fmt: skip
    market = AdMarketClient(c.w3, c.manifest)
    domain = market.domain()
    node = NodeProcess(data_dir, *node_args, timeout=90)
    try:
        assert node.ready["ads"]["node"] == operator.address
        # dave opts in with the CLI, which finds the NOTIFY node in the registry
        chain_args = ["--rpc-url", c.anvil.url, "--network", str(c.manifest_path)]
        wait_for(lambda: c.registry.functions.sample(NOTIFY, b"\0" * 32, 1).call() == [operator.address])
        out = CliRunner().invoke(main, ["ads", "opt-in", *chain_args, "--key", "0x" + bytes(dave.key).hex()])
        assert out.exit_code == 0 and f"{uri}: ok" in out.output, out.output
        out = CliRunner().invoke(
            main, ["ads", "opt-out", "--node", "ws://127.0.0.1:1", *chain_args, "--key", "0x" + "77" * 32]
        )
        assert out.exit_code == 1 and "not reached" in out.output and "no NOTIFY node took" in out.output
        inboxes = asyncio.run(_before_and_during(uri, domain, advertiser, cid, c, alice, bob, carol, dave))
        campaign = inboxes["campaign"]
        # paid message requests: bob asks 3 CLUB of strangers; dave pays, then gets through
        AdMarketClient(c.w3, c.manifest, LocalSender(c.w3, bob)).set_request_price(3 * WAD)
        c.fund(dave.address, 10)
        asyncio.run(_paid_request(uri, c, bob, dave))
        # kill -9: what the node acknowledged survives
        node.kill()
        node = NodeProcess(data_dir, *node_args, timeout=90)
        wait_for(lambda: node.status().get("ads", {}).get("chain", {}).get("campaigns") == 1)
        again = asyncio.run(_sign_in_again(uri, domain, alice))
        assert again == [], "a receipted notification is never handed out again"
    finally:
        node.kill()

    # The node's key settles both stored receipts in one batch.
    out = CliRunner().invoke(
        main,
        [
            "node", "settle", "--store", str(data_dir / "receipts.sqlite"), "--node", operator.address,
            "--rpc-url", c.anvil.url, "--network", str(c.manifest_path),
            "--key", "0x" + bytes(node_key.key).hex(),
        ],
    )  # fmt: skip
    assert out.exit_code == 0 and "sent 2 receipts in 1 batches, worth 4.000000 CLUB" in out.output, (
        out.output
    )
    status = market.status(campaign)
    assert status.spent_wei == 4 * WAD  # 2 receipts x 1 view x 2 CLUB
    split = load().ads.split_bps
    assert market.earnings(alice.address) == 2 * WAD * split[0] // 10_000
    assert market.earnings(bob.address) == 2 * WAD * split[0] // 10_000
    assert market.earnings(carol.address) == 0 and market.earnings(dave.address) == 0
    assert market.earnings(operator.address) == 4 * WAD * split[1] // 10_000
    assert int(market.market.functions.burn_pending().call()) >= 4 * WAD * split[3] // 10_000


async def _connect(
    uri: str, user: LocalAccount, domain: Domain, enabled: bool = False
) -> tuple[RelayClient, AdInbox]:
    client = await RelayClient.connect(uri, user)
    return client, AdInbox.attach(client, bytes(user.key), domain, enabled)


async def _before_and_during(
    uri: str, domain: Domain, advertiser: LocalAccount, cid: int, c: Chain, *users: LocalAccount
) -> dict[str, Any]:
    alice, bob, carol, dave = users
    conns = {u.address: await _connect(uri, u, domain) for u in users}
    for u in (alice, bob):
        answer = await conns[u.address][1].set_preference(True)
        assert answer.enabled
    conns[dave.address][1].enabled = True  # opted in with `club ads opt-in` before
    inbox_c = conns[carol.address][1]
    await inbox_c.set_preference(True, issued=1_000)
    assert not (await inbox_c.set_preference(False, issued=2_000)).enabled
    with pytest.raises(RelayError, match="newer preference"):  # an old opt-in cannot be replayed
        await inbox_c.set_preference(True, issued=1_500)
    # an opt-in signed for someone else is refused
    await conns[dave.address][0]._send(
        m.encode(m.AdPreference(user=alice.address, enabled=False, issued=3_000, signature="0x" + "11" * 65))
    )
    inbox_d = conns[dave.address][1]
    await inbox_d.wait(lambda: any(e.code == "bad-ad-preference" for e in inbox_d.errors))
    await conns[bob.address][0].close()  # bob goes offline before the campaign starts

    now = int(c.w3.eth.get_block("latest")["timestamp"])
    adv = AdMarketClient(c.w3, c.manifest, LocalSender(c.w3, advertiser))
    campaign = adv.create_campaign(
        CampaignSpec(
            100 * WAD, 2 * WAD, 3, now, now + 7 * 86_400, keccak(TEXT.encode()), CREATIVE_URI, (cid,)
        )
    )
    inbox_a = conns[alice.address][1]
    await inbox_a.wait(lambda: inbox_a.confirmed.get(campaign) == 1, timeout=30)
    (note,) = inbox_a.shown
    assert (note.campaign, note.count, note.text) == (campaign, 1, TEXT)
    # bob signs in again: the queued notification arrives, bob receipts it
    client_b, inbox_b = await _connect(uri, bob, domain, enabled=True)  # the node holds bob's opt-in
    await inbox_b.wait(lambda: inbox_b.confirmed.get(campaign) == 1, timeout=30)
    assert [n.text for n in inbox_b.shown] == [TEXT]
    # a receipt for more than was delivered is refused
    await client_b._send(
        m.encode(m.AdReceipt(campaign=campaign, node=note.node, count=2, signature="0x" + "22" * 65))
    )
    await inbox_b.wait(lambda: any(e.code == "bad-receipt" for e in inbox_b.errors))
    await asyncio.sleep(2.5)  # another delivery pass: nothing more for anyone
    assert inbox_c.shown == [] and inbox_c.rejected == []  # opted out: nothing delivered
    assert inbox_d.shown == []  # not a member of the target community
    assert len(inbox_a.shown) == 1
    for client, _ in (*conns.values(), (client_b, inbox_b)):
        await client.close()
    return {"campaign": campaign}


async def _sign_in_again(uri: str, domain: Domain, user: LocalAccount) -> list[m.Notification]:
    client, inbox = await _connect(uri, user, domain, enabled=True)
    await asyncio.sleep(1.0)
    await client.close()
    return inbox.shown


async def _paid_request(uri: str, c: Chain, bob: LocalAccount, dave: LocalAccount) -> None:
    sender = await RelayClient.connect(uri, dave)
    try:
        for _ in range(50):  # until the node's view has the price
            try:
                await sender.send(bob.address, m.Text(body="hello stranger"))
            except RelayError as exc:
                assert exc.code == "payment-required" and "3 CLUB" in exc.reason
                break
            await asyncio.sleep(0.2)
        else:
            raise AssertionError("the node never refused the unpaid first message")
        AdMarketClient(c.w3, c.manifest, LocalSender(c.w3, dave)).send_request(bob.address, 3 * WAD)
        for _ in range(50):  # until the node's view has the escrow
            try:
                sent = await sender.send(bob.address, m.Text(body="paid hello"))
                break
            except RelayError as exc:
                assert exc.code == "payment-required"
                await asyncio.sleep(0.2)
        else:
            raise AssertionError("the paid first message was never taken")
        assert sent.status == "stored"  # bob is offline: the NOTIFY node's mailbox keeps it
    finally:
        await sender.close()


WALLET_SOURCE = Path(__file__).resolve().parents[1] / "utils" / "contracts" / "MockOwnedWallet.vy"


class WalletUser:
    """A user whose address is a contract wallet (MockOwnedWallet) and whose owner key signs for it:
    what `RelayClient.connect` and `AdInbox` need of an account."""

    def __init__(self, wallet: str, owner: LocalAccount) -> None:
        self.address, self.key, self.sign_message = wallet, owner.key, owner.sign_message


def _deploy_wallet(c: Chain, owner: LocalAccount) -> Any:
    import boa
    from vyper.compiler.output import build_abi_output

    from clubchat.chain.tx import send_tx
    from clubchat.deploy.backend import EVM_VERSION

    compiled = boa.load_partial(str(WALLET_SOURCE), compiler_args={"evm_version": EVM_VERSION})
    factory = c.w3.eth.contract(
        abi=build_abi_output(compiled.compiler_data), bytecode=compiled.compiler_data.bytecode
    )
    receipt = send_tx(c.w3, c.backend.account, factory.constructor(owner.address))
    return c.w3.eth.contract(address=receipt["contractAddress"], abi=factory.abi)


def test_contract_wallets_and_gated_campaigns_on_chain(c: Chain, tmp_path: Path) -> None:
    """A contract-wallet user (EIP-1271) signs in, opts in and receipts through a NOTIFY node that
    asks its wallet on chain, and settlement pays it; campaigns that require a Premium tier or a
    stake reach only the members who meet them (the node checks before delivery), and every
    receipt the node holds settles: none is skipped."""
    from clubchat.ads.receipt_store import ReceiptStore, settle_pending
    from clubchat.chain.tx import send_tx
    from clubchat.node.eip1271 import Eip1271Verifier
    from clubchat.node.notify import NotifyConfig, NotifyService
    from clubchat.node.notify_chain import AdMarketView
    from clubchat.node.notify_store import NotifyStore
    from clubchat.premium.client import PremiumClient
    from tests.node.harness import relay

    advertiser, owner, operator, node_key, walt, pat, sam, low = (Account.create() for _ in range(8))
    per_kind = c.registry.functions.min_self_stake_per_kind().call() // WAD
    for acct, club in (
        (advertiser, 1_000),
        (owner, 1_000),
        (operator, 3 * per_kind),
        (pat, 1_000),
        (sam, 100),
    ):
        c.fund(acct.address, club)
    for acct in (node_key, walt, low):
        c.fund(acct.address, 0)
    NodeRegistryClient(c.w3, c.manifest, LocalSender(c.w3, operator)).register(
        Registration(kinds=NOTIFY, node_key=node_key.address, endpoints={NOTIFY: "http://127.0.0.1:9"}),
        2 * per_kind * WAD,
        key=LocalSender(c.w3, node_key),
    )
    wallet = _deploy_wallet(c, walt)
    cid = CommunitiesClient(c.w3, c.manifest, LocalSender(c.w3, owner)).create(owner.address, OPEN)
    for user in (pat, sam, low):
        CommunitiesClient(c.w3, c.manifest, LocalSender(c.w3, user)).join(cid)
    communities = c.manifest.contract(c.w3, "Communities")
    join = communities.functions.join(cid)._encode_transaction_data()
    send_tx(c.w3, walt, wallet.functions.execute(communities.address, join))
    assert communities.functions.is_member(cid, wallet.address).call()
    PremiumClient(c.w3, c.manifest, LocalSender(c.w3, pat)).subscribe(1, 1)
    NodeRegistryClient(c.w3, c.manifest, LocalSender(c.w3, sam)).delegate(operator.address, 10 * WAD)

    market = AdMarketClient(c.w3, c.manifest)
    adv = AdMarketClient(c.w3, c.manifest, LocalSender(c.w3, advertiser))
    now = int(c.w3.eth.get_block("latest")["timestamp"])
    spec = dict(per_user_cap=1, start=now, end=now + 86_400, creative_hash=keccak(TEXT.encode()))
    plain = adv.create_campaign(
        CampaignSpec(10 * WAD, WAD, creative_uri=CREATIVE_URI, targets=(cid,), **spec)
    )  # type: ignore[arg-type]
    tiered = adv.create_campaign(
        CampaignSpec(10 * WAD, WAD, creative_uri=CREATIVE_URI, targets=(cid,), min_tier=1, **spec)  # type: ignore[arg-type]
    )
    staked = adv.create_campaign(
        CampaignSpec(10 * WAD, WAD, creative_uri=CREATIVE_URI, targets=(cid,), min_stake_wei=5 * WAD, **spec)  # type: ignore[arg-type]
    )

    contract = c.manifest.contract
    view = AdMarketView(
        c.w3, contract(c.w3, "AdMarket"), communities, c.manifest.block,
        premium=contract(c.w3, "Premium"), registry=contract(c.w3, "NodeRegistry"),
    )  # fmt: skip
    domain = market.domain()
    store = NotifyStore(tmp_path, domain)
    service = NotifyService(NotifyConfig(node=operator.address, poll=0.2), store, view, domain)
    verifier = Eip1271Verifier(c.w3)

    async def scenario() -> dict[str, AdInbox]:
        async with relay(verifier=verifier) as server:
            await service.start(server)
            try:
                users = {"wallet": WalletUser(wallet.address, walt), "pat": pat, "sam": sam, "low": low}
                conns = {}
                for name, user in users.items():
                    client = await RelayClient.connect(server.uri, user)  # type: ignore[arg-type]
                    conns[name] = (client, AdInbox.attach(client, bytes(user.key), domain))
                    await conns[name][1].set_preference(True)  # the wallet's: checked with EIP-1271
                want = {"wallet": {plain: 1}, "pat": {plain: 1, tiered: 1}, "sam": {plain: 1, staked: 1}}
                want["low"] = {plain: 1}
                for name, inbox in ((n, i) for n, (_, i) in conns.items()):
                    await inbox.wait(lambda i=inbox, w=want[name]: i.confirmed == w, timeout=30)  # type: ignore[misc]
                await asyncio.sleep(1.0)  # more delivery passes
                for name, (client, inbox) in conns.items():
                    assert inbox.confirmed == want[name] and not inbox.errors, (name, inbox.errors)
                    await client.close()
                await _wallet_opts_out_with_the_cli(server.uri)
                return {name: inbox for name, (_, inbox) in conns.items()}
            finally:
                await service.stop()
                verifier.close()

    async def _wallet_opts_out_with_the_cli(uri: str) -> None:
        """`club ads opt-out --wallet`: the owner's key signs in and signs the setting in the wallet's
        name; the node checks both with EIP-1271. Not a contract, or not the owner's key: refused."""
        chain_args = ["--rpc-url", c.anvil.url, "--network", str(c.manifest_path), "--node", uri]

        def club(*args: str) -> Any:
            return CliRunner().invoke(main, ["ads", "opt-out", *chain_args, *args])

        out = await asyncio.to_thread(club, "--wallet", low.address, "--key", "0x" + bytes(walt.key).hex())
        assert out.exit_code == 2 and "has no code: not a contract wallet" in out.output, out.output
        out = await asyncio.to_thread(club, "--wallet", wallet.address, "--key", "0x" + bytes(pat.key).hex())
        assert out.exit_code == 1 and "no NOTIFY node took the setting" in out.output, out.output
        assert store.preference(wallet.address)[0] is True  # type: ignore[index]
        out = await asyncio.to_thread(club, "--wallet", wallet.address, "--key", "0x" + bytes(walt.key).hex())
        assert out.exit_code == 0 and f"{uri}: ok" in out.output, out.output
        assert store.preference(wallet.address)[0] is False  # type: ignore[index]

    asyncio.run(scenario())
    # sign-in aside: the preference and the receipt, then the CLI's opt-out
    assert service.stats["eip1271-accepted"] == 3
    assert service.stats["gated"] >= 2  # low was never sent the tiered or the staked campaign
    receipts = ReceiptStore(tmp_path / "receipts.sqlite", domain)
    held = {(s.receipt.user, s.receipt.campaign): s for s in receipts.receipts(operator.address)}
    assert set(held) == {
        (wallet.address, plain), (pat.address, plain), (pat.address, tiered),
        (sam.address, plain), (sam.address, staked), (low.address, plain),
    }  # fmt: skip
    assert held[(sam.address, staked)].stake_node == operator.address
    result = settle_pending(
        receipts, AdMarketClient(c.w3, c.manifest, LocalSender(c.w3, node_key)), operator.address, 0
    )
    assert result.receipts == 6 and len(result.batches) == 1
    tx = c.w3.eth.get_transaction_receipt(result.batches[0])
    skipped = market.market.events.ReceiptSkipped().process_receipt(tx)
    assert skipped == ()  # every receipt the node held settles
    # Two receipts no delivery produced (the node refuses them from users; here they are written to
    # the store directly): low over the staked campaign's cap, for good; low short of the tier, which
    # low may still buy within the settlement window.
    over_cap = Receipt(staked, low.address, operator.address, 2)
    short = Receipt(tiered, low.address, operator.address, 1)
    for r in (over_cap, short):
        assert receipts.add(SignedReceipt(r, sign_receipt(low.key, domain, r).packed()))
    again = settle_pending(
        receipts, AdMarketClient(c.w3, c.manifest, LocalSender(c.w3, node_key)), operator.address, 0
    )
    assert (again.receipts, again.skipped, again.forgotten) == (2, 2, 6)  # the six settled are dropped
    tx = c.w3.eth.get_transaction_receipt(again.batches[0])
    reasons = sorted(e["args"]["reason"] for e in market.market.events.ReceiptSkipped().process_receipt(tx))
    assert reasons == ["ads: over the per-user cap", "ads: premium tier too low"]
    kept = [(s.receipt.campaign, s.receipt.user) for s in receipts.receipts(operator.address)]
    assert kept == [(tiered, low.address)]  # over the cap: dropped for good; the tier: may come later
    split = load().ads.split_bps
    user_share = WAD * split[0] // 10_000
    assert market.earnings(wallet.address) == user_share
    assert market.earnings(pat.address) == market.earnings(sam.address) == 2 * user_share
    assert market.earnings(low.address) == user_share
    for cid_ in (plain, tiered, staked):
        assert market.market.functions.settled(cid_, low.address, operator.address).call() == (cid_ == plain)
    receipts.close()


def test_a_member_below_the_community_gate_is_sent_nothing(c: Chain, tmp_path: Path) -> None:
    """A TOKEN_GATE community (a CLUB balance gate): two members joined holding the gate's balance,
    then one sold it. Settlement pays only members who meet the gate now
    (`Communities.is_qualified_member`), so the NOTIFY node asks the same view (an eth_call, cached
    for the gate cache's TTL) before it sends anything: the holder is sent the campaign and
    receipts it, the seller is sent nothing and signs nothing while below the gate, and is sent
    the campaign once it holds the balance again (after the TTL). Every receipt the node holds
    settles. (Without the node's check the seller is sent the campaign at once and signs a receipt
    that settlement holds back.)"""
    from clubchat.ads.receipt_store import ReceiptStore, settle_pending
    from clubchat.chain.tx import send_tx
    from clubchat.communities.client import TOKEN_GATE, TokenGate
    from clubchat.node.notify import NotifyConfig, NotifyService
    from clubchat.node.notify_chain import AdMarketView, GateCache
    from clubchat.node.notify_store import NotifyStore
    from tests.node.harness import relay

    advertiser, owner, operator, node_key, holder, seller, buyer = (Account.create() for _ in range(7))
    per_kind = c.registry.functions.min_self_stake_per_kind().call() // WAD
    for acct, club in (
        (advertiser, 1_000),
        (owner, 1_000),
        (operator, 3 * per_kind),
        (holder, 100),
        (seller, 100),
    ):
        c.fund(acct.address, club)
    for acct in (node_key, buyer):
        c.fund(acct.address, 0)
    NodeRegistryClient(c.w3, c.manifest, LocalSender(c.w3, operator)).register(
        Registration(kinds=NOTIFY, node_key=node_key.address, endpoints={NOTIFY: "http://127.0.0.1:9"}),
        2 * per_kind * WAD,
        key=LocalSender(c.w3, node_key),
    )
    staff = CommunitiesClient(c.w3, c.manifest, LocalSender(c.w3, owner))
    cid = staff.create(owner.address, TOKEN_GATE)
    staff.set_token_gate(cid, TokenGate(100 * WAD, "0x" + "00" * 20, 0, 0))
    for user in (holder, seller):
        CommunitiesClient(c.w3, c.manifest, LocalSender(c.w3, user)).join(cid)
    send_tx(c.w3, seller, c.token.functions.transfer(buyer.address, 100 * WAD))  # sold below the gate
    communities = c.manifest.contract(c.w3, "Communities")
    assert communities.functions.is_member(cid, seller.address).call()
    assert not communities.functions.is_qualified_member(cid, seller.address).call()

    market = AdMarketClient(c.w3, c.manifest)
    now = int(c.w3.eth.get_block("latest")["timestamp"])
    camp = AdMarketClient(c.w3, c.manifest, LocalSender(c.w3, advertiser)).create_campaign(
        CampaignSpec(
            10 * WAD, WAD, per_user_cap=1, start=now, end=now + 86_400,
            creative_hash=keccak(TEXT.encode()), creative_uri=CREATIVE_URI, targets=(cid,),
        )  # type: ignore[arg-type]
    )  # fmt: skip
    ttl = 1.0
    view = AdMarketView(
        c.w3, c.manifest.contract(c.w3, "AdMarket"), communities, c.manifest.block, gates=GateCache(ttl=ttl)
    )
    domain = market.domain()
    store = NotifyStore(tmp_path, domain)
    service = NotifyService(NotifyConfig(node=operator.address, poll=0.2), store, view, domain)

    async def scenario() -> None:
        async with relay() as server:
            await service.start(server)
            try:
                inboxes = {}
                for user in (holder, seller):
                    client = await RelayClient.connect(server.uri, user)
                    inboxes[user.address] = (client, AdInbox.attach(client, bytes(user.key), domain))
                    await inboxes[user.address][1].set_preference(True)
                got, below = inboxes[holder.address][1], inboxes[seller.address][1]
                await got.wait(lambda: got.confirmed == {camp: 1}, timeout=30)
                await asyncio.sleep(3 * ttl)  # delivery passes past the TTL: the seller is asked again
                assert below.shown == [] and below.counts == {} and below.confirmed == {}
                assert store.delivery(seller.address.lower(), camp) is None  # nothing queued either
                assert service.stats["gated"] >= 2 and view.gates.answer(cid, holder.address) is not False
                assert view.gates.asked >= 3  # the seller, asked again after the TTL
                # The seller buys the balance back: sent the campaign once the cached answer expires.
                await asyncio.to_thread(
                    send_tx, c.w3, buyer, c.token.functions.transfer(seller.address, 100 * WAD)
                )
                await below.wait(lambda: below.confirmed == {camp: 1}, timeout=30)
                for client, inbox in inboxes.values():
                    assert not inbox.errors, inbox.errors
                    await client.close()
            finally:
                await service.stop()

    asyncio.run(scenario())
    receipts = ReceiptStore(tmp_path / "receipts.sqlite", domain)
    assert {s.receipt.user for s in receipts.receipts(operator.address)} == {holder.address, seller.address}
    result = settle_pending(
        receipts, AdMarketClient(c.w3, c.manifest, LocalSender(c.w3, node_key)), operator.address, 0
    )
    assert (result.receipts, result.skipped) == (2, 0)
    tx = c.w3.eth.get_transaction_receipt(result.batches[0])
    assert market.market.events.ReceiptSkipped().process_receipt(tx) == ()
