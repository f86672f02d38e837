"""Paid message requests at the relay (clubchat.node.notify_gate): a user with a price gets first
messages from strangers only once they escrowed it; members of a shared community, accepted
requests and peers the user wrote to first pass; everyone without a price is untouched."""

from __future__ import annotations

import pytest
from eth_account import Account

from clubchat.client.relay_client import RelayClient, RelayError
from clubchat.node.notify_gate import RequestGate
from clubchat.protocol import messages as m
from tests.node.harness import relay, run
from tests.node.test_notify import HandView, join

WAD = 10**18


def test_unpaid_first_messages_to_a_priced_user_are_refused() -> None:
    bob, stranger, friend, payer, other = (Account.create() for _ in range(5))
    view = HandView(None, None, None, 0)
    view.request_price[bob.address.lower()] = 5 * WAD
    for u in (bob, friend):
        join(view, u.address, 3)

    async def scenario() -> None:
        async with relay() as server:
            server.gate = RequestGate(view)
            cb, cs, cf, cp, co = [
                await RelayClient.connect(server.uri, u) for u in (bob, stranger, friend, payer, other)
            ]
            with pytest.raises(RelayError, match="paid requests of 5 CLUB") as err:
                await cs.send(bob.address, m.Text(body="hi"))
            assert err.value.code == "payment-required"
            assert (await cf.send(bob.address, m.Text(body="from the club"))).status == "delivered"
            assert (await cs.send(other.address, m.Text(body="no price here"))).status == "delivered"
            # the stranger pays (the chain view sees the escrow): delivered
            view.escrows.add((stranger.address.lower(), bob.address.lower()))
            assert (await cs.send(bob.address, m.Text(body="paid"))).status == "delivered"
            # a refunded request closes the door again; an accepted one keeps it open
            view.escrows.clear()
            with pytest.raises(RelayError, match="payment-required"):
                await cs.send(bob.address, m.Text(body="again"))
            view.accepted.add((stranger.address.lower(), bob.address.lower()))
            assert (await cs.send(bob.address, m.Text(body="accepted before"))).status == "delivered"
            # bob writes to payer first: payer may answer without paying
            with pytest.raises(RelayError, match="payment-required"):
                await cp.send(bob.address, m.Text(body="cold"))
            await cb.send(payer.address, m.Text(body="hello payer"))
            assert (await cp.send(bob.address, m.Text(body="reply"))).status == "delivered"
            assert server.gate.refused == 3
            for c in (cb, cs, cf, cp, co):
                await c.close()

    run(scenario())
