"""End to end on loopback: a call (offer, answer, candidates, remove-candidates, bye), live messages and
an offline message stored in a NOTIFY mailbox. No text body, SDP line or ICE candidate string appears
in any frame a relay received or sent, in any log line of the node loggers, or in any file the nodes
wrote (the mailbox and key-bundle SQLite files with their WAL pages, coturn's files)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from clubchat.client.session import Listener, place_call, publish_keys, send_message
from clubchat.node.localnet import local_network
from clubchat.node.relay import RelayServer
from clubchat.protocol import messages as m
from tests.node.harness import run

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("fast_ice")]

alice = Account.from_key("0x" + "a7" * 32)
bob = Account.from_key("0x" + "b8" * 32)
carol = Account.from_key("0x" + "c9" * 32)
NODE_LOGGERS = (
    "clubchat.relay",
    "clubchat.mailbox",
    "clubchat.keybundles",
    "clubchat.node",
    "websockets.server",
)


class Tap(logging.Handler):
    """Every record of the node loggers, formatted with its arguments."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(
            record.getMessage() + (self.formatException(record.exc_info) if record.exc_info else "")
        )


@pytest.fixture
def relay_frames(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every frame any RelayServer of this test received or queued for sending."""
    frames: list[str] = []
    frame, push = RelayServer._frame, RelayServer._push

    async def tapped_frame(self: RelayServer, conn: Any, raw: str | bytes) -> bool:
        frames.append(raw if isinstance(raw, str) else raw.decode(errors="replace"))
        return await frame(self, conn, raw)

    def tapped_push(self: RelayServer, conn: Any, text: str, budgeted: bool = False) -> bool:
        frames.append(text)
        return push(self, conn, text, budgeted)

    monkeypatch.setattr(RelayServer, "_frame", tapped_frame)
    monkeypatch.setattr(RelayServer, "_push", tapped_push)
    yield frames


@pytest.fixture
def node_logs() -> Iterator[Tap]:
    tap = Tap()
    loggers = [logging.getLogger(name) for name in NODE_LOGGERS]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(tap)
        lg.setLevel(logging.DEBUG)
    yield tap
    for lg, level in zip(loggers, levels, strict=True):
        lg.removeHandler(tap)
        lg.setLevel(level)


def _sdp_secrets(sdp: str) -> list[str]:
    """The lines of an SDP that identify it: ICE credentials and the DTLS fingerprint."""
    keep = ("a=ice-ufrag:", "a=ice-pwd:", "a=fingerprint:")
    return [line for line in sdp.splitlines() if line.startswith(keep)]


def test_relays_and_mailboxes_see_no_plaintext(
    tmp_path: Path, relay_frames: list[str], node_logs: Tap
) -> None:
    texts = ["the plaintext probe 7f3a: meet at the club at nine", "a second probe 91c2, sent live"]
    offline = "the offline probe d04e: stored while carol is away"

    async def scenario() -> tuple[list[str], list[str], list[bytes]]:
        async with local_network(tmp_path) as net:
            listener = Listener(bob, net.discovery)
            await listener.start()
            session = await place_call(alice, net.discovery, bob.address)
            incoming = await asyncio.wait_for(listener.calls.get(), 10)
            for body in texts:
                assert (await send_message(alice, net.discovery, bob.address, body))[0].status == "delivered"
                got = await asyncio.wait_for(listener.messages.get(), 10)
                assert got.envelope.payload == m.Text(body=body)
            signals: list[str] = [
                c.sdp for c in (*session.call.local_candidates, *incoming.call.local_candidates)
            ]
            for call in (session.call, incoming.call):
                signals += _sdp_secrets(str(call.pc.localDescription.sdp))
            await session.hang_up("probe hang-up 5be1")
            for _ in range(100):
                if incoming.call.ended:
                    break
                await asyncio.sleep(0.05)
            assert incoming.call.ended == "probe hang-up 5be1"  # bye arrived, and it was sealed
            await incoming.close()
            await listener.close()
            assert len(await publish_keys(carol, net.discovery)) == 2
            sent, _ = await send_message(alice, net.discovery, carol.address, offline)
            assert sent.status == "stored"
            stored_pages = [p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()]
            carol_listener = Listener(carol, net.discovery)
            await carol_listener.start()
            got = await asyncio.wait_for(carol_listener.messages.get(), 10)
            assert got.envelope.payload == m.Text(body=offline)
            await carol_listener.close()
            return signals, stored_pages, [p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()]

    signals, stored_pages, files = run(scenario(), timeout=120)
    assert len(signals) >= 6 and all(len(s) >= 16 for s in signals)
    needles = [*texts, offline, "probe hang-up 5be1", *signals]
    # the relays saw the call and the messages: sealed payloads, nothing else
    envelopes = [f for f in relay_frames if '"type":"envelope"' in f]
    assert sum('"type":"sealed-signal"' in f for f in envelopes) >= 4  # offer, answer, candidates, bye
    assert sum('"type":"sealed"' in f for f in envelopes) >= 3  # the texts
    assert all('"payload":{"type":"sealed' in f for f in envelopes)
    # in one Double Ratchet session Alice -> Bob, whose openings stopped once Bob answered; the ratchet
    # headers (keys, counters) travel encrypted
    sent = [env for env in (json.loads(f) for f in envelopes) if env["type"] == "envelope"]
    payloads = [env["payload"] for env in sent]
    to_bob = [env["payload"] for env in sent if env["to"] == bob.address]
    assert len({p["sid"] for p in to_bob}) == 1
    assert all("dh" not in p and "n" not in p and len(p["hdr"]) == 92 for p in payloads)  # headers sealed
    assert any("enc" in p for p in to_bob) and not all("enc" in p for p in to_bob)
    for needle in needles:
        assert not [f for f in relay_frames if needle in f], f"a relay frame carries {needle!r}"
        assert not [line for line in node_logs.lines if needle in line], f"a node log line carries {needle!r}"
        for blob in (*stored_pages, *files):
            assert needle.encode() not in blob, f"a node file carries {needle!r}"
    assert any(b.startswith(b"SQLite format 3") for b in stored_pages)  # the mailbox file was read
