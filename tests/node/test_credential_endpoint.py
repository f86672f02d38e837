"""The TURN credential endpoint under a flood from many IPs: the node-wide request rate is shared in
turns between client IPs (clubchat.node.fairqueue), so IPs that each stay under the per-IP limit cannot
drain it and starve an honest client from another IP."""

from __future__ import annotations

import asyncio
import time

import pytest

from clubchat.node.fairqueue import FairQueue
from clubchat.node.localnet import http_status
from clubchat.node.relay import RelayConfig
from tests.node.harness import relay, run


def test_many_ips_under_the_per_ip_limit_do_not_starve_an_honest_ip() -> None:
    # 20 attacker IPs x 9 req/s = 180 req/s against a node-wide 20 req/s; the honest IP asks 2/s
    config = RelayConfig(
        http_rate_per_ip=10,
        http_burst_per_ip=10,
        http_rate_global=20,
        http_burst_global=20,
        http_queue_wait=2.0,
    )

    async def scenario() -> tuple[dict[int, int], list[int]]:
        async with relay(config) as server:
            port = int(server.uri.rsplit(":", 1)[1])
            attack: dict[int, int] = {}
            tasks: list[asyncio.Task[None]] = []
            done = asyncio.Event()

            async def one(ip: str) -> None:
                status = await http_status(ip, port, "/turn-credentials/nonce")
                attack[status] = attack.get(status, 0) + 1

            async def flood(ip: str) -> None:
                while not done.is_set():
                    tasks.append(asyncio.create_task(one(ip)))
                    await asyncio.sleep(1 / 9)

            async def honest() -> list[int]:
                out = []
                await asyncio.sleep(0.5)  # once the flood has drained the node-wide burst
                for _ in range(6):
                    out.append(await http_status("127.0.0.1", port, "/turn-credentials/nonce"))
                    await asyncio.sleep(0.3)
                done.set()
                return out

            results = await asyncio.gather(honest(), *(flood(f"127.0.0.{10 + i}") for i in range(20)))
            await asyncio.gather(*tasks)
            return attack, results[0]

    attack, honest = run(scenario())
    assert attack.get(429, 0) > 0, attack  # the flood is throttled ...
    assert honest == [200] * 6, honest  # ... the honest IP is not


def test_fair_queue_serves_waiting_keys_in_turns_and_bounds_each_queue() -> None:
    async def scenario() -> tuple[list[str], list[bool]]:
        fq = FairQueue(rate=50, burst=1, per_key=3, max_wait=2.0)
        order: list[str] = []

        async def ask(key: str) -> bool:
            ok = await fq.admit(key)
            if ok:
                order.append(key)
            return ok

        assert await fq.admit("a")  # the burst: admitted at once
        greedy = [asyncio.create_task(ask("greedy")) for _ in range(5)]  # 2 over its queue
        await asyncio.sleep(0)
        polite = asyncio.create_task(ask("polite"))
        results = await asyncio.gather(*greedy, polite)
        return order, results

    order, results = run(scenario())
    assert results.count(False) == 2  # greedy's 4th and 5th waiting requests were refused at once
    assert order.index("polite") <= 1, order  # served in the first turns, not after all of greedy's


def test_fair_queue_refuses_after_max_wait() -> None:
    async def scenario() -> list[bool]:
        fq = FairQueue(rate=0.1, burst=1, per_key=4, max_wait=0.2)
        first = await fq.admit("a")
        t0 = time.monotonic()
        second = await fq.admit("b")
        assert time.monotonic() - t0 < 1.0
        assert fq.queued == 0 and not fq.waiting and not fq.turns  # nothing left behind
        return [first, second]

    assert run(scenario()) == [True, False]
    with pytest.raises(ValueError, match="must be positive"):
        FairQueue(rate=0, burst=1)
