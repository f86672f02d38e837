"""A small loopback network for client tests: in-process nodes + an in-memory registry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from eth_account import Account

from clubchat.client.discovery import NOTIFY, RELAY, TURN, InMemoryDiscovery, NodeRecord
from clubchat.node.relay import RelayConfig
from clubchat.node.runner import Node, NodeConfig
from clubchat.node.turn import TurnConfig
from tests.node.ports import free_port_range


@dataclass
class Network:
    discovery: InMemoryDiscovery
    nodes: dict[str, Node] = field(default_factory=dict)  # operator -> node
    turn_operator: str = ""

    @property
    def turn(self) -> Node:
        return self.nodes[self.turn_operator]


def register_relay(discovery: InMemoryDiscovery, uri: str, stake: int = 1, kinds: int = RELAY) -> str:
    operator = Account.create().address
    endpoints = {RELAY: uri}
    if kinds & NOTIFY:
        endpoints[NOTIFY] = "http" + uri.removeprefix("ws")
    discovery.register(operator, NodeRecord(kinds, endpoints, Account.create().address, stake))
    return operator


@asynccontextmanager
async def network(tmp_path: Path, relays: int = 2) -> AsyncIterator[Network]:
    """`relays` relay+notify nodes and one TURN node (coturn with loopback peers allowed)."""
    net = Network(InMemoryDiscovery())
    try:
        for i in range(relays):
            node = Node(NodeConfig(data_dir=tmp_path / f"relay{i}", kinds=frozenset({"relay", "notify"})))
            await node.start()
            assert node.relay is not None
            net.nodes[register_relay(net.discovery, node.relay.uri, kinds=RELAY | NOTIFY)] = node
        base = free_port_range(42)
        turn_cfg = TurnConfig(
            data_dir=tmp_path / "turn" / "coturn",
            port=base,
            min_port=base + 1,
            max_port=base + 40,
            allow_loopback_peers=True,
        )
        node = Node(
            NodeConfig(
                data_dir=tmp_path / "turn", kinds=frozenset({"turn"}), relay=RelayConfig(), turn=turn_cfg
            )
        )
        await node.start()
        assert node.relay is not None
        operator = Account.create().address
        net.discovery.register(
            operator,
            NodeRecord(TURN, {TURN: turn_cfg.uri}, Account.create().address, 1, node.relay.credential_uri),
        )
        net.nodes[operator] = node
        net.turn_operator = operator
        yield net
    finally:
        for n in net.nodes.values():
            await n.stop()
