"""Load: 500 concurrent signed-in clients x 100 messages each through one relay process, zero loss.

Client i sends 100 envelopes to client i+1 (mod 500) as fast as its socket takes them; every
sender must get 100 `sent: delivered` and every recipient exactly its sender's 100 ids, in order.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from eth_account import Account

from clubchat.client.relay_client import RelayClient
from clubchat.protocol import messages as m
from tests.node.harness import run
from tests.node.process import NodeProcess

CLIENTS = 500
MESSAGES = 100


@pytest.mark.slow
def test_500_clients_x_100_messages_zero_loss(tmp_path: Path) -> None:
    accounts = [Account.from_key((i + 1).to_bytes(32, "big")) for i in range(CLIENTS)]
    # 500 clients on one IP: exempt loopback from the per-IP limits (a hostile internet is not the point)
    node = NodeProcess(tmp_path, "--kinds", "relay", "--per-ip-exempt", "127.0.0.1/32")
    timings: dict[str, float] = {}
    try:

        async def scenario() -> None:
            t0 = time.perf_counter()
            sem = asyncio.Semaphore(64)  # connection attempts in flight

            async def connect(acct: object) -> RelayClient:
                async with sem:
                    return await RelayClient.connect(node.uri, acct, timeout=60)  # type: ignore[arg-type]

            clients = await asyncio.gather(*(connect(a) for a in accounts))
            timings["sign_in_s"] = time.perf_counter() - t0
            sent_ok = [0] * CLIENTS
            for i, c in enumerate(clients):
                original = c._dispatch

                async def count(frame: object, i: int = i, original: object = original) -> None:
                    if isinstance(frame, m.Sent) and frame.status == "delivered":
                        sent_ok[i] += 1
                    await original(frame)  # type: ignore[operator]

                c._dispatch = count  # type: ignore[method-assign]

            t1 = time.perf_counter()

            async def send_all(i: int) -> list[str]:
                to = accounts[(i + 1) % CLIENTS].address
                return [await clients[i].send_nowait(to, m.Text(body=f"{i}:{j}")) for j in range(MESSAGES)]

            sent_ids = await asyncio.gather(*(send_all(i) for i in range(CLIENTS)))

            async def receive_all(i: int) -> list[str]:
                return [(await clients[i].receive(30)).envelope.id for _ in range(MESSAGES)]

            received = await asyncio.gather(*(receive_all(i) for i in range(CLIENTS)))
            for _ in range(300):
                if sum(sent_ok) == CLIENTS * MESSAGES:
                    break
                await asyncio.sleep(0.1)
            timings["messages_s"] = time.perf_counter() - t1
            for i in range(CLIENTS):
                assert received[(i + 1) % CLIENTS] == sent_ids[i]  # all of them, in order
                assert clients[i].inbox.empty()
            assert sent_ok == [MESSAGES] * CLIENTS
            await asyncio.gather(*(c.close() for c in clients))

        run(scenario(), timeout=170)
    finally:
        node.stop()
    print(
        f"\nload: sign-in of {CLIENTS} clients {timings['sign_in_s']:.1f} s, "
        f"{CLIENTS * MESSAGES} messages {timings['messages_s']:.1f} s"
    )
