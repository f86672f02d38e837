"""A community room conversation end to end on a loopback relay with rooms and a mailbox: members read
each other through sender keys handed out pairwise; no text or chain key appears in any relay frame,
node log line or node file; a banned member cannot open what is sent after the ban (the key rotated:
at the next post, at once through the membership hook, and against anvil from the ban's event), and
a message that arrives before its sender's key is held until the key comes."""

from __future__ import annotations

import asyncio
import base64
import json
from collections import OrderedDict
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from clubchat.chain.tx import send_tx
from clubchat.client.relay_client import RelayError
from clubchat.client.secure import Secure
from clubchat.communities.rooms import RoomClient
from clubchat.communities.sealed import RoomPost, SealedRoom, members_of
from clubchat.crypto.session import DecryptError
from clubchat.node.relay import RelayConfig
from clubchat.node.rooms import CacheView, ChainFeed, Rooms, enable_rooms
from clubchat.protocol import messages as m
from tests.crypto.test_no_plaintext import Tap, node_logs, relay_frames  # noqa: F401 (fixtures)
from tests.node import test_rooms_chain as rooms_chain
from tests.node.chain_env import chain
from tests.node.harness import mailbox, relay, run

pytestmark = [pytest.mark.integration]

OWNER, ALICE, BOB, CAROL, DAVE = (Account.from_key("0x" + f"{i:02x}" * 32) for i in range(0x61, 0x66))
CID = 11


def _view() -> CacheView:
    """Community CID with ALICE, BOB, CAROL and DAVE as members, as the relay and clients see it."""
    view = CacheView(stale_after=3_600.0)
    view.membership.apply(
        "CommunityCreated",
        {
            "community_id": CID,
            "owner": OWNER.address,
            "policy": 1,
            "membership_seconds": 0,
            "fail_open": False,
        },
    )
    for who in (ALICE, BOB, CAROL, DAVE):
        view.membership.apply(
            "MemberJoined", {"community_id": CID, "account": who.address, "expires_at": 2**64 - 1}
        )
    view.mark_synced()
    return view


async def _member(uri: str, who: LocalAccount, view: CacheView) -> SealedRoom:
    client = await RoomClient.connect(uri, who, timeout=5)
    assert isinstance(client, RoomClient)
    room = SealedRoom(client, Secure(who), CID, members_of(view, CID))
    await room.join()
    return room


async def _read(room: SealedRoom, body: str) -> RoomPost:
    post = await room.next_post(10)
    assert post.payload == m.Text(body=body), (post, room.refused)
    return post


def test_room_members_read_each_other_and_the_relay_sees_no_plaintext(
    tmp_path: Path,
    relay_frames: list[str],  # noqa: F811
    node_logs: Tap,  # noqa: F811
) -> None:
    texts = [f"room probe {i} 5e{i}a: the club meets at nine" for i in range(6)]
    view = _view()

    async def scenario() -> tuple[m.RoomMessage, SealedRoom]:
        async with mailbox(tmp_path / "mailbox.sqlite") as box, relay(RelayConfig(), mailbox=box) as server:
            rooms = Rooms(server, view)
            alice = await _member(server.uri, ALICE, view)
            bob = await _member(server.uri, BOB, view)
            carol = await _member(server.uri, CAROL, view)
            # (a) every member reads every other
            await alice.send(texts[0])
            assert (await _read(bob, texts[0])).sender == ALICE.address
            await _read(carol, texts[0])
            await bob.send(texts[1])
            await _read(alice, texts[1])
            await _read(carol, texts[1])
            await carol.send(texts[2])
            await _read(alice, texts[2])
            await _read(bob, texts[2])
            assert alice.keys.epoch == bob.keys.epoch == carol.keys.epoch == 1
            with pytest.raises(TypeError, match="room messages are sealed"):  # no plaintext path
                await alice.client.send_room(CID, m.Text(body=texts[0]))  # type: ignore[arg-type]
            # a member who was offline (dave: no keys on the relay yet) gets every key when he joins
            dave = await _member(server.uri, DAVE, view)
            await bob.send(texts[3])
            await _read(dave, texts[3])
            await _read(alice, texts[3])
            await _read(carol, texts[3])
            # (c) carol is banned: the relay cuts her off, alice's next post rotates to a new epoch
            view.membership.apply(
                "Banned", {"community_id": CID, "account": CAROL.address, "by": OWNER.address}
            )
            assert rooms.recheck({(CID, CAROL.address.lower())}) == 1
            assert (await asyncio.wait_for(carol.client.left.get(), 5)).code == "banned"
            dave._tasks[0].cancel()  # dave reads no direct message for now: alice's new key waits
            await alice.send(texts[4])
            assert alice.keys.epoch == 2 and alice.stats["rotations"] == 1
            await _read(bob, texts[4])
            for _ in range(100):  # bound: 5 s
                if dave.pending:
                    break
                await asyncio.sleep(0.05)
            assert dave.posts.empty() and len(dave.pending) == 1  # held for alice's epoch-2 key
            dave._tasks[0] = asyncio.create_task(dave._read_direct())
            await _read(dave, texts[4])
            bob.membership_changed()  # the feed's on_change hook: bob rotates at once, before posting
            for _ in range(100):  # bound: 5 s
                if bob.keys.epoch == 2:
                    break
                await asyncio.sleep(0.05)
            assert bob.keys.epoch == 2 and bob.stats["rotations"] == 1
            await bob.send(texts[5])
            assert bob.keys.epoch == 2  # no second rotation
            await _read(alice, texts[5])
            await _read(dave, texts[5])
            after = [
                frame
                for frame in (m.decode_frame(f) for f in relay_frames if '"type":"room-message"' in f)
                if isinstance(frame, m.RoomMessage) and frame.payload.TYPE == "room-sealed"
            ]
            for room in (alice, bob, carol, dave):
                await room.close()
                await room.client.close()
            return after[-1], carol

    last, carol = run(scenario(), timeout=120)
    assert last.sender == BOB.address and isinstance(last.payload, m.RoomSealed) and last.payload.epoch == 2
    with pytest.raises(DecryptError, match="no chain of"):  # carol still holds bob's epoch-1 chain only
        carol.sealer.open(carol.name, last.sender, last.payload)
    assert carol.posts.qsize() == 0 and carol.stats["opened"] == 3
    # (b) the relay saw sealed room messages and sealed envelopes only
    rooms_out = [json.loads(f) for f in relay_frames if '"type":"room-send"' in f]
    assert len(rooms_out) == 6 and all(f["payload"]["type"] == "room-sealed" for f in rooms_out)
    envelopes = [json.loads(f) for f in relay_frames if f.startswith('{"type":"envelope"')]
    assert envelopes and all(env["payload"]["type"] == "sealed" for env in envelopes)
    files = [p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()]
    assert files
    for needle in [*texts, "chainKey", "sender-key"]:
        assert not [f for f in relay_frames if needle in f], f"a relay frame carries {needle!r}"
        assert not [line for line in node_logs.lines if needle in line], f"a node log line carries {needle!r}"
        assert not [blob for blob in files if needle.encode() in blob], f"a node file carries {needle!r}"


def test_a_ban_on_chain_rotates_the_key_through_the_membership_feed(tmp_path: Path) -> None:
    """Against anvil: the clients follow Communities' logs with their own ChainFeed; the ban's event
    makes alice start a new epoch at once (the feed's on_change), so bob cannot open her next post."""
    with chain(tmp_path) as c:
        communities, premium = rooms_chain._communities(c)
        cid = rooms_chain._community(c, communities, fail_open=False)
        owner = c.backend.account

        async def scenario() -> tuple[SealedRoom, m.RoomSealed]:
            async with relay(RelayConfig()) as server:
                relay_feed = ChainFeed(c.w3, communities, premium, c.manifest.block, depth=0, poll=0.1)
                client_feed = ChainFeed(c.w3, communities, premium, c.manifest.block, depth=0, poll=0.1)
                enable_rooms(server, relay_feed)
                followers = [asyncio.create_task(f.run()) for f in (relay_feed, client_feed)]
                await rooms_chain._wait_known(relay_feed, cid)
                await rooms_chain._wait_known(client_feed, cid)
                rooms = []
                for who in (rooms_chain.ALICE, rooms_chain.BOB):
                    client = await RoomClient.connect(server.uri, who, timeout=5)
                    assert isinstance(client, RoomClient)
                    rooms.append(SealedRoom(client, Secure(who), cid, members_of(client_feed, cid)))
                    await rooms[-1].join()
                alice, bob = rooms
                client_feed.on_change = alice.membership_changed
                await alice.send("before the ban 3d9e")
                await _read(bob, "before the ban 3d9e")
                await bob.send("bob speaks 77f0")
                await _read(alice, "bob speaks 77f0")
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(
                    None, send_tx, c.w3, owner, communities.functions.ban(cid, bob.client.address)
                )
                assert (await asyncio.wait_for(bob.client.left.get(), 10)).code == "banned"
                for _ in range(200):  # bound: 10 s
                    if alice.keys.epoch == 2:
                        break
                    await asyncio.sleep(0.05)
                assert alice.keys.epoch == 2 and alice.stats["rotations"] == 1  # before she posts
                sealed = await alice.seal(m.Text(body="after the ban 0b4c"))
                assert (await alice.client.send_room(cid, sealed)).delivered == 0
                for task in followers:
                    task.cancel()
                for room in rooms:
                    await room.close()
                    await room.client.close()
                return bob, sealed

        bob, sealed = run(scenario(), timeout=120)
        assert bob.stats["opened"] == 1 and sealed.epoch == 2
        with pytest.raises(DecryptError, match="for epoch 2"):
            bob.sealer.open(bob.name, rooms_chain.ALICE.address, sealed)


def test_a_room_file_reaches_the_members_and_the_relay_sees_only_ciphertext(
    tmp_path: Path,
    relay_frames: list[str],  # noqa: F811
    node_logs: Tap,  # noqa: F811
) -> None:
    """A file posted to a room opens for every member; no byte of it (nor its name or type), in the
    clear or in base64, is in any relay frame, node log line or node file; the relay's tier check
    still holds on the declared ciphertext size."""
    view = _view()
    content = b"minutes of the closed board meeting: budget 41,977 " * 1_500  # 76.5 KiB, three chunks
    name, mime = "board-minutes-secret.txt", "text/x-board-minutes"

    async def scenario() -> None:
        async with mailbox(tmp_path / "mailbox.sqlite") as box, relay(RelayConfig(), mailbox=box) as server:
            rooms = Rooms(server, view)
            alice = await _member(server.uri, ALICE, view)
            bob = await _member(server.uri, BOB, view)
            # the tier's file limit applies to the declared size, the ciphertext's: 16 bytes a chunk more
            _tier(view, len(content) + 3 * 16 - 1)
            with pytest.raises(RelayError) as refused:
                await alice.send_file(content, mime, name)
            assert refused.value.code == "over-tier-limit"
            _tier(view, len(content) + 3 * 16)
            key = await alice.send_file(content, mime, name)
            got = await bob.next_file(10)
            assert (got.data, got.name, got.mime, got.sender) == (content, name, mime, ALICE.address.lower())
            assert got.file_id == key.file_id and alice.files.empty() and bob.refused == []
            assert rooms.files == OrderedDict()  # every transfer the relay tracked is complete
            for room in (alice, bob):
                await room.close()
                await room.client.close()

    run(scenario(), timeout=60)
    chunks = [json.loads(f) for f in relay_frames if f.startswith('{"type":"room-file"')]
    assert len(chunks) >= 3 and {c["file"]["size"] for c in chunks} == {len(content) + 3 * 16}
    files = [p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()]
    b64 = base64.b64encode(content).decode()
    needles = [content[:40].decode(), "closed board meeting", name, mime, b64[:60], b64[40_000:40_060]]
    for needle in needles:
        assert not [f for f in relay_frames if needle in f], f"a relay frame carries {needle!r}"
        assert not [line for line in node_logs.lines if needle in line], f"a node log line carries {needle!r}"
        assert not [blob for blob in files if needle.encode() in blob], f"a node file carries {needle!r}"


def test_the_free_tier_message_limit_counts_the_padded_plaintext(tmp_path: Path) -> None:
    """A free tier of 16,384 message bytes admits every sealed text that pads to the 16 KiB bucket
    (before, the relay counted the base64 frame, about 22 KB for that bucket, so the free tier's
    largest sealed text was about 4 KB) and refuses the next bucket with the reason."""
    view = _view()
    _tier(view, 10**6, max_message_bytes=16_384)

    async def scenario() -> tuple[int, str]:
        async with relay(RelayConfig()) as server:
            Rooms(server, view)
            alice = await _member(server.uri, ALICE, view)
            bob = await _member(server.uri, BOB, view)
            longest = 16_384 - 200  # the inner payload's JSON wrapper and the padding byte fit in 200
            sent = await alice.post(m.Text(body="y" * longest))
            assert sent.delivered == 1
            await _read(bob, "y" * longest)
            with pytest.raises(RelayError) as refused:
                await alice.post(m.Text(body="y" * 16_384))  # pads to the 44 KiB bucket
            for room in (alice, bob):
                await room.close()
                await room.client.close()
            return longest, refused.value.reason

    longest, reason = run(scenario(), timeout=60)
    assert longest > 16_000
    assert reason == (
        "tier 0 messages are limited to 16384 bytes of padded plaintext, this one has 45056; "
        "a premium tier allows more"
    )


def _tier(view: CacheView, max_file_bytes: int, max_message_bytes: int = 60_000) -> None:
    """Tier 0 (everyone's) with room messages up to `max_message_bytes` and files up to `max_file_bytes`."""
    view.tiers.apply(
        "TierChanged",
        {
            "tier": 0,
            "max_message_bytes": max_message_bytes,
            "max_file_bytes": max_file_bytes,
            "max_call_seconds": 300,
            "mailbox_quota_bytes": 10**6,
            "price_per_period": 0,
            "lock_amount": 0,
        },
    )
