"""Community rooms on a loopback relay (clubchat.node.rooms): admission from the membership cache,
bans and expiries evicting at once, fail-open / fail-closed on a stale cache, broadcast rooms, tier
limits on messages and files, retention for members who come back, and TURN credential lifetimes
capped by the tier's call limit."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from clubchat.client.relay_client import RelayError
from clubchat.communities.rooms import RoomClient, room_id
from clubchat.crypto.ratchet import SEALED_OVERHEAD as DIRECT_SEALED_OVERHEAD
from clubchat.crypto.senderkeys import SEALED_OVERHEAD
from clubchat.node.relay import RelayConfig, RelayServer
from clubchat.node.rooms import CacheView, Rooms, RoomsConfig, enable_rooms
from clubchat.node.turn import TurnConfig
from clubchat.protocol import messages as m
from tests.node.harness import Raw, envelope, mailbox, relay, run

OWNER, ADMIN_, ALICE, BOB, CAROL, MALLORY = (
    Account.from_key("0x" + f"{i:02x}" * 32) for i in range(0x31, 0x37)
)
NEVER = 2**64 - 1
CID, CLOSED_CID = 7, 8
FREE_MESSAGE, FREE_FILE = 400, 1_000


class Clock:
    """The membership cache's clock (the relay keeps the real one)."""

    def __init__(self) -> None:
        self.t = 1_000_000.0

    def __call__(self) -> float:
        return self.t


def _view(clock: Clock) -> CacheView:
    view = CacheView(stale_after=30.0, clock=clock)
    for cid, fail_open in ((CID, True), (CLOSED_CID, False)):
        view.membership.apply(
            "CommunityCreated",
            {
                "community_id": cid,
                "owner": OWNER.address,
                "policy": 1,
                "membership_seconds": 0,
                "fail_open": False,
            },
        )
        view.membership.apply(
            "PolicyChanged",
            {"community_id": cid, "policy": 1, "membership_seconds": 0, "fail_open": fail_open},
        )
        view.membership.apply("RolesChanged", {"community_id": cid, "account": ADMIN_.address, "roles": 1})
        for who in (OWNER, ADMIN_, ALICE, BOB, CAROL):
            view.membership.apply(
                "MemberJoined", {"community_id": cid, "account": who.address, "expires_at": NEVER}
            )
    limits = {"mailbox_quota_bytes": 10**6, "price_per_period": 0, "lock_amount": 0}
    view.tiers.apply(
        "TierChanged",
        {"tier": 0, "max_message_bytes": FREE_MESSAGE, "max_file_bytes": FREE_FILE, "max_call_seconds": 300}
        | limits,
    )
    view.tiers.apply(
        "TierChanged",
        {"tier": 1, "max_message_bytes": 60_000, "max_file_bytes": 10**9, "max_call_seconds": 14_400}
        | limits
        | {"price_per_period": 50, "lock_amount": 5_000},
    )
    view.mark_synced()
    return view


@asynccontextmanager
async def rooms_relay(**config: Any) -> AsyncIterator[tuple[RelayServer, Rooms, CacheView, Clock]]:
    clock = Clock()
    view = _view(clock)
    async with relay(RelayConfig()) as server:
        yield server, Rooms(server, view, RoomsConfig(**config)), view, clock


async def _client(server: RelayServer, who: Any) -> RoomClient:
    client = await RoomClient.connect(server.uri, who, timeout=5)
    assert isinstance(client, RoomClient)
    return client


def _text(body: str) -> m.RoomSealed:
    """A stand-in for a sealed room message as large as `body` (a relay never opens one)."""
    return m.RoomSealed(epoch=1, ct=base64.b64encode(body.encode()).decode())


def test_members_talk_and_a_non_member_is_refused() -> None:
    async def scenario() -> None:
        async with rooms_relay() as (server, _rooms, _view, _clock):
            alice, bob, carol, mallory = [await _client(server, w) for w in (ALICE, BOB, CAROL, MALLORY)]
            for c in (alice, bob, carol):
                joined = await c.join(CID)
                assert joined.seq == 0
            assert joined.online == 3
            with pytest.raises(RelayError) as refused:
                await mallory.join(CID)
            assert refused.value.code == "not-member"
            with pytest.raises(RelayError) as refused:
                await mallory.send_room(CID, _text("let me in"))
            assert refused.value.code == "not-member"
            assert refused.value.reason.startswith(MALLORY.address)  # checksummed, as users see addresses
            # A plaintext post (a client that skipped sealing) is refused by the relay itself.
            with pytest.raises(RelayError) as refused:
                await alice._post(m.RoomSend(CID, "general", id="plain-1", payload=m.Text(body="in clear")))
            assert refused.value.code == "not-sealed"
            sent = await alice.send_room(CID, _text("hello room"))
            assert (sent.seq, sent.delivered) == (1, 2)
            for c in (bob, carol):
                got = await c.next_room_message()
                assert isinstance(got, m.RoomMessage)
                assert (got.sender, got.payload, got.seq, got.room) == (
                    ALICE.address,
                    _text("hello room"),
                    1,
                    "general",
                )
            assert mallory.room_inbox.empty() and alice.room_inbox.empty()
            with pytest.raises(RelayError) as replayed:
                await alice.send_room(CID, _text("again"), id=got.id)
            assert replayed.value.code == "replayed"
            await bob.leave(CID)
            assert (await asyncio.wait_for(bob.left.get(), 5)).code == "left"
            assert (await alice.send_room(CID, _text("bob left"))).delivered == 1
            for c in (alice, bob, carol, mallory):
                await c.close()

    run(scenario())


def test_a_ban_evicts_at_once_and_blocks_every_frame() -> None:
    async def scenario() -> None:
        async with rooms_relay() as (server, rooms, view, _clock):
            alice, bob = await _client(server, ALICE), await _client(server, BOB)
            await alice.join(CID)
            await bob.join(CID)
            view.membership.apply(
                "Banned", {"community_id": CID, "account": BOB.address, "by": OWNER.address}
            )
            assert rooms.recheck({(CID, BOB.address.lower())}) == 1
            left = await asyncio.wait_for(bob.left.get(), 5)
            assert (left.community, left.room, left.code) == (CID, "general", "banned")
            assert (await alice.send_room(CID, _text("after the ban"))).delivered == 0
            with pytest.raises(RelayError) as refused:
                await bob.send_room(CID, _text("still here?"))
            assert refused.value.code == "banned" and BOB.address in refused.value.reason
            with pytest.raises(RelayError) as refused:
                await bob.join(CID)
            assert refused.value.code == "banned"
            assert bob.room_inbox.empty()
            assert server.stats["room-evicted:banned"] == 1
            await alice.close()
            await bob.close()

    run(scenario())


def test_expiry_evicts_on_the_next_sweep() -> None:
    async def scenario() -> None:
        async with rooms_relay() as (server, rooms, view, clock):
            view.membership.apply(
                "MemberJoined",
                {"community_id": CID, "account": CAROL.address, "expires_at": int(clock.t) + 60},
            )
            carol = await _client(server, CAROL)
            await carol.join(CID)
            rooms.sweep()
            assert carol.left.empty()
            clock.t += 61
            view.mark_synced()
            rooms.sweep()
            assert (await asyncio.wait_for(carol.left.get(), 5)).code == "not-member"
            await carol.close()

    run(scenario())


def test_stale_cache_fail_open_serves_fail_closed_refuses() -> None:
    async def scenario() -> None:
        async with rooms_relay() as (server, rooms, _view, clock):
            alice, bob = await _client(server, ALICE), await _client(server, BOB)
            for c in (alice, bob):
                await c.join(CID)
                await c.join(CLOSED_CID)
            clock.t += 31  # no successful poll for longer than stale_after
            rooms.sweep()
            evicted = {(await asyncio.wait_for(c.left.get(), 5)).code for c in (alice, bob)}
            assert evicted == {"membership-unavailable"}
            assert alice.left.empty() and bob.left.empty()  # the fail-open room stayed
            with pytest.raises(RelayError) as refused:
                await alice.join(CLOSED_CID)
            assert refused.value.code == "membership-unavailable"
            with pytest.raises(RelayError) as refused:
                await alice.send_room(CLOSED_CID, _text("closed"))
            assert refused.value.code == "membership-unavailable"
            assert (await alice.send_room(CID, _text("open"))).delivered == 1
            assert (await bob.next_room_message()).id
            await alice.close()
            await bob.close()

    run(scenario())


def test_broadcast_rooms_take_posts_from_owner_and_admins_only() -> None:
    async def scenario() -> None:
        async with rooms_relay() as (server, _rooms, _view, _clock):
            owner, admin, alice = [await _client(server, w) for w in (OWNER, ADMIN_, ALICE)]
            for c in (owner, admin, alice):
                await c.join(CID, "broadcast:news")
            with pytest.raises(RelayError) as refused:
                await alice.send_room(CID, _text("me too"), room="broadcast:news")
            assert refused.value.code == "admins-only"
            assert (await admin.send_room(CID, _text("news"), room="broadcast:news")).delivered == 2
            assert (await owner.send_room(CID, _text("more"), room="broadcast:news")).seq == 2
            assert (await alice.next_room_message()).payload == _text("news")
            for c in (owner, admin, alice):
                await c.close()

    run(scenario())


def test_tier_limits_refuse_large_messages_and_files_with_the_reason() -> None:
    async def scenario() -> None:
        async with rooms_relay() as (server, _rooms, view, clock):
            alice, bob = await _client(server, ALICE), await _client(server, BOB)
            await bob.join(CID)
            at_limit = _text("x" * (SEALED_OVERHEAD + FREE_MESSAGE))  # the padded plaintext counts
            assert (await alice.send_room(CID, at_limit)).delivered == 1
            assert (await bob.next_room_message()).payload == at_limit
            with pytest.raises(RelayError) as refused:
                await alice.send_room(CID, _text("x" * (SEALED_OVERHEAD + FREE_MESSAGE + 1)))
            assert refused.value.code == "over-tier-limit"
            assert refused.value.reason == (
                f"tier 0 messages are limited to {FREE_MESSAGE} bytes of padded plaintext, this one has "
                f"{FREE_MESSAGE + 1}; a premium tier allows more"
            )
            chunk = m.RoomFileChunk(
                file_id="00000000-0000-0000-0000-000000000001", index=0, size=FREE_FILE + 1, data=""
            )
            with pytest.raises(RelayError) as refused:
                await alice.send_file_chunk(CID, chunk)
            assert "tier 0 files are limited to 1000 bytes, this one has 1001" in refused.value.reason
            small = m.RoomFileChunk(file_id=chunk.file_id, index=0, size=3, data="YWJj")
            assert (await alice.send_file_chunk(CID, small)).delivered == 1
            got = await bob.next_room_message()
            assert isinstance(got, m.RoomFileMessage) and got.file == small
            too_many = m.RoomFileChunk(
                file_id="00000000-0000-0000-0000-000000000002", index=0, size=2, data="YWJj"
            )
            with pytest.raises(RelayError) as refused:
                await alice.send_file_chunk(CID, too_many)
            assert "more bytes than its declared size" in refused.value.reason
            # A subscription to tier 1 lifts both limits.
            view.tiers.apply(
                "Subscribed", {"account": ALICE.address, "tier": 1, "expires_at": int(clock.t) + 3_600}
            )
            assert (await alice.send_room(CID, _text("x" * FREE_MESSAGE))).delivered == 1
            big = m.RoomFileChunk(
                file_id="00000000-0000-0000-0000-000000000003", index=0, size=10**6, data="YWJj"
            )
            assert (await alice.send_file_chunk(CID, big)).delivered == 1
            await alice.close()
            await bob.close()

    run(scenario())


def test_a_member_who_comes_back_gets_what_it_missed() -> None:
    async def scenario() -> None:
        async with rooms_relay(retention_messages=2) as (server, _rooms, _view, _clock):
            alice = await _client(server, ALICE)
            for i in range(3):
                assert (await alice.send_room(CID, _text(f"m{i}"))).delivered == 0
            bob = await _client(server, BOB)
            joined = await bob.join(CID, since=0)
            assert joined.seq == 3
            got = [(await bob.next_room_message()).seq for _ in range(2)]
            assert got == [2, 3]  # the oldest fell out of the retention
            carol = await _client(server, CAROL)
            await carol.join(CID, since=2)
            assert (await carol.next_room_message()).seq == 3
            await asyncio.sleep(0.1)
            assert carol.room_inbox.empty()
            for c in (alice, bob, carol):
                await c.close()

    run(scenario())


def test_limits_on_subscriptions() -> None:
    async def scenario() -> None:
        async with rooms_relay(max_rooms_per_connection=1) as (server, rooms, _view, _clock):
            alice = await _client(server, ALICE)
            await alice.join(CID)
            with pytest.raises(RelayError) as refused:
                await alice.join(CID, "other")
            assert refused.value.code == "too-many-rooms"
            await alice.close()
            for _ in range(50):
                if not rooms.joined:
                    break
                await asyncio.sleep(0.02)
            assert rooms.joined == {} and rooms.subs == {}  # a closed connection leaves no subscription

    run(scenario())


def test_a_relay_without_rooms_says_so() -> None:
    async def scenario() -> None:
        async with relay(RelayConfig()) as server:
            raw = await Raw.open(server.uri)
            await raw.sign_in(ALICE)
            await raw.send(m.encode(m.RoomJoin(community=1, room="general")))
            err = await raw.frame()
            assert isinstance(err, m.Error) and err.code == "not-offered"
            await raw.send('{"type":"room-join","community":1,"room":"Not A Name"}')
            assert (await raw.frame()).code == "malformed"
            await raw.close()

    run(scenario())


def test_turn_credentials_live_no_longer_than_the_call_limit(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with rooms_relay() as (_server, rooms, view, clock):
            issuer = TurnConfig(data_dir=tmp_path, credential_ttl=600).issuer(clock=lambda: clock.t)
            issuer.max_ttl = rooms.call_seconds
            free = issuer(ALICE.address)
            assert free.ttl == 300 and free.username.startswith(f"{int(clock.t) + 300}:")
            view.tiers.apply(
                "Subscribed", {"account": ALICE.address, "tier": 1, "expires_at": int(clock.t) + 9_999}
            )
            assert issuer(ALICE.address).username == free.username  # still over half of 600 s left
            clock.t += 200
            plus = issuer(ALICE.address)
            assert plus.ttl == 600 and plus.username != free.username  # the node's own cap
            clock.t += 100
            assert issuer(ALICE.address).username == plus.username  # reused while over half is left
            view.tiers.apply("Subscribed", {"account": ALICE.address, "tier": 1, "expires_at": 0})
            again = issuer(ALICE.address)
            assert again.ttl == 300  # back on the free tier: the held 500 s credential is too long

    run(scenario())


def test_room_ids_are_the_abi_encoding_hash() -> None:
    from eth_abi import encode
    from eth_utils import keccak

    assert room_id(5, "general") == keccak(encode(["uint256", "string"], [5, "general"]))
    assert room_id(5, "general") != room_id(5, "broadcast:general") != room_id(6, "general")


def test_a_turn_node_with_rooms_hands_out_credentials_capped_by_the_tier(tmp_path: Path) -> None:
    async def scenario() -> None:
        clock = Clock()
        issuer = TurnConfig(data_dir=tmp_path, credential_ttl=600).issuer()
        async with relay(RelayConfig(), turn_credentials=issuer) as server:
            enable_rooms(server, _view(clock))
            alice = await _client(server, ALICE)
            assert (await alice.turn_credentials()).ttl == 300  # the free tier's call limit
            await alice.close()

    run(scenario())


def test_a_rooms_relays_are_sampled_by_the_hash_of_its_id() -> None:
    from eth_utils import keccak

    from clubchat.communities.rooms import room_relays
    from clubchat.registry.kinds import RELAY

    class Registry:
        seeds: list[tuple[int, bytes, int]] = []

        def sample(self, kind: int, seed: bytes, k: int) -> list[str]:
            self.seeds.append((kind, seed, k))
            return ["0x" + "11" * 20, "0x" + "22" * 20]

        def endpoint(self, node: str, kind: int) -> str:
            return "wss://relay.example" if node.endswith("11") else "not a uri"

    registry = Registry()
    assert room_relays(registry, 5, "general", 2) == ["wss://relay.example"]  # type: ignore[arg-type]
    assert registry.seeds == [(RELAY, keccak(room_id(5, "general")), 2)]


def _direct(sender: Any, to: Any, id: str, padded: int) -> str:
    """A direct `sealed` envelope whose ciphertext is `padded` bytes of padded plaintext plus its tag
    (a stand-in: the relay never opens one)."""
    ct = base64.b64encode(b"x" * (padded + DIRECT_SEALED_OVERHEAD)).decode()
    sealed = m.Sealed(sid="ab" * 8, skid="cd" * 8, hdr="A" * 92, ct=ct)
    return envelope(sender.address, to.address, id, sealed)


def test_direct_sealed_envelopes_are_held_to_the_senders_tier() -> None:
    """A free sender's direct text over the tier's message size is refused with the reason; at the
    limit it is delivered; a tier-1 subscriber's larger one passes."""

    async def scenario() -> None:
        async with rooms_relay() as (server, _rooms, view, _clock):
            alice, bob = await Raw.open(server.uri), await Raw.open(server.uri)
            await alice.sign_in(ALICE)
            await bob.sign_in(BOB)
            await alice.send(_direct(ALICE, BOB, "id-limit", FREE_MESSAGE))
            got = await bob.frame()
            assert isinstance(got, m.Envelope) and got.id == "id-limit"
            assert (await alice.frame()) == m.Sent(id="id-limit", status="delivered")
            await alice.send(_direct(ALICE, BOB, "id-over", FREE_MESSAGE + 1))
            refused = await alice.frame()
            assert isinstance(refused, m.Error) and (refused.code, refused.id) == (
                "over-tier-limit",
                "id-over",
            )
            assert refused.reason == (
                f"tier 0 messages are limited to {FREE_MESSAGE} bytes of padded plaintext, this one has "
                f"{FREE_MESSAGE + 1}; a premium tier allows more"
            )
            view.tiers.apply("Subscribed", {"account": ALICE.address, "tier": 1, "expires_at": 2**40})
            await alice.send(_direct(ALICE, BOB, "id-paid", FREE_MESSAGE + 1))
            assert (await bob.frame()).id == "id-paid"
            for c in (alice, bob):
                await c.close()

    run(scenario())


def test_a_mailbox_holds_what_the_recipients_tier_allows(tmp_path: Path) -> None:
    """The recipient's tier caps the bytes a NOTIFY mailbox holds for it (here 3 envelopes' worth);
    the store over it is refused with the quota named, and nothing stored is lost."""

    async def scenario() -> None:
        clock = Clock()
        view = _view(clock)
        async with mailbox(tmp_path / "mb.sqlite") as box, relay(RelayConfig(), mailbox=box) as server:
            Rooms(server, view, RoomsConfig())
            frame = _direct(ALICE, CAROL, "id-0", 200)
            quota = 3 * len(frame.encode()) + 10
            limits = {"max_call_seconds": 300, "price_per_period": 0, "lock_amount": 0}
            view.tiers.apply(
                "TierChanged",
                {"tier": 0, "max_message_bytes": FREE_MESSAGE, "max_file_bytes": FREE_FILE}
                | limits
                | {"mailbox_quota_bytes": quota},
            )
            alice = await Raw.open(server.uri)
            await alice.sign_in(ALICE)
            for i in range(3):
                await alice.send(_direct(ALICE, CAROL, f"id-{i}", 200))
                assert (await alice.frame()) == m.Sent(id=f"id-{i}", status="stored")
            await alice.send(_direct(ALICE, CAROL, "id-3", 200))
            refused = await alice.frame()
            assert isinstance(refused, m.Error) and refused.code == "mailbox-full"
            assert f"its tier's quota of {quota:,} bytes" in refused.reason
            await alice.close()
            carol = await Raw.open(server.uri)
            await carol.sign_in(CAROL)
            got = [await carol.frame() for _ in range(3)]
            assert sorted(g.envelope.id for g in got) == ["id-0", "id-1", "id-2"]
            await carol.close()

    run(scenario())
