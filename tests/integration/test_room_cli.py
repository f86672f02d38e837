"""`club room send|listen` against a loopback relay that enforces a community's membership."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from eth_account import Account

from clubchat.cli import main
from clubchat.node.relay import RelayConfig, RelayServer
from clubchat.node.rooms import CacheView, Rooms

MEMBER, OUTSIDER, BANNED = (Account.from_key("0x" + f"{i:02x}" * 32) for i in (0x41, 0x42, 0x43))
CID = 3


@pytest.fixture
def relay_uri() -> Iterator[str]:
    """A relay with rooms on its own event loop thread; MEMBER and BANNED joined, BANNED then banned."""
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
    for who in (MEMBER, BANNED):
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


def test_a_member_posts_and_a_listener_gets_it(relay_uri: str) -> None:
    code, out = _club(
        "room", "send", str(CID), "hello from the CLI", "--relay", relay_uri, "--key", MEMBER.key.hex()
    )
    assert code == 0, out
    sent = json.loads(out)
    assert (sent["event"], sent["seq"], sent["delivered"], sent["relay"]) == ("sent", 1, 0, relay_uri)
    code, out = _club(
        "room",
        "listen",
        str(CID),
        "--count",
        "1",
        "--seconds",
        "10",
        "--relay",
        relay_uri,
        "--key",
        MEMBER.key.hex(),
    )
    assert code == 0, out
    joined, message = (json.loads(line) for line in out.splitlines())
    assert joined["event"] == "joined" and joined["seq"] == 1
    assert (message["text"], message["from"], message["seq"]) == ("hello from the CLI", MEMBER.address, 1)


@pytest.mark.parametrize(
    ("who", "code"), [(OUTSIDER, "not-member"), (BANNED, "banned")], ids=["outsider", "banned"]
)
def test_the_relay_refuses_with_its_reason(relay_uri: str, who: object, code: str) -> None:
    key = who.key.hex()  # type: ignore[attr-defined]
    exit_code, out = _club("room", "send", str(CID), "let me in", "--relay", relay_uri, "--key", key)
    assert exit_code == 1 and f"the relay refused: {code}:" in out
    exit_code, out = _club("room", "listen", str(CID), "--seconds", "1", "--relay", relay_uri, "--key", key)
    assert exit_code == 1 and f"the relay refused: {code}:" in out
