"""`club room send|listen` against a loopback relay that enforces a community's membership: the text
travels end-to-end encrypted between two members (the other one a SealedRoom in a thread)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from eth_account import Account

from clubchat.cli import main
from clubchat.client.secure import Secure
from clubchat.communities.rooms import RoomClient
from clubchat.communities.sealed import RoomPost, SealedRoom
from clubchat.node.relay import RelayConfig, RelayServer
from clubchat.node.rooms import CacheView, Rooms
from clubchat.protocol import messages as m

MEMBER, OUTSIDER, BANNED, OTHER = (Account.from_key("0x" + f"{i:02x}" * 32) for i in (0x41, 0x42, 0x43, 0x44))
CID = 3


@pytest.fixture
def relay_uri() -> Iterator[str]:
    """A relay with rooms on its own event loop thread; MEMBER, OTHER and BANNED joined, BANNED then
    banned."""
    view = CacheView()
    view.membership.apply(
        "CommunityCreated",
        {
            "community_id": CID,
            "owner": MEMBER.address,
            "policy": 1,
            "membership_seconds": 0,
            "fail_open": False,
        },
    )
    for who in (MEMBER, BANNED, OTHER):
        view.membership.apply(
            "MemberJoined", {"community_id": CID, "account": who.address, "expires_at": 2**64 - 1}
        )
    view.membership.apply("Banned", {"community_id": CID, "account": BANNED.address, "by": MEMBER.address})
    view.mark_synced()
    view.stale_after = 3_600.0
    loop = asyncio.new_event_loop()
    server = RelayServer(RelayConfig())
    Rooms(server, view)
    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert started.wait(10)
    try:
        yield server.uri
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def _club(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def _as_member(relay_uri: str, *args: str) -> tuple[int, str]:
    """`club room ARGS` as MEMBER on the relay, sharing keys with OTHER."""
    return _club("room", *args, "--relay", relay_uri, "--member", OTHER.address, "--key", MEMBER.key.hex())


class Other(threading.Thread):
    """OTHER in the room on its own event loop: it reads one post (`send` unset) or, once MEMBER's
    keys are on the relay (its listener joined), posts `send`."""

    def __init__(self, uri: str, send: str | None = None) -> None:
        super().__init__(daemon=True)
        self.uri, self.send = uri, send
        self.joined = threading.Event()
        self.post: RoomPost | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            asyncio.run(asyncio.wait_for(self._go(), 30))
        except BaseException as exc:
            self.error = exc

    async def _go(self) -> None:
        client = await RoomClient.connect(self.uri, OTHER, timeout=5)
        assert isinstance(client, RoomClient)
        room = SealedRoom(client, Secure(OTHER), CID, lambda: [MEMBER.address, OTHER.address])
        await room.join()
        self.joined.set()
        if self.send is None:
            self.post = await room.next_post(20)
        else:
            while (await client.get_keys(MEMBER.address)).bundle is None:  # bound: the 30 s timeout
                await asyncio.sleep(0.05)
            await room.send(self.send)
            await asyncio.sleep(0.5)  # answer MEMBER's key with ours before going
        await room.close()
        await client.close()


def test_a_member_posts_sealed_and_another_member_reads_it(relay_uri: str) -> None:
    other = Other(relay_uri)
    other.start()
    assert other.joined.wait(10)
    code, out = _as_member(relay_uri, "send", str(CID), "hello from the CLI")
    assert code == 0, out
    sent = json.loads(out)
    assert (sent["event"], sent["seq"], sent["delivered"], sent["relay"]) == ("sent", 1, 1, relay_uri)
    assert sent["keys_sent"] == 1
    other.join(30)
    assert other.error is None and other.post is not None
    assert (other.post.payload, other.post.sender, other.post.seq) == (
        m.Text(body="hello from the CLI"),
        MEMBER.address,
        1,
    )


def test_a_listener_opens_what_another_member_sends(relay_uri: str) -> None:
    other = Other(relay_uri, send="hello to the CLI")
    other.start()
    code, out = _as_member(relay_uri, "listen", str(CID), "--count", "1", "--seconds", "20")
    other.join(30)
    assert code == 0, out
    assert other.error is None
    joined, message = (json.loads(line) for line in out.splitlines())
    assert joined["event"] == "joined"
    assert (message["text"], message["from"], message["seq"]) == ("hello to the CLI", OTHER.address, 1)


@pytest.mark.parametrize(
    ("who", "code"), [(OUTSIDER, "not-member"), (BANNED, "banned")], ids=["outsider", "banned"]
)
def test_the_relay_refuses_with_its_reason(relay_uri: str, who: object, code: str) -> None:
    key = who.key.hex()  # type: ignore[attr-defined]
    exit_code, out = _club(
        "room", "send", str(CID), "let me in", "--relay", relay_uri, "--member", MEMBER.address, "--key", key
    )
    assert exit_code == 1 and f"the relay refused: {code}:" in out
    exit_code, out = _club(
        "room",
        "listen",
        str(CID),
        "--seconds",
        "1",
        "--relay",
        relay_uri,
        "--member",
        MEMBER.address,
        "--key",
        key,
    )
    assert exit_code == 1 and f"the relay refused: {code}:" in out
