"""A free call ends at its tier's limit, end to end through a real coturn: the relay's issuer caps the
caller's TURN credential at the tier's call limit (Rooms.call_seconds from the log-fed tier cache),
and coturn's expiry sweeper (CoturnSupervisor, every `expiry_sweep` s) cancels the allocation once
that credential has expired, so the free caller's relayed media stops within limit + one sweep +
margin while a premium caller's relayed media, on the same coturn, keeps flowing."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from clubchat.node.turn import CoturnSupervisor
from tests.node.harness import run
from tests.node.test_rooms import ALICE, BOB, rooms_relay
from tests.node.test_turn import _config, _hold

FREE_CALL_SECONDS = 4  # the free tier's call limit, set short through the tier's parameters
SWEEP = 0.5  # CoturnSupervisor.expiry_sweep
MARGIN = 1.0  # one CLI round trip plus scheduling on a shared machine
PACKET_EVERY = 0.1


class Peer(asyncio.DatagramProtocol):
    """The far end of both calls: when each relayed source was last heard, and how often."""

    def __init__(self) -> None:
        self.heard: dict[tuple[str, int], list[float]] = {}

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.heard.setdefault(addr[:2], []).append(time.time())


@pytest.mark.integration
def test_a_free_call_ends_at_its_limit_and_a_premium_call_goes_on(tmp_path: Path) -> None:
    cfg = _config(tmp_path, credential_ttl=600, expiry_sweep=SWEEP, allow_loopback_peers=True)

    async def scenario() -> None:
        async with rooms_relay() as (_server, rooms, view, clock):
            clock.t = time.time()  # the credentials' expiry is wall-clock time for coturn
            limits = {"mailbox_quota_bytes": 10**6, "price_per_period": 0, "lock_amount": 0}
            view.tiers.apply(
                "TierChanged",
                {"tier": 0, "max_message_bytes": 16_384, "max_file_bytes": 10**6}
                | {"max_call_seconds": FREE_CALL_SECONDS}
                | limits,
            )
            view.tiers.apply(
                "Subscribed", {"account": BOB.address, "tier": 1, "expires_at": int(clock.t) + 9_999}
            )
            issuer = cfg.issuer(clock=time.time)
            issuer.max_ttl = rooms.call_seconds
            sup = CoturnSupervisor(cfg)
            await sup.start()
            loop = asyncio.get_running_loop()
            peer_transport, peer = await loop.create_datagram_endpoint(Peer, local_addr=("127.0.0.1", 0))
            peer_addr = peer_transport.get_extra_info("sockname")
            calls = []
            try:
                free, plus = issuer(ALICE.address), issuer(BOB.address)
                assert (free.ttl, plus.ttl) == (FREE_CALL_SECONDS, 600)
                expiry = int(free.username.split(":")[0])
                for creds in (free, plus):
                    calls.append(await _hold(cfg, creds.username, creds.password))
                relayed = [t.get_extra_info("sockname")[:2] for t in calls]  # type: ignore[attr-defined]
                deadline = expiry + SWEEP + MARGIN
                while time.time() < deadline + 2.0:  # media from both callers, past the free limit
                    for t in calls:
                        t.sendto(b"media", peer_addr)  # type: ignore[attr-defined]
                    await asyncio.sleep(PACKET_EVERY)
                free_heard, plus_heard = peer.heard.get(relayed[0], []), peer.heard.get(relayed[1], [])
                assert free_heard and min(free_heard) < expiry - 1  # the free call's media flowed ...
                assert max(free_heard) <= deadline, max(free_heard) - expiry  # ... and stopped
                assert max(plus_heard) > deadline + 1.0  # the premium call's media goes on
                assert sup.expired_cancelled >= 1
            finally:
                for t in calls:
                    t.close()  # type: ignore[attr-defined]
                peer_transport.close()
                await sup.stop()

    run(scenario(), timeout=60)
