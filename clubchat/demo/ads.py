"""The ad-market chapter of `club demo`: a campaign delivered by a NOTIFY node, receipts settled, the split.

An advertiser escrows a campaign that targets one community. A NOTIFY node (run here, in this process,
and registered in NodeRegistry with its loopback endpoint) is found through the registry's NOTIFY
sample and follows AdMarket and Communities. Four users sign in to it: two opted-in members (one
offline when the campaign starts, who gets it at its next sign-in), an opted-out member and an
opted-in non-member. The campaign's per-user cap is 3 and the node sends it again a second after
each receipt (the operator's spacing), so each member sees it three times and signs cumulative
receipts 1, 2, 3; the node keeps the last one, and the operator settles both members' three views
with one receipt each in one batch. The split is shown per party with the burn; the advertiser is
refunded after the end and the grace period. A second campaign is for Premium members only (minimum
tier 1): alice buys a month of tier 1 and gets it; bob, on the free tier, is never sent it (the node
checks the gate before delivery, so bob signs nothing that settlement would skip), and alice's
receipt settles. Then paid message requests: the node refuses a
stranger's unpaid first message, one paid request is accepted and one is reclaimed after its timeout.

Users hold real keys (they sign the EIP-712 preferences and receipts and the relay sign-in); the
advertiser, the community owner, the operator and its node key are addresses anvil impersonates,
funded from the treasury (the Timelock) as in the node-registry chapter.
"""

from __future__ import annotations

import asyncio
import tempfile
import urllib.parse
import warnings
from pathlib import Path
from typing import Any

import click
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from rich.table import Table

from clubchat.ads.client import AdMarketClient, CampaignSpec
from clubchat.ads.notifications import AdInbox, notify_uris
from clubchat.ads.receipt_store import settle_pending
from clubchat.chain.tx import LocalSender
from clubchat.client.relay_client import RelayClient, RelayError
from clubchat.client.secure import Secure
from clubchat.communities.client import OPEN, CommunitiesClient
from clubchat.demo.context import DemoContext, club, table
from clubchat.demo.nodes import _address, _impersonate
from clubchat.node.localnet import free_port_range
from clubchat.node.notify import for_node
from clubchat.node.relay_config import RelayConfig
from clubchat.node.runner import Node, NodeConfig
from clubchat.params import WAD
from clubchat.premium.client import PremiumClient
from clubchat.protocol import messages as m
from clubchat.registry import NOTIFY, RELAY, NodeRegistryClient, Registration
from clubchat.registry.discovery import RegistryDiscovery

TEXT = "Club Chat Pro: group calls without limits, 20 % off this week"
PRICE_WEI = 2 * WAD  # per confirmed notification
BUDGET_WEI = 100 * WAD
PREMIUM_BUDGET_WEI = 10 * WAD  # the Premium-only campaign's budget
PER_USER_CAP = 3  # notifications of the campaign per user
REPEAT_EVERY = 1.0  # seconds the node waits after a receipt before the next notification
REQUEST_PRICE_WEI = 5 * WAD


def _user(label: str) -> LocalAccount:
    return Account.from_key(keccak(text=f"clubchat-demo-ads-{label}"))


def chapter_ads(ctx: DemoContext) -> None:
    """Ads: a campaign delivered by a NOTIFY node to opted-in members, receipts settled, the split."""
    with tempfile.TemporaryDirectory(prefix="clubchat-demo-ads-") as tmp, warnings.catch_warnings():
        # web3 decodes a receipt's logs with one contract's ABI and warns about the token's Transfer
        warnings.filterwarnings("ignore", message=".*MismatchedABI.*")
        asyncio.run(_story(ctx, Path(tmp)))


def _fund(ctx: DemoContext, address: str, club_wei: int) -> None:
    _impersonate(ctx, address)  # also gives it ETH for gas
    if club_wei:
        treasury = ctx.manifest.address("Timelock")
        _impersonate(ctx, treasury)
        ctx.transact(ctx.contract("ClubToken").functions.transfer(address, club_wei), treasury)


async def _story(ctx: DemoContext, tmp: Path) -> None:
    w3, manifest = ctx.w3, ctx.manifest
    advertiser, owner = _address("ads-advertiser"), _address("ads-community-owner")
    run = ctx.now()  # a re-run on the same chain registers a new operator
    operator, node_key = _address(f"ads-notify-operator-{run}"), _address(f"ads-notify-key-{run}")
    alice, bob, carol, dave, erin = (_user(n) for n in ("alice", "bob", "carol", "dave", "erin"))
    names: dict[str, str] = {
        a.address: n for a, n in ((alice, "alice"), (bob, "bob"), (carol, "carol"), (dave, "dave"))
    }
    registry = ctx.contract("NodeRegistry")
    minimum = int(registry.functions.min_self_stake_per_kind().call())
    fee = int(ctx.contract("Communities").functions.creation_fee().call())
    advertiser_wei = BUDGET_WEI + PREMIUM_BUDGET_WEI
    for address, amount in (
        (advertiser, advertiser_wei),
        (owner, fee),
        (operator, 2 * minimum),
        (node_key, 0),
    ):
        _fund(ctx, address, amount)
    plus_price = PremiumClient(w3, manifest).tier(1).price_per_period_wei
    for user, amount in ((alice, plus_price), (bob, 0), (carol, 0), (dave, 20 * WAD), (erin, 20 * WAD)):
        _fund(ctx, user.address, amount)

    # One community with three members; dave stays outside.
    community = CommunitiesClient(w3, manifest, ctx.sender(owner)).create(owner, OPEN)
    for user in (alice, bob, carol):
        CommunitiesClient(w3, manifest, LocalSender(w3, user)).join(community)
    market = AdMarketClient(w3, manifest)
    AdMarketClient(w3, manifest, ctx.sender(owner)).set_community_payout(community, owner)

    # The NOTIFY node: registered with its loopback endpoint, then found through the registry.
    port = free_port_range(1)
    uri = f"ws://127.0.0.1:{port}"
    reg = Registration(RELAY | NOTIFY, {RELAY: uri, NOTIFY: f"http://127.0.0.1:{port}"}, node_key)
    NodeRegistryClient(w3, manifest, ctx.sender(operator)).register(reg, 2 * minimum, ctx.sender(node_key))
    NodeRegistryClient(w3, manifest, ctx.sender(node_key)).heartbeat()
    ctx.enter_next_sampling_epoch()  # drawn from the next epoch on; the nodes of earlier chapters stop
    NodeRegistryClient(w3, manifest, ctx.sender(node_key)).heartbeat()  # live in the new epoch
    node = Node(
        NodeConfig(
            data_dir=tmp / "notify", kinds=frozenset({"relay", "notify"}), relay=RelayConfig(port=port)
        )
    )
    await node.start()
    ads = for_node(w3, manifest, tmp / "notify", True, operator, None, depth=0, repeat_every=REPEAT_EVERY)
    assert ads is not None and ads.service is not None and node.relay is not None
    service = ads.service
    await ads.start(node.relay)
    try:
        sample = notify_uris(RegistryDiscovery(w3, manifest), alice.address)
        found = [u for u in sample if u == uri]
        if not found:
            raise click.ClickException(
                f"the registry's NOTIFY sample for alice is {sample}, without the demo's node {uri}: "
                "is it registered, staked and beating?"
            )
        ctx.console.print(
            f"NOTIFY node {uri} found through the registry's NOTIFY sample for alice "
            f"(#{sample.index(uri) + 1} of {len(sample)} sampled)"
        )
        inboxes = await _deliver(ctx, found[0], market, advertiser, community, alice, bob, carol, dave)
        campaign = inboxes.pop("campaign")
        # One batch settles every stored receipt, sent by the operator.
        assert service.store.receipts is not None
        before = {a: market.earnings(a) for a in (*names, operator, owner)}
        burn_before = int(market.market.functions.burn_pending().call())
        result = settle_pending(
            service.store.receipts, AdMarketClient(w3, manifest, ctx.sender(operator)), operator, 0
        )
        paid = {a: market.earnings(a) - before[a] for a in before}
        burned = int(market.market.functions.burn_pending().call()) - burn_before
        gated = await _premium_only(ctx, found[0], market, advertiser, community, alice, bob)
        held = {
            r.receipt.user
            for r in service.store.receipts.receipts(operator)
            if r.receipt.campaign == gated["campaign"]
        }
        gated["receipts_held"] = {names[a]: int(a in held) for a in (alice.address, bob.address)}
        gated_result = settle_pending(
            service.store.receipts, AdMarketClient(w3, manifest, ctx.sender(operator)), operator, 0
        )
        gated["receipts_settled"] = gated_result.receipts
        gated["alice_earned_wei"] = (
            market.earnings(alice.address) - before[alice.address] - paid[alice.address]
        )
        refused, requests_table = await _paid_requests(ctx, uri, market, bob, dave, erin)
    finally:
        await ads.stop()
        await node.stop()

    status = market.status(campaign)
    t = table("Ad notifications: who got what", "user", "member", "opted in", "notifications", "receipted")
    for address, inbox in inboxes.items():
        name = names[address]
        t.add_row(
            name,
            "yes" if name != "dave" else "no",
            "no" if name == "carol" else "yes",
            str(len(inbox.shown)),
            str(inbox.confirmed.get(campaign, 0)),
        )
    ctx.console.print(t)
    split = table(
        "Settlement: one batch, the split per party", "party", "earned (CLUB)", "share", right=(1, 2)
    )
    spent = status.spent_wei
    rows = [(f"user {names[a]}", paid[a]) for a in names if paid[a]]
    rows += [("node operator", paid[operator]), ("community payout", paid[owner]), ("burn", burned)]
    for label, amount in rows:
        split.add_row(label, club(amount), f"{100 * amount / spent:.0f} %" if spent else "-")
    split.add_row("total spent", club(spent), "100 %")
    ctx.console.print(split)

    # The advertiser takes back the unspent budget after the end and the grace period.
    ctx.travel_to(status.settlement_closes + 1)
    refunded = AdMarketClient(w3, manifest, ctx.sender(advertiser)).refund(campaign)
    ctx.travel_to(market.status(gated["campaign"]).settlement_closes + 1)
    gated["refunded_wei"] = AdMarketClient(w3, manifest, ctx.sender(advertiser)).refund(gated["campaign"])
    ctx.console.print(
        f"campaign {campaign}: {club(BUDGET_WEI)} CLUB escrowed, {club(spent)} spent on "
        f"{spent // PRICE_WEI} views on {result.receipts} receipts in {len(result.batches)} batch; "
        f"{club(refunded)} refunded after grace"
    )
    g = table("Premium-only campaign (minimum tier 1)", "user", "tier", "notifications", "receipt held")
    for name, tier in (("alice", 1), ("bob", 0)):
        g.add_row(
            name, str(tier), str(gated["delivered"][name]), "yes" if gated["receipts_held"][name] else "no"
        )
    ctx.console.print(g)
    ctx.console.print(
        f"campaign {gated['campaign']}: alice's receipt settled ({club(gated['alice_earned_wei'])} CLUB "
        f"to her); {club(gated['refunded_wei'])} CLUB refunded after grace"
    )
    ctx.console.print(requests_table)
    ctx.report["ads"] = {
        "campaign": campaign,
        "community": community,
        "budget_wei": BUDGET_WEI,
        "price_wei": PRICE_WEI,
        "delivered": {names[u]: len(i.shown) for u, i in inboxes.items()},
        "per_user_cap": PER_USER_CAP,
        "receipt_counts": {names[u]: i.confirmed.get(campaign, 0) for u, i in inboxes.items()},
        "views_settled": spent // PRICE_WEI,
        "receipts_settled": result.receipts,
        "batches": len(result.batches),
        "spent_wei": spent,
        "split_wei": {label: amount for label, amount in rows},
        "refunded_wei": refunded,
        "node_stats": dict(service.stats),
        "notify_node": {"uri": uri, "registry_sample": sample, "sample_index": sample.index(uri)},
        "paid_requests": refused,
        "premium_only": gated,
    }


async def _deliver(
    ctx: DemoContext,
    uri: str,
    market: AdMarketClient,
    advertiser: str,
    community: int,
    *users: LocalAccount,
) -> dict[str, Any]:
    alice, bob, carol, _ = users
    domain = market.domain()
    conns: dict[str, tuple[RelayClient, AdInbox]] = {}
    for user in users:
        client = await RelayClient.connect(uri, user)
        conns[user.address] = (client, AdInbox.attach(client, bytes(user.key), domain))
        await conns[user.address][1].set_preference(user is not carol)
    await conns[bob.address][0].close()  # bob goes offline
    now = ctx.now()
    creative = "data:text/plain;charset=utf-8," + urllib.parse.quote(TEXT)
    spec = CampaignSpec(
        BUDGET_WEI,
        PRICE_WEI,
        PER_USER_CAP,
        now,
        now + 7 * 86_400,
        keccak(TEXT.encode()),
        creative,
        (community,),
    )
    campaign = AdMarketClient(ctx.w3, ctx.manifest, ctx.sender(advertiser)).create_campaign(spec)
    inbox_a = conns[alice.address][1]
    await inbox_a.wait(lambda: inbox_a.confirmed.get(campaign) == 1, timeout=30)
    client_b = await RelayClient.connect(uri, bob)  # bob's next sign-in: the queued notification
    inbox_b = AdInbox.attach(client_b, bytes(bob.key), domain, enabled=True)
    conns[bob.address] = (client_b, inbox_b)
    for inbox in (inbox_a, inbox_b):  # sent again after each receipt, up to the cap
        await inbox.wait(lambda i=inbox: i.confirmed.get(campaign) == PER_USER_CAP, timeout=60)
    await asyncio.sleep(REPEAT_EVERY + 2.5)  # more delivery passes: none past the cap, none for carol or dave
    for client, _ in conns.values():
        await client.close()
    return {"campaign": campaign, **{u: inbox for u, (_, inbox) in conns.items()}}


async def _premium_only(
    ctx: DemoContext,
    uri: str,
    market: AdMarketClient,
    advertiser: str,
    community: int,
    alice: LocalAccount,
    bob: LocalAccount,
) -> dict[str, Any]:
    """A campaign for tier 1 and up: alice (who buys tier 1) gets it, bob (free tier) never does."""
    w3, manifest = ctx.w3, ctx.manifest
    PremiumClient(w3, manifest, LocalSender(w3, alice)).subscribe(1, 1)
    domain = market.domain()
    conns = {}
    for name, user in (("alice", alice), ("bob", bob)):
        client = await RelayClient.connect(uri, user)
        conns[name] = (client, AdInbox.attach(client, bytes(user.key), domain, enabled=True))  # opted in
    now = ctx.now()
    creative = "data:text/plain;charset=utf-8," + urllib.parse.quote(TEXT)
    spec = CampaignSpec(
        PREMIUM_BUDGET_WEI, PRICE_WEI, 1, now, now + 7 * 86_400, keccak(TEXT.encode()), creative,
        (community,), min_tier=1,
    )  # fmt: skip
    campaign = AdMarketClient(w3, manifest, ctx.sender(advertiser)).create_campaign(spec)
    inbox_a = conns["alice"][1]
    await inbox_a.wait(lambda: inbox_a.confirmed.get(campaign) == 1, timeout=30)
    await asyncio.sleep(REPEAT_EVERY + 2.5)  # more delivery passes: nothing for bob
    delivered = {n: sum(1 for x in i.shown if x.campaign == campaign) for n, (_, i) in conns.items()}
    for client, _ in conns.values():
        await client.close()
    return {"campaign": campaign, "min_tier": 1, "delivered": delivered}


async def _paid_requests(
    ctx: DemoContext,
    uri: str,
    market: AdMarketClient,
    bob: LocalAccount,
    dave: LocalAccount,
    erin: LocalAccount,
) -> tuple[dict[str, Any], Table]:
    w3, manifest = ctx.w3, ctx.manifest
    AdMarketClient(w3, manifest, LocalSender(w3, bob)).set_request_price(REQUEST_PRICE_WEI)
    refusal = ""
    receiver = await RelayClient.connect(uri, bob)
    try:
        await Secure(bob).ready(receiver)  # bob's key bundle, for dave's first message to be sealed
    finally:
        await receiver.close()
    sender = await RelayClient.connect(uri, dave)
    sealing = Secure(dave)
    try:
        for _ in range(50):  # until the node's view has bob's price
            try:
                await sealing.send(sender, bob.address, m.Text(body="hello"))
            except RelayError as exc:
                refusal = exc.code
                break
            await asyncio.sleep(0.2)
    finally:
        await sender.close()
    for stranger in (dave, erin):
        AdMarketClient(w3, manifest, LocalSender(w3, stranger)).send_request(bob.address, REQUEST_PRICE_WEI)
    before = market.earnings(bob.address)
    AdMarketClient(w3, manifest, LocalSender(w3, bob)).accept_request(dave.address)
    earned = market.earnings(bob.address) - before
    _, expires = market.pending_request(erin.address, bob.address)
    ctx.travel_to(expires + 1)
    AdMarketClient(w3, manifest, LocalSender(w3, erin)).reclaim_request(bob.address)
    t = table(
        "Paid message requests to bob (price 5 CLUB)", "from", "what happened", "bob earned", right=(2,)
    )
    t.add_row("dave, unpaid", f"relay refused: {refusal}", "-")
    t.add_row("dave, paid", "accepted", club(earned))
    t.add_row("erin, paid", "ignored; reclaimed after the timeout", "0")
    report = {
        "unpaid_refused_with": refusal,
        "accepted_earned_wei": earned,
        "reclaimed_wei": REQUEST_PRICE_WEI,
    }
    return report, t
