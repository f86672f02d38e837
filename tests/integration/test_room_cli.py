"""`club room send|listen` against a loopback relay that enforces a community's membership: the text
travels end-to-end encrypted between two members (the other one a SealedRoom in a thread)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from eth_account import Account

from clubchat.cli import main
from clubchat.client.secure import Secure
from clubchat.communities.rooms import RoomClient
from clubchat.communities.sealed import RoomPost, SealedRoom
from clubchat.crypto.roomfiles import MAX_BYTES, OpenedFile
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

    def __init__(
        self,
        uri: str,
        send: str | None = None,
        *,
        file: tuple[bytes, str] | None = None,
        take_file: bool = False,
    ) -> None:
        super().__init__(daemon=True)
        self.uri, self.send, self.file, self.take_file = uri, send, file, take_file
        self.joined = threading.Event()
        self.post: RoomPost | None = None
        self.opened: OpenedFile | None = None
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
        if self.take_file:
            self.opened = await room.next_file(20)
        elif self.send is None and self.file is None:
            self.post = await room.next_post(20)
        else:
            while (await client.get_keys(MEMBER.address)).bundle is None:  # bound: the 30 s timeout
                await asyncio.sleep(0.05)
            if self.file is not None:
                await room.send_file(self.file[0], "text/plain", self.file[1])
            else:
                await room.send(str(self.send))
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


def test_a_member_posts_a_file_sealed_and_another_member_opens_it(relay_uri: str, tmp_path: Path) -> None:
    data = os.urandom(100_000)  # four chunks
    path = tmp_path / "minutes.txt"
    path.write_bytes(data)
    other = Other(relay_uri, take_file=True)
    other.start()
    assert other.joined.wait(10)
    code, out = _as_member(relay_uri, "send-file", str(CID), str(path))
    assert code == 0, out
    sent = json.loads(out)
    assert (sent["event"], sent["name"], sent["mime"], sent["bytes"], sent["chunks"]) == (
        "sent-file",
        "minutes.txt",
        "text/plain",
        100_000,
        4,
    )
    assert sent["sha256"] == hashlib.sha256(data).hexdigest() and sent["relay"] == relay_uri
    other.join(30)
    assert other.error is None and other.opened is not None
    assert (other.opened.data, other.opened.name, other.opened.sender.lower(), other.opened.file_id) == (
        data,
        "minutes.txt",
        MEMBER.address.lower(),
        sent["file_id"],
    )


def test_a_listener_writes_the_files_members_post(relay_uri: str, tmp_path: Path) -> None:
    data = os.urandom(40_000)
    other = Other(relay_uri, file=(data, "../../notes about/the board.txt"))  # the sender picks the name
    other.start()
    out_dir = tmp_path / "got"
    code, out = _as_member(
        relay_uri, "listen", str(CID), "--count", "1", "--seconds", "20", "--files", str(out_dir)
    )
    other.join(30)
    assert code == 0, out
    assert other.error is None
    joined, event = (json.loads(line) for line in out.splitlines())
    assert joined["event"] == "joined"
    assert (event["event"], event["from"], event["bytes"], event["mime"]) == (
        "file",
        OTHER.address,
        40_000,
        "text/plain",
    )
    assert event["name"] == "../../notes about/the board.txt"
    written = Path(event["path"])
    assert written.parent == out_dir and written.name == f"{event['file_id']}-_.._notes_about_the_board.txt"
    assert written.read_bytes() == data and event["sha256"] == hashlib.sha256(data).hexdigest()
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == [written.name]


def test_a_file_members_would_not_take_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    path = tmp_path / "huge.bin"
    with path.open("wb") as f:
        f.truncate(MAX_BYTES + 1)
    code, out = _club(
        "room", "send-file", str(CID), str(path), "--relay", "ws://127.0.0.1:9", "--key", MEMBER.key.hex()
    )
    assert code == 1
    assert f"has {MAX_BYTES + 1:,} bytes; members take room files of at most {MAX_BYTES:,} bytes" in out


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
