"""Clients check endpoints read from the chain again."""

from __future__ import annotations

import pytest
from eth_account import Account

from clubchat.protocol.endpoints import NOTIFY, TURN, TURN_CREDENTIAL, EndpointError, check_endpoint
from clubchat.registry.discovery import RELAY, InMemoryDiscovery, NodeRecord, address_seed, rendezvous

# (kind, uri, accepted): the same cases the contract's tests use (tests/unit/registry/test_register.py).
CASES = [
    (RELAY, "wss://relay.example:443/ws", True),
    (RELAY, "ws://127.0.0.1:8765", True),
    (RELAY, "ws://localhost", True),
    (RELAY, "wss://r.example:443?x=@#y", True),
    (RELAY, "ws://127.0.0.1:@relay.evil.example/", False),
    (RELAY, "ws://localhost.evil.example/", False),
    (RELAY, "ws://127.0.0.1.evil.example:80/", False),
    (RELAY, "ws://127.0.0.1:80x/", False),
    (RELAY, "wss://user@relay.example/", False),
    (RELAY, "wss://relay.example:/", False),
    (RELAY, "wss://relay.example:443443", False),
    (RELAY, "wss:///path", False),
    (RELAY, "wss://[2001:db8::1]:443/", False),
    (RELAY, "https://relay.example", False),
    (RELAY, "", False),
    (NOTIFY, "https://notify.example/push", True),
    (NOTIFY, "http://localhost:@notify.evil.example/", False),
    (TURN_CREDENTIAL, "http://127.0.0.1:8080/cred", True),
    (TURN_CREDENTIAL, "https://a:b@cred.example/turn", False),
    (TURN, "turns:turn.example:5349", True),
    (TURN, "stun:turn.example", False),
]


@pytest.mark.parametrize(("kind", "uri", "accepted"), CASES)
def test_check_endpoint(kind: int, uri: str, accepted: bool) -> None:
    if accepted:
        assert check_endpoint(kind, uri) == uri
    else:
        with pytest.raises(EndpointError):
            check_endpoint(kind, uri)


def test_rendezvous_skips_endpoints_the_rules_refuse() -> None:
    """A relay whose on-chain endpoint breaks the rules is never connected to."""
    disc = InMemoryDiscovery()
    good = Account.from_key(b"\x01" * 32).address
    bad = Account.from_key(b"\x02" * 32).address
    disc.register(good, NodeRecord(RELAY, {RELAY: "ws://127.0.0.1:9000"}, good, 1))
    disc.register(bad, NodeRecord(RELAY, {RELAY: "ws://127.0.0.1:@relay.evil.example/"}, bad, 1))
    callee = Account.from_key(b"\x03" * 32).address
    assert set(disc.sample(RELAY, address_seed(callee), 2)) == {good, bad}
    assert rendezvous(disc, callee) == ["ws://127.0.0.1:9000"]
