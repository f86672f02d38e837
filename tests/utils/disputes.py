"""Helpers shared by the Disputes tests, its state machine and its benchmark: nodes with signing
keys, signed relay-log entries, fork proofs and the flag -> draw -> vote -> finalise sequence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boa
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from clubchat.disputes.client import evidence_commitment as commitment
from clubchat.disputes.client import evidence_id, vote_commitment
from clubchat.protocol.log_entry import LogEntry, log_domain, sign_log_entry
from tests.utils.registry import RELAY, fund, now, register_node
from tests.utils.signing import named_signer

# Re-exported for the tests: the encodings the client uses.
__all__ = ["commitment", "evidence_id", "vote_commitment"]

WAD = 10**18
ZERO32 = b"\x00" * 32


@dataclass(frozen=True)
class Node:
    """A registered node: its operator (the node's address) and its node key (an EOA that signs)."""

    operator: str
    key: LocalAccount

    @property
    def key_address(self) -> str:
        return str(self.key.address)


def add_node(token: Any, registry: Any, treasury: str, name: str, stake: int, kinds: int = RELAY) -> Node:
    """Fund, register and heartbeat a node named `name` with `stake` CLUB wei of self-stake."""
    operator = str(boa.env.generate_address(f"op-{name}"))
    key = named_signer(f"key-{name}")
    fund(token, registry, treasury, operator, stake)
    register_node(registry, operator, str(key.address), kinds=kinds, amount=stake, tag=name)
    with boa.env.prank(str(key.address)):
        registry.heartbeat()
    return Node(operator, key)


def beat_all(registry: Any, nodes: list[Node]) -> None:
    for n in nodes:
        if registry.node_key(n.operator) == n.key_address:
            with boa.env.prank(n.key_address):
                registry.heartbeat()


def entry(
    node: str, *, room: bytes = b"\x01" * 32, seq: int = 1, body: bytes = b"\x02" * 32, time: int = 0
) -> LogEntry:
    return LogEntry(node=node, room=room, seq=seq, prev=ZERO32, body=body, time=time or now())


def chain_id(disputes: Any) -> int:
    return int(disputes.eip712Domain()[3])


def sign(disputes: Any, key: LocalAccount, e: LogEntry) -> bytes:
    """The relay's 65-byte r || s || v signature of `e` in this deployment's relay-log domain."""
    domain = log_domain(chain_id(disputes), str(disputes.address))
    return sign_log_entry(bytes(key.key), domain, e).packed()


def fork(
    disputes: Any, node: Node, seq: int = 1, room: bytes = b"\x01" * 32
) -> tuple[LogEntry, bytes, LogEntry, bytes]:
    """Two conflicting signed entries of one (node, room, seq): a fork."""
    a = entry(node.operator, room=room, seq=seq, body=b"\xaa" * 32)
    b = entry(node.operator, room=room, seq=seq, body=b"\xbb" * 32)
    return a, sign(disputes, node.key, a), b, sign(disputes, node.key, b)


def commit_fork(disputes: Any, reporter: str, a: LogEntry, salt: bytes = b"\x07" * 32) -> bytes:
    """`reporter` commits to the fork at `a`'s place; returns the commitment."""
    c = commitment(evidence_id(a.node, a.room, a.seq), reporter, salt)
    with boa.env.prank(reporter):
        disputes.commit_evidence(c)
    return c


def committed_fork(disputes: Any, node: Node, reporter: str) -> tuple[LogEntry, bytes, LogEntry, bytes]:
    """A fork of `node` that `reporter` committed to, one block ago (ready to prove)."""
    a, sa, b, sb = fork(disputes, node)
    commit_fork(disputes, reporter, a)
    next_block()
    return a, sa, b, sb


def prove(
    disputes: Any,
    reporter: str,
    a: LogEntry,
    sig_a: bytes,
    b: LogEntry,
    sig_b: bytes,
    salt: bytes = b"\x07" * 32,
) -> int:
    with boa.env.prank(reporter):
        return int(disputes.prove_equivocation(a.as_tuple(), sig_a, b.as_tuple(), sig_b, salt))


def next_block() -> None:
    boa.env.time_travel(blocks=1)


def open_flag(token: Any, disputes: Any, treasury: str, flagger: str, node: str, reason: int = 1) -> int:
    """`flagger` (funded with the bond, approving Disputes) flags `node`; returns the dispute id."""
    bond = disputes.parameters().flag_bond
    with boa.env.prank(treasury):
        token.transfer(flagger, bond)
    with boa.env.prank(flagger):
        token.approve(disputes.address, bond)
        return int(disputes.flag(node, reason, "ipfs://evidence"))


def draw(disputes: Any, dispute_id: int, caller: str | None = None) -> list[str]:
    """Mine the seed block, draw the panel in the block after it and return the panel (empty when
    re-armed or dismissed)."""
    ev = draw_event(disputes, dispute_id, caller)
    return [str(a) for a in ev.panel] if ev is not None else []


def mine_blocks(blocks: int, block_delta: int = 12) -> None:
    """Advance `blocks` blocks and give the previous block a hash of its own. titanoboa's BLOCKHASH
    returns the same parent hash at every height (and zero below it); a chain's hashes differ per
    block, which is what seeds the panels."""
    boa.env.time_travel(blocks=blocks, block_delta=block_delta)
    parent = boa.env.evm.patch.block_number - 1
    boa.env.evm.patch.prev_hashes = [keccak(b"block" + parent.to_bytes(32, "big"))] + [ZERO32] * 254


def draw_event(disputes: Any, dispute_id: int, caller: str | None = None) -> Any:
    """`draw` returning the PanelDrawn event (None when re-armed or dismissed)."""
    mine_blocks(2)
    with boa.env.prank(caller or str(boa.env.generate_address("drawer"))):
        disputes.draw_panel(dispute_id)
        logs = events(disputes, "PanelDrawn")
    return logs[-1] if logs else None


def vote(disputes: Any, dispute_id: int, votes: dict[str, bool], salt: bytes = b"\x09" * 32) -> None:
    """Each reviewer in `votes` commits, then (after the commit deadline) reveals."""
    d = disputes.disputes(dispute_id)
    for reviewer, kick in votes.items():
        with boa.env.prank(reviewer):
            disputes.commit_vote(dispute_id, reviewer, vote_commitment(dispute_id, reviewer, kick, salt))
    boa.env.time_travel(seconds=max(d.commit_deadline - now(), 0) + 12)
    for reviewer, kick in votes.items():
        with boa.env.prank(reviewer):
            disputes.reveal_vote(dispute_id, reviewer, kick, salt)


def after_reveal(disputes: Any, dispute_id: int) -> None:
    d = disputes.disputes(dispute_id)
    boa.env.time_travel(seconds=max(d.reveal_deadline - now(), 0) + 12)


def finalize(disputes: Any, dispute_id: int, panel: list[str], caller: str | None = None) -> int:
    with boa.env.prank(caller or str(boa.env.generate_address("finaliser"))):
        return int(disputes.finalize(dispute_id, panel))


def events(contract: Any, name: str) -> list[Any]:
    return [e for e in contract.get_logs() if type(e).__name__ == name]


def set_params(disputes: Any, governance: str, **changes: int) -> None:
    """The Timelock changes some of the Disputes parameters (the others stay)."""
    with boa.env.prank(governance):
        disputes.set_parameters(tuple(disputes.parameters()._replace(**changes)))
