"""A throwaway loopback network of nodes for tests, benchmarks and the demo (not for production).

`local_network(dir, relays=n)` starts n RELAY+NOTIFY nodes and one TURN node (coturn with
`--allow-loopback-peers`, which only loopback calls need) in this process and registers them in an
`InMemoryDiscovery`; everything is stopped on exit. Chain-backed runs use the registry instead.
"""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from eth_account import Account

from clubchat.node.keybundles import Replicator
from clubchat.node.runner import Node, NodeConfig
from clubchat.node.turn import TurnConfig
from clubchat.registry import NOTIFY, RELAY, TURN, InMemoryDiscovery, NodeRecord


def _free(port: int) -> bool:
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def free_port_range(size: int = 1) -> int:
    """First of `size` consecutive ports free for TCP and UDP on 127.0.0.1 (never a default port)."""
    for _ in range(200):  # bound: 200 random tries
        base = random.randrange(20_000, 60_000 - size)
        if all(_free(p) for p in range(base, base + size)):
            return base
    raise RuntimeError("no free loopback port range found")


async def http_status(source_ip: str, port: int, path: str, timeout: float = 10.0) -> int:
    """Status code of `GET path` on 127.0.0.1:`port` sent from `source_ip` (Linux routes all of 127/8
    to lo, so one machine can play many client IPs)."""
    sock = socket.socket()
    sock.setblocking(False)
    sock.bind((source_ip, 0))
    loop = asyncio.get_running_loop()
    await asyncio.wait_for(loop.sock_connect(sock, ("127.0.0.1", port)), timeout)
    reader, writer = await asyncio.open_connection(sock=sock)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        return int((await asyncio.wait_for(reader.readline(), timeout)).split()[1])
    finally:
        writer.transport.abort()


@dataclass
class LocalNetwork:
    discovery: InMemoryDiscovery
    nodes: dict[str, Node] = field(default_factory=dict)  # operator -> node
    turn_operator: str = ""
    replicators: list[Replicator] = field(default_factory=list)  # copy key bundles between the relays

    @property
    def turn(self) -> Node:
        return self.nodes[self.turn_operator]


def register_relay(discovery: InMemoryDiscovery, uri: str, stake: int = 1, kinds: int = RELAY) -> str:
    """Register a relay endpoint under a fresh operator address; returns the operator."""
    operator = Account.create().address
    endpoints = {RELAY: uri}
    if kinds & NOTIFY:
        endpoints[NOTIFY] = "http" + uri.removeprefix("ws")
    discovery.register(operator, NodeRecord(kinds, endpoints, Account.create().address, stake))
    return operator


@asynccontextmanager
async def local_network(data_dir: Path, relays: int = 2) -> AsyncIterator[LocalNetwork]:
    """`relays` RELAY+NOTIFY nodes and one TURN node on loopback, registered in memory."""
    net = LocalNetwork(InMemoryDiscovery())
    try:
        for i in range(relays):
            node = Node(NodeConfig(data_dir=data_dir / f"relay{i}", kinds=frozenset({"relay", "notify"})))
            await node.start()
            assert node.relay is not None
            net.nodes[register_relay(net.discovery, node.relay.uri, kinds=RELAY | NOTIFY)] = node
        base = free_port_range(42)
        turn_cfg = TurnConfig(
            data_dir=data_dir / "turn" / "coturn",
            port=base,
            min_port=base + 1,
            max_port=base + 40,
            allow_loopback_peers=True,
        )
        node = Node(NodeConfig(data_dir=data_dir / "turn", kinds=frozenset({"turn"}), turn=turn_cfg))
        await node.start()
        assert node.relay is not None
        operator = Account.create().address
        record = NodeRecord(
            TURN, {TURN: turn_cfg.uri}, Account.create().address, 1, node.relay.credential_uri
        )
        net.discovery.register(operator, record)
        net.nodes[operator] = node
        net.turn_operator = operator
        for n in net.nodes.values():  # key bundles published on one relay go to the address's others
            if n.relay is not None and "relay" in n.config.kinds:
                net.replicators.append(Replicator.attach(n.relay, net.discovery))
                net.replicators[-1].start()
        yield net
    finally:
        for replicator in net.replicators:
            await replicator.stop()
        for n in net.nodes.values():
            await n.stop()
