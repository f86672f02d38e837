"""NOTIFY ad delivery in process (clubchat.node.notify): a relay with a NotifyService whose chain view
the test fills by hand, and clients with an AdInbox. The chain-backed run with a real node process
is tests/e2e/test_ads_notify.py."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_utils import keccak

from clubchat.ads.notifications import AdInbox
from clubchat.ads.preferences import AdPreference, preference_digest, preference_typed_data, sign_preference
from clubchat.chain.eip712 import Domain
from clubchat.client.relay_client import RelayClient, RelayError
from clubchat.node.notify import NotifyConfig, NotifyService
from clubchat.node.notify_chain import AdMarketView, CampaignInfo, creative_text, resolve_creative
from clubchat.node.notify_store import NotifyLimits, NotifyStore
from clubchat.node.relay import RelayServer
from clubchat.protocol import messages as m
from tests.node.harness import relay, run

DOMAIN = Domain("AdMarket", "1", 31337, "0x" + "42" * 20)
NODE = Account.from_key("0x" + "0d" * 32).address
TEXT = "hello from campaign"
COMMUNITY = 7
ZERO = "0x" + "00" * 20


class HandView(AdMarketView):
    """The chain view without a chain: the test sets campaigns and memberships."""

    def sync_once(self) -> int:
        return 0


def campaign(cid: int, targets: tuple[int, ...] = (COMMUNITY,), text: str = TEXT, **kw: Any) -> CampaignInfo:
    now = int(time.time())
    fields: dict[str, Any] = {"per_user_cap": 3, "min_tier": 0, "min_stake": 0, **kw}
    info = CampaignInfo(
        campaign=cid, advertiser=NODE, price=10**18, start=now - 10, end=now + 3_600,
        creative_hash=keccak(text.encode()), creative_uri="data:," + text, targets=targets, **fields,
    )  # fmt: skip
    info.text = text
    return info


class Followed:
    """A followed contract without events (the view then answers its gates from what the test applies)."""

    abi: list[dict[str, Any]] = []

    def __init__(self, address: str) -> None:
        self.address = address


@asynccontextmanager
async def notify_relay(
    tmp: Path, limits: NotifyLimits | None = None, repeat_every: float = 86_400.0
) -> AsyncIterator[tuple[RelayServer, NotifyService]]:
    view = HandView(
        None, None, None, 0, premium=Followed("0x" + "e1" * 20), registry=Followed("0x" + "e2" * 20)
    )
    config = NotifyConfig(node=NODE, poll=0.05, repeat_every=repeat_every)
    service = NotifyService(config, NotifyStore(tmp, DOMAIN, limits), view, DOMAIN)
    async with relay() as server:
        await service.start(server)
        try:
            yield server, service
        finally:
            await service.stop()


async def connect(server: RelayServer, user: Any, enabled: bool = True) -> tuple[RelayClient, AdInbox]:
    client = await RelayClient.connect(server.uri, user)
    return client, AdInbox.attach(client, bytes(user.key), DOMAIN, enabled)


def join(view: AdMarketView, account: str, community: int, expires_at: int = 2**64 - 1) -> None:
    """`account` joins `community` as Communities' `MemberJoined` event says it."""
    view.apply_membership(
        "MemberJoined", {"community_id": community, "account": account, "expires_at": expires_at}
    )


def ban(view: AdMarketView, account: str, community: int) -> None:
    view.apply_membership("Banned", {"community_id": community, "account": account, "by": NODE})


def member(service: NotifyService, *users: Any) -> None:
    for u in users:
        join(service.view, u.address, COMMUNITY)


async def opted_in_member(
    server: RelayServer, service: NotifyService, user: Any, info: CampaignInfo
) -> tuple[RelayClient, AdInbox]:
    """`user` joins the community, signs in, opts in; then `info` appears on the chain."""
    member(service, user)
    client, inbox = await connect(server, user)
    await inbox.set_preference(True)
    service.view.campaigns[info.campaign] = info
    return client, inbox


def test_preference_digest_matches_eth_account() -> None:
    user = Account.create()
    pref = AdPreference(user.address, True, 1_700_000_000)
    sig = sign_preference(bytes(user.key), DOMAIN, pref)
    theirs = Account.sign_typed_data(user.key, full_message=preference_typed_data(DOMAIN, pref))
    assert bytes(theirs.message_hash) == preference_digest(DOMAIN, pref)
    assert Account._recover_hash(preference_digest(DOMAIN, pref), signature=sig) == user.address


def test_creatives_are_checked_against_their_hash() -> None:
    assert resolve_creative("data:;base64,aGk=", allow_http=False) == b"hi"
    assert resolve_creative("data:text/plain,h%C3%A9", allow_http=False) == "hé".encode()
    info = campaign(1)
    info.creative_uri = "data:,other text"
    with pytest.raises(ValueError, match="not the campaign's creative hash"):
        creative_text(info, allow_http=False)
    with pytest.raises(ValueError, match="does not fetch"):
        resolve_creative("http://example.invalid/x", allow_http=False)


def test_delivers_to_opted_in_members_only(tmp_path: Path) -> None:
    alice, carol, dave = Account.create(), Account.create(), Account.create()

    async def scenario() -> None:
        async with notify_relay(tmp_path) as (server, service):
            member(service, alice, carol)
            (ca, ia), (cc, ic), (cd, id_) = [await connect(server, u) for u in (alice, carol, dave)]
            await ia.set_preference(True)
            await id_.set_preference(True)
            await ic.set_preference(False)  # opted out: receives nothing, signs nothing
            service.view.campaigns[1] = campaign(1)
            service.view.campaigns[2] = campaign(2, targets=())  # untargeted: every opted-in user
            await ia.wait(lambda: ia.confirmed == {1: 1, 2: 1})
            await id_.wait(lambda: id_.confirmed == {2: 1})
            await asyncio.sleep(0.3)
            assert [n.campaign for n in ia.shown] == [1, 2] and [n.campaign for n in id_.shown] == [2]
            assert ic.shown == [] and ic.rejected == []
            assert service.stats["delivered"] == 3 and service.stats["receipts"] == 3
            stored = service.store.receipts.receipts(NODE)  # type: ignore[union-attr]
            assert [(s.receipt.campaign, s.receipt.count) for s in stored] == [(1, 1), (2, 1), (2, 1)]
            assert {s.receipt.user for s in stored} == {alice.address, dave.address}
            for c in (ca, cc, cd):
                await c.close()

    run(scenario())


def test_offline_user_gets_the_queue_at_sign_in_and_opt_out_drops_it(tmp_path: Path) -> None:
    bob, eve = Account.create(), Account.create()

    async def scenario() -> None:
        async with notify_relay(tmp_path, NotifyLimits(max_pending_per_user=2)) as (server, service):
            member(service, bob, eve)
            for u in (bob, eve):
                c, i = await connect(server, u)
                await i.set_preference(True)
                await c.close()
            for cid in (1, 2, 3):  # a third campaign is over bob's queue bound
                service.view.campaigns[cid] = campaign(cid)
            await asyncio.sleep(0.3)
            assert service.stats["queued"] == 4 and service.store.refused >= 2
            cb, ib = await connect(server, bob)
            await ib.wait(lambda: ib.confirmed == {1: 1, 2: 1})
            # a receipted row frees a slot: the third campaign follows on the next pass
            await ib.wait(lambda: ib.confirmed == {1: 1, 2: 1, 3: 1})
            await cb.close()
            # eve opts out while her two notifications wait: they are dropped
            ce, ie = await connect(server, eve, enabled=False)
            await ie.set_preference(False, issued=int(time.time()) + 1)  # a new inbox: after the opt-in
            assert await service.store.run(service.store.pending, eve.address, int(time.time())) == []
            await ce.close()
            ce, ie = await connect(server, eve)
            await asyncio.sleep(0.2)
            assert ie.shown == []
            await ce.close()

    run(scenario())


def test_refuses_bad_receipts_and_paused_campaigns(tmp_path: Path) -> None:
    alice = Account.create()

    async def scenario() -> None:
        async with notify_relay(tmp_path) as (server, service):
            ca, ia = await opted_in_member(server, service, alice, campaign(1, paused=True))
            await asyncio.sleep(0.3)
            assert ia.shown == []  # paused: not delivered
            service.view.campaigns[1].paused = False
            await ia.wait(lambda: ia.confirmed == {1: 1})
            wrong_node = m.AdReceipt(campaign=1, node="0x" + "99" * 20, count=1, signature="0x" + "00" * 65)
            too_many = m.AdReceipt(campaign=1, node=NODE, count=2, signature="0x" + "00" * 65)
            forged = m.AdReceipt(campaign=1, node=NODE, count=1, signature="0x" + "00" * 65)
            for frame, reason in (
                (wrong_node, "signs receipts as"),
                (too_many, "delivered 1"),
                (forged, "not the user"),
            ):
                await ca._send(m.encode(frame))
                await ia.wait(lambda r=reason: any(r in e.reason for e in ia.errors))  # type: ignore[misc]
            # a preference signed by someone else, or dated far ahead, is refused
            with pytest.raises(RelayError, match="future"):
                await ia.set_preference(False, issued=int(time.time()) + 3_600)
            await ca.close()

    run(scenario())


def test_receipts_and_queue_survive_a_restart(tmp_path: Path) -> None:
    alice = Account.create()

    async def scenario() -> None:
        async with notify_relay(tmp_path) as (server, service):
            ca, ia = await opted_in_member(server, service, alice, campaign(1))
            await ia.wait(lambda: ia.confirmed == {1: 1})
            await ca.close()
        async with notify_relay(tmp_path) as (server, service):
            member(service, alice)
            service.view.campaigns[1] = campaign(1)
            ca, ia = await connect(server, alice)
            await asyncio.sleep(0.3)
            assert ia.shown == []  # receipted before the restart: not delivered again
            (kept,) = service.store.receipts.receipts(NODE)  # type: ignore[union-attr]
            assert kept.receipt.count == 1 and kept.receipt.user == alice.address
            await ca.close()

    run(scenario())


def test_a_node_without_ads_says_so() -> None:
    user = Account.create()

    async def scenario() -> None:
        async with relay() as server:
            client = await RelayClient.connect(server.uri, user)
            inbox = AdInbox.attach(client, bytes(user.key), DOMAIN)
            with pytest.raises(RelayError, match="delivers no ad notifications"):
                await inbox.set_preference(True)
            assert inbox.errors and inbox.errors[-1].code == "not-offered"
            await client.close()

    run(scenario())


def test_store_bounds_and_sweep(tmp_path: Path) -> None:
    users = [Account.create().address for _ in range(3)]

    async def scenario() -> None:
        store = NotifyStore(tmp_path, DOMAIN, NotifyLimits(max_pending_per_user=5, max_rows=2))
        await store.open()
        try:
            for u in users:
                await store.run(store.set_preference, u, True, 1, b"\x01" * 65)
            taken = await store.run(store.offer, 1, 1_000, [(u, 0, ZERO) for u in users])
            assert taken == [u.lower() for u in users[:2]] and store.refused == 1  # max_rows
            assert await store.run(store.offer, 1, 1_000, [(users[0], 0, ZERO)]) == []  # once per campaign
            assert await store.run(store.sweep, 999) == 0
            assert await store.run(store.sweep, 1_000) == 2  # the campaign ended: rows dropped
            assert await store.run(store.offer, 2, 2_000, [(users[2], 0, ZERO)]) == [users[2].lower()]
            # an older preference never replaces a newer one
            assert not await store.run(store.set_preference, users[2], False, 1, b"\x01" * 65)
        finally:
            await store.close()

    run(scenario())


def test_settles_by_itself_once_receipts_are_worth_it(tmp_path: Path) -> None:
    from clubchat.ads.receipt_store import SettleResult

    calls: list[int] = []

    def settle() -> SettleResult:
        calls.append(1)
        return SettleResult(("0xabc",), 2, 4 * 10**18, 0, 0)

    async def scenario() -> None:
        view = HandView(None, None, None, 0)
        config = NotifyConfig(node=NODE, poll=0.05, settle_min_wei=10**18, settle_interval=0.05)
        service = NotifyService(config, NotifyStore(tmp_path, DOMAIN), view, DOMAIN, settle=settle)
        async with relay() as server:
            await service.start(server)
            await asyncio.sleep(0.3)
            await service.stop()
        assert len(calls) >= 2 and service.stats["settled-receipts"] == 2 * len(calls)
        assert service.last_settle is not None and service.last_settle.receipts == 2

    run(scenario())


def test_tier_and_stake_gates_are_checked_before_delivery(tmp_path: Path) -> None:
    """A member short of a campaign's minimum tier or stake is sent nothing and holds no delivery;
    one who meets it gets the notification, and its receipt names the node it stakes with."""
    plain, premium, staker, small = (Account.create() for _ in range(4))
    pool_node = Account.create().address

    async def scenario() -> None:
        async with notify_relay(tmp_path) as (server, service):
            view = service.view
            member(service, plain, premium, staker, small)
            limits = dict(max_message_bytes=1, max_file_bytes=1, max_call_seconds=1, mailbox_quota_bytes=1)
            view.tiers.apply("TierChanged", dict(tier=1, **limits, price_per_period=1, lock_amount=0))
            view.tiers.apply("Subscribed", dict(account=premium.address, tier=1, expires_at=2**40))
            for who, wei in ((pool_node, 10 * 10**18), (staker.address, 5 * 10**18), (small.address, 10**18)):
                view.stakes.apply("Staked", dict(node=pool_node, account=who, assets=wei, shares=wei))
            assert view.stakes.assets_of(pool_node, staker.address) == 5 * 10**18
            conns = {u.address: await connect(server, u) for u in (plain, premium, staker, small)}
            for _, inbox in conns.values():
                await inbox.set_preference(True)
            view.campaigns[1] = campaign(1, min_tier=1)
            view.campaigns[2] = campaign(2, min_stake=2 * 10**18)
            ip, is_ = conns[premium.address][1], conns[staker.address][1]
            await ip.wait(lambda: ip.confirmed == {1: 1})
            await is_.wait(lambda: is_.confirmed == {2: 1})
            await asyncio.sleep(0.3)  # more delivery passes: nobody else qualifies
            assert conns[plain.address][1].shown == [] and conns[small.address][1].shown == []
            for user in (plain, small):  # never recorded, so never a receipt
                assert await service.store.run(service.store.delivery, user.address, 1) is None
                assert await service.store.run(service.store.delivery, user.address, 2) is None
            assert [n.campaign for n in ip.shown] == [1] and [n.campaign for n in is_.shown] == [2]
            assert service.stats["gated"] >= 4
            stored = {(s.receipt.campaign, s.receipt.user): s for s in service.store.receipts.receipts(NODE)}  # type: ignore[union-attr]
            assert set(stored) == {(1, premium.address), (2, staker.address)}
            assert stored[(2, staker.address)].stake_node == pool_node  # the settlement hint
            # a slash takes the staker below the minimum: the view follows it
            view.stakes.apply("Slashed", dict(node=pool_node, bonded_cut=12 * 10**18))
            assert view.qualifies(view.campaigns[2], staker.address, int(time.time())) is None
            for client, _ in conns.values():
                await client.close()

    run(scenario())


def test_sends_again_up_to_the_cap_with_the_operators_spacing(tmp_path: Path) -> None:
    """Each receipted notification is followed by the next after `repeat_every`, up to the campaign's
    per-user cap; the user's receipts count 1, 2, 3; an offline user's pending one is not raised."""
    alice, bob = Account.create(), Account.create()

    async def scenario() -> None:
        async with notify_relay(tmp_path, repeat_every=0.4) as (server, service):
            cb, ib = await opted_in_member(server, service, bob, campaign(1))
            await ib.wait(lambda: ib.confirmed == {1: 1})
            await cb.close()  # bob goes offline: his next one is queued, not raised past it
            ca, ia = await opted_in_member(server, service, alice, campaign(1))
            started = time.monotonic()
            await ia.wait(lambda: ia.confirmed == {1: 3}, timeout=10)
            assert time.monotonic() - started >= 0.8  # two spacings between three notifications
            assert [n.count for n in ia.shown] == [1, 2, 3]
            await asyncio.sleep(0.6)  # the cap is 3: nothing more
            assert [n.count for n in ia.shown] == [1, 2, 3]
            row = await service.store.run(service.store.delivery, alice.address, 1)
            assert row is not None and (row.count, row.receipted) == (3, 3)
            kept = {s.receipt.user: s.receipt.count for s in service.store.receipts.receipts(NODE)}  # type: ignore[union-attr]
            assert kept == {alice.address: 3, bob.address: 1}
            bob_row = await service.store.run(service.store.delivery, bob.address, 1)
            assert bob_row is not None and (bob_row.count, bob_row.receipted) == (2, 1)  # queued, once
            cb, ib = await connect(server, bob)
            await ib.wait(lambda: ib.confirmed == {1: 3}, timeout=10)  # the queued one, then the last
            assert [n.count for n in ib.shown] == [2, 3]
            # a receipt above what was delivered is still refused
            await ca._send(m.encode(m.AdReceipt(campaign=1, node=NODE, count=4, signature="0x" + "00" * 65)))
            await ia.wait(lambda: any("delivered 3" in e.reason for e in ia.errors))
            await ca.close()
            await cb.close()

    run(scenario())


def test_a_banned_member_gets_no_further_notification(tmp_path: Path) -> None:
    """Communities' `Banned` ends delivery at once (not at the membership's expiry): the banned
    member's next notification of the targeted campaign is never sent, the other member's is; an
    untargeted campaign still reaches the banned user (it asks for no membership)."""
    alice, bob = Account.create(), Account.create()

    async def scenario() -> None:
        async with notify_relay(tmp_path, repeat_every=0.4) as (server, service):
            ca, ia = await opted_in_member(server, service, alice, campaign(1))
            cb, ib = await opted_in_member(server, service, bob, campaign(1))
            await ia.wait(lambda: ia.confirmed == {1: 1})
            await ib.wait(lambda: ib.confirmed == {1: 1})
            ban(service.view, bob.address, COMMUNITY)
            assert service.view.qualifying_target(campaign(1), bob.address) is None
            await ia.wait(lambda: ia.confirmed == {1: 3}, timeout=10)
            await asyncio.sleep(0.6)
            assert [n.count for n in ib.shown] == [1]
            service.view.campaigns[2] = campaign(2, targets=())
            await ib.wait(lambda: ib.confirmed == {1: 1, 2: 1})
            await ca.close()
            await cb.close()

    run(scenario())


def test_banned_accounts_share_no_community_with_the_others() -> None:
    view = HandView(None, None, None, 0)
    a, b = Account.create().address, Account.create().address
    for who in (a, b):
        join(view, who, COMMUNITY)
    assert view.share_community(a.lower(), b.lower(), int(time.time()))
    ban(view, b, COMMUNITY)
    assert not view.share_community(a.lower(), b.lower(), int(time.time()))
    view.apply_membership("Unbanned", {"community_id": COMMUNITY, "account": b, "by": NODE})
    assert not view.share_community(a.lower(), b.lower(), int(time.time()))  # the record was dropped
    join(view, b, COMMUNITY)
    assert view.share_community(a.lower(), b.lower(), int(time.time()))


def test_repeat_spacing_must_be_positive() -> None:
    with pytest.raises(ValueError, match="spacing"):
        NotifyConfig(node=NODE, repeat_every=0)


def test_a_store_written_before_the_repeat_columns_opens(tmp_path: Path) -> None:
    import sqlite3

    old = sqlite3.connect(tmp_path / "notify.sqlite")
    old.executescript(
        "CREATE TABLE deliveries (user TEXT NOT NULL, campaign INTEGER NOT NULL, count INTEGER NOT NULL,"
        " receipted INTEGER NOT NULL, target INTEGER NOT NULL, expires INTEGER NOT NULL,"
        " PRIMARY KEY (user, campaign));"
        "INSERT INTO deliveries VALUES ('0xab', 1, 1, 1, 0, 5000);"
    )
    old.commit()
    old.close()

    async def scenario() -> None:
        store = NotifyStore(tmp_path, DOMAIN)
        await store.open()
        try:
            row = await store.run(store.delivery, "0xab", 1)
            assert row is not None and (row.count, row.receipted, row.stake_node) == (1, 1, ZERO)
            assert await store.run(store.due_again, 1, 3, 0.0) == ["0xab"]  # never sent again yet
        finally:
            await store.close()

    run(scenario())


def test_chain_time_moves_on_while_no_block_is_mined() -> None:
    """A quiet chain (no new head) still advances the view's clock with the wall clock, so the spacing
    of repeated notifications passes; a new head sets it, and it never goes back."""
    view = HandView(None, None, None, 0)
    view._saw_head(1_000)
    first = view.now()
    time.sleep(0.3)
    view._saw_head(1_000)  # the same head at the next sync: the clock keeps running
    assert view.now() >= first + 0.3
    view._saw_head(5_000)
    assert 5_000 <= view.now() < 5_001
    view._saw_head(4_000)  # an older head (a reorg): never back
    assert view.now() >= 5_000


class WrappingWallet:
    """Stands in for a contract wallet (EIP-1271) that signs a wrapped hash, as Safe does: valid when
    its owner signed keccak(b"wallet:" + hash), never the bare hash."""

    def __init__(self, wallet: str, owner: Any) -> None:
        self.address, self.owner, self.key = wallet, owner, owner.key

    def sign_digest(self, digest: bytes) -> bytes:
        return bytes(Account.unsafe_sign_hash(keccak(b"wallet:" + digest), self.owner.key).signature)

    def sign_message(self, message: Any) -> Any:  # the relay sign-in (EIP-191), wrapped the same way
        from eth_account.messages import _hash_eip191_message

        class Signed:
            signature = self.sign_digest(_hash_eip191_message(message))

        return Signed()

    async def is_valid_signature(self, wallet: str, message_hash: bytes, signature: bytes) -> bool:
        wrapped = keccak(b"wallet:" + message_hash)
        return (
            wallet == self.address
            and Account._recover_hash(wrapped, signature=signature) == self.owner.address
        )


def test_a_contract_wallet_with_its_own_signature_format_opts_in_and_receipts(tmp_path: Path) -> None:
    """`AdInbox.sign_digest`: the wallet's signer answers for preferences and receipts; the node asks
    the wallet (the relay's verifier) and stores the receipt for the chain to check again."""
    wallet = WrappingWallet(Account.create().address, Account.create())

    async def scenario() -> None:
        view = HandView(None, None, None, 0)
        service = NotifyService(
            NotifyConfig(node=NODE, poll=0.05), NotifyStore(tmp_path, DOMAIN), view, DOMAIN
        )
        async with relay(verifier=wallet) as server:
            await service.start(server)
            try:
                member(service, wallet)
                client = await RelayClient.connect(server.uri, wallet)  # type: ignore[arg-type]
                inbox = AdInbox.attach(client, bytes(wallet.key), DOMAIN)
                inbox.sign_digest = wallet.sign_digest
                await inbox.set_preference(True)
                view.campaigns[1] = campaign(1)
                await inbox.wait(lambda: inbox.confirmed == {1: 1})
                (kept,) = service.store.receipts.receipts(NODE)  # type: ignore[union-attr]
                assert kept.receipt.user == wallet.address and kept.signature == inbox_signature(
                    inbox, wallet
                )
                assert service.stats["eip1271-accepted"] == 2
                # the owner's bare signature is not the wallet's: refused
                bare = sign_preference(bytes(wallet.key), DOMAIN, AdPreference(wallet.address, False, 10**9))
                frame = m.AdPreference(
                    user=wallet.address, enabled=False, issued=10**9, signature="0x" + bare.hex()
                )
                await client._send(m.encode(frame))
                await inbox.wait(lambda: any(e.code == "bad-ad-preference" for e in inbox.errors))
                assert service.stats["eip1271-refused"] == 1
                await client.close()
            finally:
                await service.stop()

    run(scenario())


def inbox_signature(inbox: AdInbox, wallet: WrappingWallet) -> bytes:
    from clubchat.ads.receipts import Receipt, receipt_digest

    return wallet.sign_digest(receipt_digest(DOMAIN, Receipt(1, wallet.address, NODE, 1)))
