"""Trickle ICE between two calls through coturn: offer/answer carry no candidates, every candidate
follows in a `candidate` message closed by end-of-candidates, `remove-candidates` is sent when a
side's TURN allocation goes away, and removed or repeated candidates are ignored when they arrive
late. One scenario wires two `Call`s directly, the other goes through relays with place_call."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from clubchat.client.call import END_OF_CANDIDATES, Call, CallError
from clubchat.client.relay_client import RelayClient
from clubchat.client.secure import Secure
from clubchat.client.session import Listener, place_call
from clubchat.node.localnet import local_network as network
from clubchat.protocol import messages as m
from tests.node.harness import run

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("fast_ice")]

alice = Account.from_key("0x" + "a1" * 32)
bob = Account.from_key("0x" + "b2" * 32)


def _no_candidates_in(sdp: str) -> bool:
    return "a=candidate:" not in sdp and "a=end-of-candidates" not in sdp


async def _settle(cond: Any, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if cond():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached")


def test_two_calls_trickle_candidates_and_ignore_late_or_removed_ones(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with network(tmp_path, relays=1) as net:
            issue = net.turn.relay.turn_credentials  # type: ignore[union-attr]
            assert issue is not None
            said: dict[str, list[m.Payload]] = {"alice": [], "bob": []}
            wires: dict[str, asyncio.Queue[m.Payload]] = {"alice": asyncio.Queue(), "bob": asyncio.Queue()}

            def sender(name: str) -> Any:
                async def send(p: m.Payload) -> None:
                    said[name].append(p)
                    wires[name].put_nowait(p)

                return send

            a = Call(issue(alice.address), sender("alice"))
            b = Call(issue(bob.address), sender("bob"))

            async def deliver(name: str, to: Call) -> None:  # one wire, in order, like a relay
                while True:
                    await to.on_signal(await wires[name].get())

            pumps = [asyncio.create_task(deliver("alice", b)), asyncio.create_task(deliver("bob", a))]
            try:
                await a.offer()
                await asyncio.gather(a.connected(10), b.connected(10))
                assert a.stats.candidate_types == b.stats.candidate_types == ("relay", "relay")

                # offer/answer without candidates, then one `candidate` message each
                offer, a_cands = said["alice"][:2]
                answer, b_cands = said["bob"][:2]
                assert isinstance(offer, m.Offer) and _no_candidates_in(offer.sdp)
                assert isinstance(answer, m.Answer) and _no_candidates_in(answer.sdp)
                for call, cands in ((a, a_cands), (b, b_cands)):
                    assert isinstance(cands, m.Candidates)
                    *real, end = cands.candidates
                    assert tuple(real) == call.local_candidates and len(real) >= 1
                    assert all(" typ relay " in c.sdp and c.sdp.startswith("candidate:") for c in real)
                    assert (end.sdp, end.sdp_mline_index, end.sdp_mid) == (END_OF_CANDIDATES, 0, "0")
                    assert call.stats.candidates_sent == len(real)
                assert b.stats.candidates_added == len(a.local_candidates)
                assert a.stats.candidates_added == len(b.local_candidates)
                assert a.stats.candidates_ignored == b.stats.candidates_ignored == 0

                # a late duplicate of Alice's candidates changes nothing on Bob's side
                late = m.Candidates(candidates=a.local_candidates)
                await b.on_signal(late)
                assert b.stats.candidates_added == len(a.local_candidates)
                assert b.stats.candidates_ignored == len(a.local_candidates)

                # Alice withdraws (her allocation goes away); Bob remembers; a late copy is ignored
                await a.withdraw_candidates()
                await _settle(lambda: b.stats.candidates_removed == len(a.local_candidates))
                assert isinstance(said["alice"][-1], m.RemoveCandidates)
                assert said["alice"][-1].candidates == a.local_candidates
                await b.on_signal(late)
                assert b.stats.candidates_ignored == 2 * len(a.local_candidates)
                assert b.stats.candidates_added == len(a.local_candidates)
                # withdrawing twice says it once
                await a.withdraw_candidates()
                assert sum(isinstance(p, m.RemoveCandidates) for p in said["alice"]) == 1
            finally:
                for p in pumps:
                    p.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await p
                await a.close()
                await b.close()

    run(scenario(), timeout=90)


def test_a_call_gives_up_when_the_peer_withdraws_all_its_candidates_before_connecting(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with network(tmp_path, relays=1) as net:
            issue = net.turn.relay.turn_credentials  # type: ignore[union-attr]
            assert issue is not None
            to_bob: list[m.Payload] = []
            to_alice: list[m.Payload] = []

            async def alice_says(p: m.Payload) -> None:
                to_bob.append(p)

            async def bob_says(p: m.Payload) -> None:
                to_alice.append(p)  # never delivered: Alice's side of the relay went away

            a = Call(issue(alice.address), alice_says)
            b = Call(issue(bob.address), bob_says)
            try:
                await a.offer()
                for p in to_bob:
                    await b.on_signal(p)
                assert b.stats.candidates_added == len(a.local_candidates) >= 1
                assert [type(p) for p in to_alice] == [m.Answer, m.Candidates]
                # withdrawing something else is remembered but does not end the attempt
                other = m.IceCandidate("candidate:zz 1 udp 1 127.0.0.9 9 typ relay", 0, "0")
                await b.on_signal(m.RemoveCandidates(candidates=(other,)))
                assert b.stats.candidates_removed == 1 and b.ended is None
                await a.withdraw_candidates()
                start = time.perf_counter()
                await b.on_signal(to_bob[-1])
                assert isinstance(to_bob[-1], m.RemoveCandidates)
                assert b.ended == "candidates withdrawn"
                assert b.stats.candidates_removed == 1 + len(a.local_candidates)
                with pytest.raises(CallError, match="did not connect"):
                    await b.connected(10)
                assert time.perf_counter() - start < 2.0  # at once, not at the 10 s timeout
            finally:
                await a.close()
                await b.close()

    run(scenario(), timeout=60)


def test_hang_up_withdraws_candidates_before_bye_through_the_relay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[tuple[str, m.Payload]] = []  # (sender, payload before it is sealed)
    real_send = Secure.send

    async def recording_send(self: Secure, client: RelayClient, to: str, payload: m.Payload) -> m.Sent:
        sent.append((client.address, payload))
        return await real_send(self, client, to, payload)

    monkeypatch.setattr(Secure, "send", recording_send)

    async def scenario() -> None:
        async with network(tmp_path) as net:
            listener = Listener(bob, net.discovery)
            await listener.start()
            session = await place_call(alice, net.discovery, bob.address)
            incoming = await asyncio.wait_for(listener.calls.get(), 10)
            assert session.call.stats.candidate_types == ("relay", "relay")
            assert incoming.call.stats.candidates_added == len(session.call.local_candidates) >= 1
            assert session.call.stats.candidates_added == len(incoming.call.local_candidates) >= 1
            # a removal from Alice on Bob's OTHER rendezvous relay belongs to another call attempt
            (other,) = set(listener.clients) - {session.relay_endpoint}
            side = await RelayClient.connect(other, alice)
            await Secure(alice).send(
                side, bob.address, m.RemoveCandidates(candidates=session.call.local_candidates)
            )
            del sent[-1]  # not part of the call's own signaling below
            await asyncio.sleep(0.3)
            assert incoming.call.stats.candidates_removed == 0 and incoming.call.ended is None
            await side.close()
            await session.hang_up("done")
            await _settle(lambda: incoming.call.ended == "done")
            by_alice = [type(p).__name__ for who, p in sent if who == alice.address]
            by_bob = [type(p).__name__ for who, p in sent if who == bob.address]
            assert by_alice == ["Offer", "Candidates", "RemoveCandidates", "Bye"]
            assert by_bob == ["Answer", "Candidates"]
            assert incoming.call.stats.candidates_removed == len(session.call.local_candidates)
            await incoming.close()
            await listener.close()

    run(scenario(), timeout=120)
