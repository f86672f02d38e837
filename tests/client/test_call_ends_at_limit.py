"""The client ends a call when its TURN credential expires (the relay caps a credential at the
caller's tier's call limit; the TURN node stops relaying then): the caller hangs up with the reason
`call limit reached` and the callee, whose own credential lasts longer, gets it in the `bye`. Real
relays and coturn on loopback, the TURN node's issuer capped at 3 s for the caller."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from eth_account import Account

from clubchat.client.call import LIMIT_REACHED
from clubchat.client.session import Listener, place_call
from clubchat.node.localnet import local_network as network
from tests.node.harness import run

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("fast_ice")]

alice = Account.from_key("0x" + "a5" * 32)
bob = Account.from_key("0x" + "b6" * 32)
LIMIT = 3


def test_a_call_ends_when_the_callers_credential_expires(tmp_path: Path) -> None:
    async def scenario() -> tuple[float, str | None, str | None]:
        async with network(tmp_path) as net:
            issuer = net.turn.relay.turn_credentials  # type: ignore[union-attr]
            issuer.max_ttl = lambda address: LIMIT if address.lower() == alice.address.lower() else None
            listener = Listener(bob, net.discovery)
            await listener.start()
            try:
                started = time.time()
                session = await place_call(alice, net.discovery, bob.address)
                incoming = await asyncio.wait_for(listener.calls.get(), 10)
                assert session.call.ends_at is not None and session.call.ends_at - started <= LIMIT + 1
                assert incoming.call.ends_at is not None and incoming.call.ends_at - started > 60
                for _ in range(200):  # bound: 10 s
                    if session.call.ended is not None and incoming.call.ended is not None:
                        break
                    await asyncio.sleep(0.05)
                ended_after = time.time() - started
                result = (ended_after, session.call.ended, incoming.call.ended)
                await session.close()
                await incoming.close()
                return result
            finally:
                await listener.close()

    ended_after, caller, callee = run(scenario(), timeout=60)
    assert (caller, callee) == (LIMIT_REACHED, LIMIT_REACHED)  # the callee heard why in the bye
    assert LIMIT - 1 <= ended_after <= LIMIT + 2
