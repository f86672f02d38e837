"""The demo's free call ended at its tier's limit, through a real coturn.

Governance shortens the free tier's call limit on the demo's chain (`Premium.set_tier(0, …)` through
ClubGovernor and the Timelock, as any parameter change: propose, vote, queue, execute; the chain
travels through the voting period and the Timelock delay, 8 days, as the governance chapter does).
The rooms relay learns the new limit from Premium's `TierChanged` log and caps the free caller's
TURN credential at it. Both callers then hold a TURN allocation on a real coturn
(`CoturnSupervisor`, sweeping expired credentials every `SWEEP` s) and send media through it to a
loopback peer: the free caller's media must stop within the limit plus one sweep and `MARGIN`,
while the premium caller's, on the same coturn, still flows after that. A short limit
(`FREE_CALL_SECONDS`) keeps the step under ten seconds; the default free limit (300 s) would end
the call the same way five minutes later. The demo's chain keeps the short limit afterwards.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aioice.stun
import click
from aioice.turn import create_turn_endpoint

from clubchat.demo.context import DemoContext
from clubchat.governance import actions as act
from clubchat.governance import proposals as gp
from clubchat.node.turn import TurnConfig
from clubchat.premium.client import PremiumClient, Tier
from clubchat.protocol import messages as m

FREE_CALL_SECONDS = 5  # the free tier's call limit governance sets for this step
SWEEP = 0.5  # TurnConfig.expiry_sweep of the demo's coturn
MARGIN = 1.5  # scheduling on a shared machine and the sweep's admin-CLI round trip
FLOW_AFTER = 2.0  # how long the premium call is followed after the free call's deadline
PACKET_EVERY = 0.1  # one media packet per caller every 100 ms


def shorten_free_calls(ctx: DemoContext, free: Tier, seconds: int) -> dict[str, Any]:
    """Governance sets the free tier's call limit to `seconds`, its other limits unchanged; returns
    the proposal's id and the limit before and after, read back from Premium."""
    w3, manifest = ctx.w3, ctx.manifest
    gov = manifest.contract(w3, "ClubGovernor")
    senders = {name: ctx.sender(ctx.accounts[name]) for name in ("team", "ecosystem", "keeper")}
    limits = [free.max_message_bytes, free.max_file_bytes, seconds, free.mailbox_quota_bytes]
    action = act.call(manifest, "Premium", "set_tier", 0, limits, 0, 0)
    spec = gp.ProposalSpec(
        (action,), f"# Short free calls on the demo chain\nThe free tier's calls last {seconds} s."
    )
    pid = gp.propose(w3, manifest, senders["team"], spec)
    ctx.travel_to(int(gov.functions.proposalSnapshot(pid).call()) + 1)
    for name in ("team", "ecosystem"):
        gp.vote(w3, manifest, senders[name], pid, gp.Support.FOR, "")
    ctx.travel_to(int(gov.functions.proposalDeadline(pid).call()) + 1)
    ctx.travel_to(gp.queue(w3, manifest, senders["keeper"], pid))
    gp.execute(w3, manifest, senders["keeper"], pid)
    after = PremiumClient(w3, manifest).tier(0).max_call_seconds
    if after != seconds:
        raise click.ClickException(f"governance did not set the free call limit: it is {after} s")
    return {"proposal_id": f"{pid:#x}", "before_seconds": free.max_call_seconds, "after_seconds": after}


class _Peer(asyncio.DatagramProtocol):
    """The far end of both calls: when each relayed address was heard."""

    def __init__(self) -> None:
        self.heard: dict[tuple[str, int], list[float]] = {}

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.heard.setdefault(addr[:2], []).append(time.time())


async def _allocate(turn: TurnConfig, creds: m.TurnCredentials) -> Any:
    old = aioice.stun.RETRY_RTO
    aioice.stun.RETRY_RTO = 0.05  # loopback: retry fast instead of after 0.5 s
    try:
        transport, _ = await asyncio.wait_for(
            create_turn_endpoint(
                asyncio.DatagramProtocol, ("127.0.0.1", turn.port), creds.username, creds.password, 600
            ),
            10,
        )
    finally:
        aioice.stun.RETRY_RTO = old
    return transport


async def free_call_end(turn: TurnConfig, free: m.TurnCredentials, plus: m.TurnCredentials) -> dict[str, Any]:
    """Media from a free and a premium caller through `turn`'s running coturn, both from their
    credentials' issue until `FLOW_AFTER` s past the free call's deadline (credential expiry + one
    sweep + margin). Returns when each caller's media was last heard, relative to the free
    credential's expiry; raises if the free call's media outlived its deadline or the premium
    call's did not flow past it."""
    loop = asyncio.get_running_loop()
    peer_transport, peer = await loop.create_datagram_endpoint(_Peer, local_addr=("127.0.0.1", 0))
    peer_addr = peer_transport.get_extra_info("sockname")
    calls: list[Any] = []
    try:
        for creds in (free, plus):
            calls.append(await _allocate(turn, creds))
        relayed = [t.get_extra_info("sockname")[:2] for t in calls]
        expiry = int(free.username.split(":", 1)[0])
        deadline = expiry + turn.expiry_sweep + MARGIN
        started = time.time()
        while time.time() < deadline + FLOW_AFTER:  # bound: the free credential's ttl + ~4 s
            for t in calls:
                t.sendto(b"media", peer_addr)
            await asyncio.sleep(PACKET_EVERY)
    finally:
        for t in calls:
            t.close()
        peer_transport.close()
    free_heard, plus_heard = peer.heard.get(relayed[0], []), peer.heard.get(relayed[1], [])
    if not free_heard or not plus_heard or min(free_heard) > expiry - 1:
        raise click.ClickException("the calls' media did not flow through coturn")
    if max(free_heard) > deadline:
        raise click.ClickException(
            f"the free call's media still flowed {max(free_heard) - expiry:.1f} s after its limit"
        )
    if max(plus_heard) <= deadline + 1:
        raise click.ClickException("the premium call's media stopped with the free call's")
    return {
        "limit_seconds": free.ttl,
        "premium_credential_seconds": plus.ttl,
        "media_started_s_before_limit": round(expiry - started, 2),
        "free_media_last_heard_s_after_limit": round(max(free_heard) - expiry, 2),
        "premium_media_last_heard_s_after_limit": round(max(plus_heard) - expiry, 2),
        "premium_flowing_s_after_free_stopped": round(max(plus_heard) - max(free_heard), 2),
        "packets_heard": {"free": len(free_heard), "premium": len(plus_heard)},
        "sweep_seconds": turn.expiry_sweep,
        "deadline_s_after_limit": turn.expiry_sweep + MARGIN,
    }
