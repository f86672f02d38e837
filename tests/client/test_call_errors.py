"""A call that cannot connect says which step failed, per rendezvous relay: the relay was unreachable,
the callee was not signed in there, or ICE through TURN failed (with what the TURN server said),
instead of "...is not reachable on any of its rendezvous relays"."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_account import Account

from clubchat.client.call import CallError
from clubchat.client.relay_client import RelayClient
from clubchat.client.secure import Secure
from clubchat.client.session import Listener, place_call
from clubchat.node.localnet import free_port_range, local_network, register_relay
from clubchat.node.turn import CoturnSupervisor
from clubchat.registry import RELAY, TURN, InMemoryDiscovery, NodeRecord, rendezvous
from tests.node.harness import run

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("fast_ice")]

alice = Account.from_key("0x" + "a1" * 32)
bob = Account.from_key("0x" + "b2" * 32)
carol = Account.from_key("0x" + "c3" * 32)


def test_relay_unreachable_and_callee_not_signed_in_are_named(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with local_network(tmp_path, relays=1) as net:
            dead = f"ws://127.0.0.1:{free_port_range(1)}"
            register_relay(net.discovery, dead, kinds=RELAY)
            relays = rendezvous(net.discovery, carol.address)
            with pytest.raises(CallError) as err:
                await place_call(alice, net.discovery, carol.address)  # carol is not listening
            text = str(err.value)
            live = next(r for r in relays if r != dead)
            assert f"{dead}: relay unreachable" in text
            assert f"{live}: {carol.address} is not signed in there" in text
            assert "not reachable on any" not in text
            assert text.endswith("ask them to run `club listen`, or send a message instead")

    run(scenario(), timeout=60)


def test_ice_failure_names_the_turn_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A coturn that refuses loopback peers (what a TURN node did on loopback before it allowed them).
    command = CoturnSupervisor.command
    monkeypatch.setattr(
        CoturnSupervisor,
        "command",
        lambda self: [a for a in command(self) if a != "--allow-loopback-peers"],
    )

    async def scenario() -> None:
        async with local_network(tmp_path, relays=1) as net:
            listener = Listener(bob, net.discovery, k=1)
            (relay,) = await listener.start()
            try:
                with pytest.raises(CallError) as err:
                    await place_call(alice, net.discovery, bob.address, k=1, answer_timeout=4.0)
            finally:
                await listener.close()
            text = str(err.value)
            assert f"{relay}: ICE through TURN failed" in text
            assert "403" in text and "Forbidden IP" in text, text

    run(scenario(), timeout=90)


def test_only_dead_relays_is_not_blamed_on_the_callee(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with local_network(tmp_path, relays=0) as net:
            dead = [f"ws://127.0.0.1:{free_port_range(1)}" for _ in range(2)]
            for uri in dead:
                register_relay(net.discovery, uri, kinds=RELAY)
            with pytest.raises(CallError) as err:
                await place_call(alice, net.discovery, bob.address)
            text = str(err.value)
            assert all(f"{uri}: relay unreachable" in text for uri in dead)
            assert text.endswith(
                "none of the callee's rendezvous relays is up; try again once the registry has replaced them"
            )

    run(scenario(), timeout=60)


def test_turn_credentials_unavailable_is_named(tmp_path: Path) -> None:
    async def scenario() -> None:
        discovery = InMemoryDiscovery()
        register_relay(discovery, f"ws://127.0.0.1:{free_port_range(1)}", kinds=RELAY)
        dead = f"http://127.0.0.1:{free_port_range(1)}/turn-credentials"
        turn_node = Account.create().address
        discovery.register(
            turn_node, NodeRecord(TURN, {TURN: "turn:127.0.0.1:3478"}, Account.create().address, 1, dead)
        )
        with pytest.raises(CallError) as err:
            await place_call(alice, discovery, bob.address)
        assert str(err.value).startswith(
            f"the TURN node {turn_node} gave no credentials (unreachable: {dead}"
        )
        assert str(err.value).endswith("; try again later")

    run(scenario(), timeout=30)


def test_a_callee_that_does_not_answer_is_not_blamed_on_ice(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with local_network(tmp_path, relays=1) as net:
            (relay,) = rendezvous(net.discovery, bob.address, 1)
            silent = await RelayClient.connect(relay, bob)  # signed in, never answers the offer
            await Secure(bob).ready(silent)  # its key bundle is there: the offer can be sealed to it
            try:
                with pytest.raises(CallError) as err:
                    await place_call(alice, net.discovery, bob.address, k=1, answer_timeout=1.0)
            finally:
                await silent.close()
            assert f"{relay}: the callee signed in but did not answer within 1.0 s" in str(err.value)
            assert "ICE" not in str(err.value)

    run(scenario(), timeout=60)
