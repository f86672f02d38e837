"""The demo's call chapter: nodes found only in NodeRegistry carry a real call, a mailbox and a failover.

The ecosystem allocation exists to fund the network's growth, so its beneficiary
claims what has vested and grants the first node operators their stake; anvil's
keeper account gives them gas money. Then `clubchat.client.story.run_story` does
the rest (register and stake, start the nodes, call, message, kill a relay, call
again) and its report becomes the `call`, `offline` and `failover` parts of
demo-report.json, and its end-to-end encryption audit (every envelope sealed, no plaintext in any
frame the relays carried or file the nodes wrote) the `e2e` part.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import click
from rich.table import Table
from web3 import Web3
from web3.exceptions import ContractLogicError

from clubchat.client.story import run_story
from clubchat.demo.context import DemoContext
from clubchat.params import WAD
from clubchat.registry import NodeRegistryClient

# Gas money for each new operator and node key, in wei.
GAS_MONEY_WEI = WAD


def chapter_calls(ctx: DemoContext) -> None:
    """Calls: relays, a TURN node and notify mailboxes found only in NodeRegistry carry a real call."""
    w3, manifest = ctx.w3, ctx.manifest
    token = ctx.contract("ClubToken")
    grantor = ctx.accounts["ecosystem"]
    escrow = w3.eth.contract(
        address=Web3.to_checksum_address(manifest.escrows["ecosystem"]),
        abi=manifest.contracts["VestingEscrow"].abi,
    )
    if int(escrow.functions.claimable().call()) > 0:
        ctx.transact(escrow.functions.claim(), grantor)
    granted: list[tuple[str, int]] = []

    def fund(address: str, club_wei: int) -> None:
        if club_wei:
            if int(token.functions.balanceOf(grantor).call()) < club_wei:
                raise click.ClickException("the ecosystem allocation has not vested enough to fund the nodes")
            ctx.transact(token.functions.transfer(Web3.to_checksum_address(address), club_wei), grantor)
            granted.append((address, club_wei))
        ctx.sender(ctx.accounts["keeper"]).send(address, b"", GAS_MONEY_WEI)

    _retire_lapsed_nodes(ctx)
    rpc = str(getattr(w3.provider, "endpoint_uri", ""))
    if manifest.source is None:
        raise click.ClickException("the call story needs the manifest file the demo deployed")
    with tempfile.TemporaryDirectory(prefix="clubchat-demo-nodes-") as tmp:
        report = run_story(
            rpc,
            manifest.source,
            Path(tmp),
            fund,
            say=lambda line: ctx.console.print(f"  {line}", highlight=False),
        )

    grants = Table(title="Ecosystem grants to the first node operators", title_justify="left")
    grants.add_column("operator")
    grants.add_column("stake (CLUB)", justify="right")
    for address, amount in granted:
        grants.add_row(address, f"{amount / WAD:,.0f}")
    ctx.console.print(grants)

    call, offline, failover, e2e = report["call"], report["offline"], report["failover"], report["e2e"]
    table = Table(title="What the call story showed", title_justify="left")
    table.add_column("check")
    table.add_column("result")
    table.add_row(
        "rendezvous relays of Bob (from sample(RELAY, keccak(Bob), 2))", ", ".join(report["rendezvous"])
    )
    table.add_row("call connected", str(call["connected"]))
    table.add_row("relay used (read from the registry)", call["relay_endpoint"])
    table.add_row("TURN node used (read from the registry)", call["turn_endpoint"])
    table.add_row("selected ICE candidate types", " / ".join(call["selected_candidate_types"]))
    table.add_row("call set-up", f"{call['setup_ms']:.0f} ms")
    table.add_row("1 MiB file SHA-256 matches", str(call["file_sha256_match"]))
    table.add_row("offline message delivered to Carol later", str(offline["delivered"]))
    table.add_row("failover after killing Bob's relay", f"{failover['ok']} in {failover['seconds']:.2f} s")
    table.add_row(
        "envelopes the relays carried, end-to-end encrypted",
        f"{e2e['sealed_envelopes']} of {e2e['envelopes']}",
    )
    table.add_row(
        "relays saw no plaintext (frames and node files audited)",
        f"{e2e['relay_saw_no_plaintext']} "
        f"({e2e['frames_checked']} frames, {e2e['node_files_checked']} files)",
    )
    ctx.console.print(table)
    keys = ("call", "offline", "failover", "rendezvous", "e2e")
    ctx.report.update({k: v for k, v in report.items() if k in keys})


def _retire_lapsed_nodes(ctx: DemoContext) -> None:
    """Let the heartbeats of nodes that run no software lapse, and poke them out of discovery.

    The node-registry chapter registers operators whose endpoints are only examples.
    Nothing keeps them alive, so an hour later they are inactive; `poke` (permissionless,
    unpaid) takes them out of the sampling trees, so clients no longer draw them.
    """
    registry, directory = ctx.contract("NodeRegistry"), ctx.contract("NodeDirectory")
    keeper = NodeRegistryClient(ctx.w3, ctx.manifest, ctx.sender(ctx.accounts["keeper"]))
    period = int(registry.functions.heartbeat_seconds().call())
    ctx.travel_to(ctx.now() + period + 1)
    poked: list[str] = []
    start, count = 0, int(registry.functions.node_count().call())
    while start < count:
        page, start = directory.functions.list_nodes(0, False, start, 100).call()
        for node in page:
            try:
                registry.functions.poke(node).call({"from": ctx.accounts["keeper"]})
            except ContractLogicError:
                continue  # still eligible (it beats), or already out of the trees
            keeper.poke(node)
            poked.append(str(node))
    ctx.console.print(
        f"  {period // 60} minutes later {len(poked)} nodes without software have stopped beating; "
        "a keeper poked them out of discovery.",
        highlight=False,
    )
    ctx.report["lapsed_nodes_poked"] = len(poked)
