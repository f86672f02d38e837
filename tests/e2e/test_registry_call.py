"""The whole path on a real chain: operators register and stake in NodeRegistry, nodes check their
registration and heartbeat with their node keys, the client finds Bob's rendezvous relays and a
TURN node ONLY through the registry's views and calls him; the nodes' registry cache keeps serving
when the RPC goes away."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from eth_account import Account

from clubchat.chain import LocalSender, load_manifest
from clubchat.client.session import Listener, place_call
from clubchat.node.localnet import free_port_range
from clubchat.node.runner import Node, NodeConfig
from clubchat.node.turn import TurnConfig
from clubchat.protocol import messages as m
from clubchat.registry import (
    NOTIFY,
    RELAY,
    TURN,
    HeartbeatStatus,
    NodeRegistryClient,
    Registration,
    RegistryCache,
    RegistryDiscovery,
    check_registration,
    heartbeat_loop,
    rendezvous,
)
from tests.node.chain_env import WAD, chain
from tests.node.harness import run

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("fast_ice")]

alice = Account.from_key("0x" + "a1" * 32)
bob = Account.from_key("0x" + "b2" * 32)


def test_registered_nodes_carry_a_call_found_through_the_registry(tmp_path: Path) -> None:
    with chain(tmp_path) as c:
        stake = 3 * c.registry.functions.min_self_stake_per_kind().call()

        async def scenario() -> None:
            nodes: list[Node] = []
            tasks: list[asyncio.Task[None]] = []
            beats: list[HeartbeatStatus] = []
            try:
                # two relay+notify nodes and one TURN node, each with an operator and a node key
                regs = []
                for i in range(3):
                    turn = i == 2
                    if turn:
                        base = free_port_range(42)
                        tc = TurnConfig(
                            data_dir=tmp_path / "n2" / "coturn",
                            port=base,
                            min_port=base + 1,
                            max_port=base + 40,
                            allow_loopback_peers=True,
                        )
                        cfg = NodeConfig(data_dir=tmp_path / "n2", kinds=frozenset({"turn"}), turn=tc)
                    else:
                        cfg = NodeConfig(data_dir=tmp_path / f"n{i}", kinds=frozenset({"relay", "notify"}))
                    node = Node(cfg)
                    await node.start()
                    nodes.append(node)
                    assert node.relay is not None
                    operator, key = Account.create(), Account.create()
                    c.fund(operator.address, stake // WAD + 1)
                    c.fund(key.address, 0)
                    if turn:
                        reg = Registration(TURN, {TURN: tc.uri}, key.address, node.relay.credential_uri)
                    else:
                        uri = node.relay.uri
                        reg = Registration(
                            RELAY | NOTIFY, {RELAY: uri, NOTIFY: "http" + uri.removeprefix("ws")}, key.address
                        )
                    NodeRegistryClient(c.w3, c.manifest, LocalSender(c.w3, operator)).register(
                        reg, stake, LocalSender(c.w3, key)
                    )
                    assert check_registration(c.registry, operator.address, reg) == []
                    wrong = Registration(
                        reg.kinds,
                        {k: v + "x" for k, v in reg.endpoints.items()},
                        operator.address,
                        reg.credential_endpoint,
                    )
                    assert len(check_registration(c.registry, operator.address, wrong)) == 1 + bin(
                        reg.kinds
                    ).count("1")
                    assert check_registration(c.registry, Account.create().address, reg)[0].endswith(
                        "run `club node register` first"
                    )
                    regs.append((operator, reg))
                    status = HeartbeatStatus()
                    beats.append(status)
                    tasks.append(
                        asyncio.create_task(heartbeat_loop(c.w3, c.registry, key, status, interval=3600))
                    )
                for _ in range(200):
                    if all(b.beats for b in beats):
                        break
                    await asyncio.sleep(0.05)
                assert all(b.beats == 1 and b.last_error is None for b in beats), beats
                # the client knows nothing but the manifest and the RPC
                manifest = load_manifest(c.manifest_path)
                discovery = RegistryDiscovery(c.w3, manifest)
                relays = rendezvous(discovery, bob.address)
                assert sorted(relays) == sorted(n.relay.uri for n in nodes[:2])  # type: ignore[union-attr]
                listener = Listener(bob, discovery)
                await listener.start()
                session = await place_call(alice, discovery, bob.address)
                incoming = await asyncio.wait_for(listener.calls.get(), 10)
                assert session.turn.node == regs[2][0].address
                assert session.turn.turn_uri == regs[2][1].endpoints[TURN]
                assert session.call.stats.candidate_types == ("relay", "relay")
                assert session.relay_endpoint == relays[0]
                await session.hang_up()
                await incoming.close()
                await listener.close()
                # the node-side registry cache, then the RPC goes away
                cache = RegistryCache(c.w3, c.registry, manifest.block, depth=0, poll=0.2)
                tasks.append(asyncio.create_task(cache.run()))
                for _ in range(100):
                    if cache.rpc_ok and len(cache.nodes) == 3:
                        break
                    await asyncio.sleep(0.05)
                assert cache.status()["rpc"] == "up"
                for operator, reg in regs:
                    cached = cache.nodes[operator.address]
                    assert (cached.kinds, cached.node_key, cached.endpoints) == (
                        reg.kinds,
                        reg.node_key,
                        reg.endpoints,
                    )
                    assert cached.last_beat > 0
                assert cache.nodes[regs[2][0].address].credential_endpoint == regs[2][1].credential_endpoint
                c.anvil.stop()
                for _ in range(100):
                    if not cache.rpc_ok:
                        break
                    await asyncio.sleep(0.1)
                status = cache.status()
                assert status["rpc"] == "down" and status["last_error"] and status["nodes"] == 3
                # the relays keep serving with the chain gone
                from clubchat.client.relay_client import RelayClient

                a = await RelayClient.connect(relays[0], alice)
                b = await RelayClient.connect(relays[0], bob)
                assert (await a.send(bob.address, m.Text(body="still here"))).status == "delivered"
                assert (await b.receive(5)).envelope.payload == m.Text(body="still here")
                await a.close()
                await b.close()
            finally:
                for t in tasks:
                    t.cancel()
                for n in nodes:
                    await n.stop()

        run(scenario(), timeout=240)
