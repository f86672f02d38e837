"""NOTIFY mailbox durability: an envelope the node confirmed as `stored` survives `kill -9` of the
node process, is delivered on the recipient's next sign-in, and is deleted only after its ack."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest
from eth_account import Account

from clubchat.client.relay_client import RelayClient, RelayError
from clubchat.protocol import messages as m
from tests.node.harness import Raw, run
from tests.node.process import NodeProcess

pytestmark = [pytest.mark.integration]

alice = Account.from_key("0x" + "a1" * 32)
carol = Account.from_key("0x" + "c3" * 32)


def test_stored_messages_survive_kill_9_and_are_deleted_only_on_ack(tmp_path: Path) -> None:
    confirmed: list[str] = []

    async def flood(uri: str, stop_after: float) -> None:
        a = await RelayClient.connect(uri, alice)
        i = 0

        async def loop() -> None:
            nonlocal i
            while True:
                sent = await a.send(carol.address, m.Text(body=f"offline {i}"), id=f"k{i}")
                assert sent.status == "stored"
                confirmed.append(sent.id)
                i += 1

        with contextlib.suppress(TimeoutError, RelayError, OSError):
            await asyncio.wait_for(loop(), stop_after)
        # leave the socket open: the node dies under it

    node = NodeProcess(tmp_path, "--kinds", "relay,notify")
    try:
        run(flood(node.uri, 1.5))
    finally:
        node.kill()  # SIGKILL while Alice may still be mid-send
    assert len(confirmed) >= 10, confirmed

    node = NodeProcess(tmp_path, "--kinds", "relay,notify")
    try:

        async def read_without_ack() -> list[str]:
            raw = await Raw.open(node.uri)
            await raw.sign_in(carol)
            ids = []
            while True:
                try:
                    frame = await raw.frame(2)
                except TimeoutError:
                    break
                assert isinstance(frame, m.Stored)
                ids.append(frame.envelope.id)
            await raw.close()
            return ids

        first = run(read_without_ack())
        assert set(confirmed) <= set(first), set(confirmed) - set(first)
        assert first[: len(confirmed)] == confirmed  # oldest first
    finally:
        node.kill()  # again, before anything was acknowledged

    node = NodeProcess(tmp_path, "--kinds", "relay,notify")
    try:

        async def receive_and_ack() -> list[str]:
            c = await RelayClient.connect(node.uri, carol)
            ids = [(await c.receive(5)).envelope.id for _ in range(len(first))]
            await asyncio.sleep(0.5)  # let the acks reach the node
            await c.close()
            return ids

        assert sorted(run(receive_and_ack())) == sorted(first)
        assert run(read_without_ack()) == []  # acknowledged means deleted
    finally:
        node.stop()
    assert node.proc.returncode == 0
