"""The demo's policing chapter: a relay's fork proven by a member, and flags decided by the nodes.

1. A relay that forks a room (RelayLog's misbehaving mode, which only tests and this chapter set)
   serves two members; they compare heads through it, one holds two conflicting signed entries and
   proves them on chain (commit, a later block, reveal): the relay is slashed and jailed.
2. Four nodes run `club node run` with the chain: they enlist, draw panels and review. A false flag
   against a healthy node is probed, voted down and its bond goes to the reviewers; then that
   node's software is stopped while its key keeps beating, a new flag is probed, and it is kicked.
   The chapter only moves the chain's clock (anvil) past the vote phases and sends the flags.

Everything lands in demo-report.json's `policing` section with the transaction hashes.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from eth_account import Account
from eth_account.signers.local import LocalAccount

from clubchat.chain.anvil import free_port
from clubchat.chain.tx import LocalSender
from clubchat.client.history import Evidence, HistoryBook, registry_keys
from clubchat.client.relay_client import RelayClient
from clubchat.client.secure import Secure
from clubchat.client.session import send_head
from clubchat.demo.context import DemoContext, club
from clubchat.disputes.client import DisputesClient, SignedEntry
from clubchat.node.process import NodeProcess
from clubchat.node.relay import RelayConfig, RelayServer
from clubchat.node.relay_log import LogSigner, RelayLog
from clubchat.node.reviewer import reviewing_relay_args
from clubchat.params import WAD
from clubchat.protocol import messages as m
from clubchat.registry import NodeRegistryClient
from clubchat.registry.client import Registration
from clubchat.registry.kinds import RELAY
from clubchat.registry.words import node_record

DECIDED = ("kicked", "rejected", "dismissed")


def chapter_policing(ctx: DemoContext) -> None:
    """Policing: a forked relay slashed on a member's proof; flags probed and decided by the nodes."""
    if ctx.manifest.source is None or "Disputes" not in ctx.manifest.contracts:
        raise click.ClickException("the policing chapter needs the deployed manifest with Disputes")
    per_kind = int(ctx.contract("NodeRegistry").functions.min_self_stake_per_kind().call())
    report: dict[str, Any] = {}
    # Blocks every second, as on a real chain: a fork proof reveals in a later block than its
    # commit, and a panel is drawn once the block after the flag exists.
    ctx.w3.provider.make_request("evm_setIntervalMining", [1])  # type: ignore[arg-type]
    try:
        with tempfile.TemporaryDirectory(prefix="clubchat-demo-policing-") as tmp:
            forker = _node(ctx, per_kind, "ws://127.0.0.1:1")  # never dialled: its relay runs in-process
            report["fork"] = asyncio.run(_fork(ctx, forker, Path(tmp)))
            ports = [free_port() for _ in range(4)]
            nodes = [_node(ctx, per_kind, f"ws://127.0.0.1:{port}") for port in ports]
            report["flags"] = _flags(ctx, nodes, Path(tmp))
    finally:
        ctx.w3.provider.make_request("evm_setIntervalMining", [0])  # type: ignore[arg-type]
        ctx.w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
    ctx.report["policing"] = report


def _fund(ctx: DemoContext, address: str, club_wei: int) -> None:
    grantor = ctx.accounts["ecosystem"]
    if club_wei:
        ctx.transact(ctx.contract("ClubToken").functions.transfer(address, club_wei), grantor)
    ctx.sender(ctx.accounts["keeper"]).send(address, b"", WAD)


def _node(ctx: DemoContext, stake: int, uri: str) -> tuple[LocalAccount, LocalAccount, str]:
    """A fresh operator and node key, funded by the ecosystem grantor, registered as a relay."""
    op, key = Account.create(), Account.create()
    _fund(ctx, op.address, stake)
    _fund(ctx, key.address, 0)
    NodeRegistryClient(ctx.w3, ctx.manifest, LocalSender(ctx.w3, op)).register(
        Registration(RELAY, {RELAY: uri}, key.address), stake, LocalSender(ctx.w3, key)
    )
    NodeRegistryClient(ctx.w3, ctx.manifest, LocalSender(ctx.w3, key)).heartbeat()
    return op, key, uri


async def _fork(
    ctx: DemoContext, forker: tuple[LocalAccount, LocalAccount, str], tmp: Path
) -> dict[str, Any]:
    op, key, _ = forker
    disputes_address = ctx.manifest.address("Disputes")
    chain_id = int(ctx.w3.eth.chain_id)
    signer = LogSigner.create(op.address, bytes(key.key), chain_id, disputes_address)
    # The demo moved the chain's clock ahead of the wall clock: the relay dates entries by the chain
    # (the evidence window is counted in chain time).
    log = RelayLog(tmp / "forking-relay.sqlite", signer, fork_for_tests=True, clock=lambda: float(ctx.now()))
    await log.open()
    alice, bob = Account.create(), Account.create()
    registry = ctx.contract("NodeRegistry")
    keys = registry_keys(registry)
    told: list[str] = []
    try:
        server = RelayServer(RelayConfig(chain_id=chain_id), log=log)
        await server.start()
        try:
            book = HistoryBook(chain_id, disputes_address, keys, on_problem=lambda p: told.append(p.message))
            a = await RelayClient.connect(server.uri, alice, history=book)
            b = await RelayClient.connect(
                server.uri, bob, history=HistoryBook(chain_id, disputes_address, keys)
            )
            # Sealed end to end like every payload outside tests: the text, and Bob's signed head
            # (his view of the room), which Alice opens and compares with her own.
            sa, sb = Secure(alice), Secure(bob)
            await sa.ready(a)
            await sb.ready(b)
            await sa.send(a, bob.address, m.Text(body="the contract says 100"))
            await _until(lambda: b.history is not None and bool(b.history.heads()))
            assert await send_head(sb, b, alice.address) is not None
            got = await sa.open(a, await a.receive(timeout=10.0))
            assert got is not None and isinstance(got.envelope.payload, m.Head)
            await a.take_head(bob.address, got.envelope.payload)
            await _until(lambda: bool(book.evidence))
            await a.close()
            await b.close()
        finally:
            await server.stop()
    finally:
        await log.close()
    ev: Evidence = book.evidence[0]
    assert ev.b is not None
    ctx.console.print(f"  Alice's client: {told[-1]}", highlight=False)
    _fund(ctx, alice.address, 0)
    disputes = DisputesClient(ctx.w3, ctx.manifest, LocalSender(ctx.w3, alice), tmp / "salts")
    pool = node_record(registry, op.address).bonded_assets
    result = await asyncio.get_running_loop().run_in_executor(
        None, disputes.report, SignedEntry(ev.a.entry, ev.a.sig), SignedEntry(ev.b.entry, ev.b.sig), 30.0
    )
    node = node_record(registry, op.address)
    ctx.console.print(
        f"  fork of relay {op.address} proven by Alice: {club(result.cut_wei)} CLUB cut of "
        f"{club(pool)}, {club(result.reporter_wei)} to Alice, jailed: {node[3]}",
        highlight=False,
    )
    return {
        "relay": op.address,
        "room": "0x" + ev.a.entry.room.hex(),
        "seq": ev.a.entry.seq,
        "pool_wei": pool,
        "cut_wei": result.cut_wei,
        "reporter_wei": result.reporter_wei,
        "jailed": bool(node[3]),
        "jailed_until": result.jailed_until,
        "commit_tx": result.commit_tx,
        "prove_tx": result.prove_tx,
    }


async def _until(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not cond():
            await asyncio.sleep(0.02)


def _flags(ctx: DemoContext, nodes: list[tuple[LocalAccount, LocalAccount, str]], tmp: Path) -> list[Any]:
    rpc = str(getattr(ctx.w3.provider, "endpoint_uri", ""))
    network = str(ctx.manifest.source)
    procs = [
        NodeProcess(
            tmp / f"node{i}", *reviewing_relay_args(int(uri.rsplit(":", 1)[1]), rpc, network, op.address, key)
        )
        for i, (op, key, uri) in enumerate(nodes)
    ]
    try:
        disputes = ctx.contract("Disputes")
        deadline = time.monotonic() + 60
        while not all(disputes.functions.enlisted(op.address).call() for op, _, _ in nodes):
            if time.monotonic() > deadline:
                raise click.ClickException("the demo nodes did not enlist as reviewers within 60 s")
            time.sleep(0.5)
        flagger = Account.create()
        _fund(ctx, flagger.address, 10 * int(disputes.functions.parameters().call()[4]))
        client = DisputesClient(ctx.w3, ctx.manifest, LocalSender(ctx.w3, flagger), tmp / "flagger")
        target = nodes[0][0].address
        outcomes = [_decide(ctx, client, nodes, target, "a false flag against a healthy node")]
        procs[0].stop()  # its software stops; its key keeps beating below
        outcomes.append(_decide(ctx, client, nodes, target, "the same node with its software stopped"))
        return outcomes
    finally:
        for p in procs:
            p.stop()


def _beat(ctx: DemoContext, nodes: list[tuple[LocalAccount, LocalAccount, str]]) -> None:
    """Every node key beats now (the clock jumped); a node process beating at the same moment may
    take the key's nonce first, so each beat is tried a few times."""
    for _, key, _ in nodes:
        beat = NodeRegistryClient(ctx.w3, ctx.manifest, LocalSender(ctx.w3, key)).heartbeat
        for attempt in range(5):
            try:
                beat()
                break
            except Exception:
                if attempt == 4:
                    raise
                time.sleep(0.5)


def _decide(
    ctx: DemoContext,
    client: DisputesClient,
    nodes: list[tuple[LocalAccount, LocalAccount, str]],
    target: str,
    what: str,
) -> dict[str, Any]:
    """Flags `target`, lets the nodes draw, probe and vote (moving the clock past each phase)."""
    p = client.disputes.functions.parameters().call()
    ctx.travel_to(ctx.now() + int(p[16]) + 60)  # past any earlier panel's cool-down
    _beat(ctx, nodes)
    bond_before = int(client.token.functions.balanceOf(client.sender.address).call())
    dispute_id, flag_tx = client.flag(target, 2, "demo://policing")
    d = _wait(client, dispute_id, lambda s: s.status != "flagged" and len(s.panel) > 0, "drawn")
    _wait(
        client,
        dispute_id,
        lambda s: len(s.revealed_seats) == 0 and _committed(client, dispute_id, s),
        "committed",
    )
    ctx.travel_to(d.commit_deadline + 1)
    _wait(client, dispute_id, lambda s: len(s.revealed_seats) == len(s.panel), "revealed")
    ctx.travel_to(d.reveal_deadline + 2)
    final = _wait(client, dispute_id, lambda s: s.status in DECIDED, "finalised")
    resolved = client.disputes.events.DisputeResolved().get_logs(
        from_block=ctx.manifest.block, argument_filters={"dispute_id": dispute_id}
    )
    paid = int(client.token.functions.balanceOf(client.sender.address).call()) - bond_before
    row = {
        "case": what,
        "dispute_id": dispute_id,
        "node": target,
        "panel": list(final.panel),
        "kick_weight": final.kick_weight,
        "revealed_weight": final.revealed_weight,
        "outcome": final.status,
        "cut_wei": int(resolved[-1]["args"]["cut"]) if resolved else 0,
        "flagger_net_wei": paid,
        "flag_tx": flag_tx,
        "finalize_tx": _hex(resolved[-1]["transactionHash"]) if resolved else None,
        "paid_to_reviewers_wei": _paid_to_panel(client, dispute_id, final.panel),
    }
    ctx.console.print(
        f"  {what}: panel of {len(final.panel)} probed it and voted; {final.status} "
        f"(kick weight {final.kick_weight} of {final.revealed_weight}), cut {club(row['cut_wei'])} CLUB, "
        f"bond to the reviewers {club(row['paid_to_reviewers_wei'])} CLUB",
        highlight=False,
    )
    return row


def _hex(raw: bytes) -> str:
    return "0x" + bytes(raw).hex()


def _paid_to_panel(client: DisputesClient, dispute_id: int, panel: tuple[str, ...]) -> int:
    """The bond the reviewers' node software collected (a rejected flag), waited for a few seconds."""
    deadline = time.monotonic() + 30
    while True:
        logs = client.disputes.events.BondPaid().get_logs(
            from_block=client.manifest.block, argument_filters={"dispute_id": dispute_id}
        )
        paid = {e["args"]["to"]: int(e["args"]["amount"]) for e in logs if e["args"]["to"] in panel}
        if (
            client.status(dispute_id).status != "rejected"
            or len(paid) == len(panel)
            or time.monotonic() > deadline
        ):
            return sum(paid.values())
        time.sleep(0.5)


def _committed(client: DisputesClient, dispute_id: int, s: Any) -> bool:
    logs = client.disputes.events.VoteCommitted().get_logs(
        from_block=s.draw_block, argument_filters={"dispute_id": dispute_id}
    )
    return len({e["args"]["reviewer"] for e in logs}) == len(s.panel)


def _wait(client: DisputesClient, dispute_id: int, cond: Callable[[Any], bool], what: str) -> Any:
    deadline = time.monotonic() + 90
    while True:
        s = client.status(dispute_id)
        if cond(s):
            return s
        if time.monotonic() > deadline:
            raise click.ClickException(f"dispute {dispute_id} was not {what} by the nodes within 90 s ({s})")
        time.sleep(0.5)
