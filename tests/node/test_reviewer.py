"""Reviewing by the node software, end to end on loopback: three `club node run` processes on a
private anvil with the registry and Disputes. A false flag against a healthy node is drawn, probed,
voted on and finalised by the nodes themselves and rejected; once the flagged node's software is
stopped (its heartbeats still on chain), a second flag is kicked. `club node probe` prints the
table a reviewer's node records."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from clubchat.chain.anvil import free_port
from clubchat.chain.tx import LocalSender, send_call
from clubchat.cli import main
from clubchat.node.process import NodeProcess
from clubchat.node.reviewer import reviewing_relay_args
from clubchat.params import load
from clubchat.registry.words import node_record
from tests.node.chain_env import Chain, chain

pytestmark = [pytest.mark.integration]

KICKED, REJECTED = 3, 4


def _account(name: str) -> LocalAccount:
    return Account.from_key(keccak(text=f"clubchat-tests:reviewer:{name}"))


class Net:
    def __init__(self, c: Chain) -> None:
        self.c = c
        self.disputes = c.manifest.contract(c.w3, "Disputes")
        self.nodes: list[tuple[LocalAccount, LocalAccount, int]] = []
        self.procs: dict[int, NodeProcess] = {}

    def start(self, i: int, tmp: Path) -> NodeProcess:
        op, key, port = self.nodes[i]
        rpc = self.c.w3.provider.endpoint_uri  # type: ignore[attr-defined]
        args = reviewing_relay_args(port, rpc, str(self.c.manifest_path), op.address, key)
        proc = NodeProcess(tmp / f"node{i}", *args)
        self.procs[i] = proc
        return proc

    def wait_status(self, dispute_id: int, timeout: float = 90.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            d = self.disputes.functions.disputes(dispute_id).call()
            if d[2] in (KICKED, REJECTED, 5):
                return d
            time.sleep(0.5)
        raise AssertionError(f"dispute {dispute_id} not decided in {timeout}s: {d}")

    def flag(self, flagger: LocalAccount, node: str) -> int:
        sender = LocalSender(self.c.w3, flagger)
        bond = self.disputes.functions.parameters().call()[4]
        send_call(sender, self.c.token.functions.approve(self.disputes.address, bond))
        send_call(sender, self.disputes.functions.flag(node, 2, "probe://test"))
        return int(self.disputes.functions.dispute_count().call())


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Net]:
    with chain(tmp_path) as c:
        c.w3.provider.make_request("evm_setIntervalMining", [1])  # type: ignore[attr-defined]
        params = load()
        c.with_disputes()
        n = Net(c)
        # Short phases for the test: 2 reviewers (3 nodes, one flagged), 8 s to commit and to reveal,
        # no cool-down (the same two review the second flag).
        p = list(n.disputes.functions.parameters().call())
        p[5], p[9], p[10], p[16] = 2, 8, 8, 0  # panel_size, vote_commit/reveal_seconds, cool-down
        send_call(LocalSender(c.w3, c.backend.account), n.disputes.functions.set_parameters(tuple(p)))
        stake = params.registry.min_self_stake_per_kind_wei * 2
        for i in range(3):
            op, key, port = _account(f"op{i}"), _account(f"key{i}"), free_port()
            c.register_relay(op, key, stake, f"ws://127.0.0.1:{port}")
            n.nodes.append((op, key, port))
        try:
            for i in range(3):
                n.start(i, tmp_path)
            yield n
        finally:
            for proc in n.procs.values():
                proc.stop()


def _reviews(proc: NodeProcess) -> list[dict[str, Any]]:
    path = proc.data_dir / "reviews.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_nodes_review_a_false_flag_then_kick_a_stopped_node(net: Net, tmp_path: Path) -> None:
    c = net.c
    target = net.nodes[0][0].address
    # Every node enlisted itself at start.
    deadline = time.monotonic() + 30
    while not all(net.disputes.functions.enlisted(op.address).call() for op, _, _ in net.nodes):
        assert time.monotonic() < deadline, [
            p.status().get("chain", {}).get("reviewer") for p in net.procs.values()
        ]
        time.sleep(0.5)

    # `club node probe`: the healthy target serves its relay.
    out = CliRunner().invoke(
        main,
        ["node", "probe", target, "--rpc-url", c.w3.provider.endpoint_uri, "--network", str(c.manifest_path)],  # type: ignore[attr-defined]
        catch_exceptions=False,
    )
    assert out.exit_code == 0, out.output
    assert "relay    ok" in out.output and "verdict: keep" in out.output

    flagger = _account("flagger")
    c.fund(flagger.address, 10_000)
    bond = net.disputes.functions.parameters().call()[4]
    first = net.flag(flagger, target)
    d = net.wait_status(first)
    assert d[2] == REJECTED and d[8] == d[7] and d[9] == 0  # everyone revealed, nobody for a kick
    reviewers = [net.procs[i] for i in (1, 2)]
    seen = [r for p in reviewers for r in _reviews(p) if r["dispute_id"] == first]
    assert len(seen) == 2 and all(r["verdict"] == "keep" and r["checks"][0]["ok"] for r in seen)
    # Each reviewer's software collects its half of the rejected flag's bond.
    deadline = time.monotonic() + 30
    while True:
        paid = net.disputes.events.BondPaid().get_logs(from_block=0, argument_filters={"dispute_id": first})
        if len(paid) == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert sorted(e["args"]["to"] for e in paid) == sorted(net.nodes[i][0].address for i in (1, 2))
    assert sum(int(e["args"]["amount"]) for e in paid) == bond

    # The target's software stops; its key still beats on chain. The next flag kicks it.
    net.procs[0].stop()
    send_call(LocalSender(c.w3, net.nodes[0][1]), c.registry.functions.heartbeat())
    pool = node_record(c.registry, target)[10]
    before = c.token.functions.balanceOf(flagger.address).call()
    second = net.flag(flagger, target)
    d = net.wait_status(second)
    assert d[2] == KICKED and d[9] == d[7]
    assert node_record(c.registry, target)[3] is True  # jailed
    assert node_record(c.registry, target)[10] < pool
    seen = [r for p in reviewers for r in _reviews(p) if r["dispute_id"] == second]
    assert len(seen) == 2 and all(r["verdict"] == "kick" and not r["checks"][0]["ok"] for r in seen)
    # The flagger has its bond back plus its reward share of the cut.
    assert c.token.functions.balanceOf(flagger.address).call() > before - bond
