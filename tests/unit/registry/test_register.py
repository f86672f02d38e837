"""NodeRegistry.register and the update functions: happy paths, events, every revert."""

from __future__ import annotations

import boa
import pytest

from clubchat.protocol.endpoints import is_valid_endpoint
from tests.client.test_endpoints import CASES
from tests.utils.registry import (
    NOTIFY,
    RELAY,
    TURN,
    TURN_CREDENTIAL,
    approve_key,
    credential_for,
    endpoints_for,
    register_node,
)

WAD = 10**18

ZERO = "0x0000000000000000000000000000000000000000"


def _register(
    registry,
    operator,
    key,
    kinds=RELAY,
    endpoints=None,
    credential=None,
    commission=0,
    amount=None,
    minimum=10_000 * 10**18,
    meta="https://m.example/x.json",
):
    if key != ZERO:
        approve_key(registry, key, operator)
    with boa.env.prank(operator):
        return registry.register(
            kinds,
            key,
            "eu-west",
            meta,
            endpoints_for(kinds) if endpoints is None else endpoints,
            credential_for(kinds) if credential is None else credential,
            commission,
            amount if amount is not None else minimum * bin(kinds).count("1"),
        )


def test_register_all_kinds(directory, registry, token, actors, minimum):
    before = token.balanceOf(actors.operator)
    _register(
        registry,
        actors.operator,
        actors.node_key,
        kinds=RELAY | TURN | NOTIFY,
        commission=700,
        amount=3 * minimum,
    )
    logs = registry.get_logs()
    n = directory.nodes(actors.operator)
    assert n.kinds == 7 and n.node_key == actors.node_key and n.commission_bps == 700
    assert (
        n.bonded_assets == 3 * minimum and directory.shares(actors.operator, actors.operator) == 3 * minimum
    )
    assert token.balanceOf(actors.operator) == before - 3 * minimum
    assert registry.endpoint(actors.operator, RELAY) == "wss://n.relay.example:443"
    assert registry.endpoint(actors.operator, TURN) == "turns:n.turn.example:5349"
    assert registry.endpoint(actors.operator, NOTIFY) == "https://n.notify.example"
    assert registry.endpoint(actors.operator, TURN_CREDENTIAL) == "https://n.turn.example/credentials"
    assert directory.credential_endpoint(actors.operator) == "https://n.turn.example/credentials"
    assert registry.node_key(actors.operator) == actors.node_key
    assert directory.operator_of_key(actors.node_key) == actors.operator
    assert registry.region(actors.operator) == "eu-west"
    assert registry.node_count() == 1
    # Not live before the first heartbeat: registered but not eligible, weight 0.
    assert not directory.is_eligible(actors.operator) and n.weight == 0
    names = [type(e).__name__ for e in logs]
    assert "NodeRegistered" in names and names.count("EndpointChanged") == 4 and "Staked" in names


def test_heartbeat_makes_node_eligible(directory, registry, actors, minimum):
    _register(registry, actors.operator, actors.node_key, amount=minimum)
    with boa.env.prank(actors.node_key):
        registry.heartbeat()
    assert directory.is_eligible(actors.operator)
    assert directory.nodes(actors.operator).weight == minimum // WAD  # whole CLUB
    assert registry.total_stake(RELAY) == minimum and registry.total_stake(TURN) == 0
    assert registry.total_weight() == minimum // WAD


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"kinds": 0}, "registry: unknown kind"),
        ({"kinds": 8, "endpoints": ["wss://a.example"]}, "registry: unknown kind"),
        ({"kinds": RELAY, "endpoints": []}, "registry: one endpoint per kind"),
        ({"kinds": RELAY, "endpoints": ["wss://a", "wss://b"]}, "registry: one endpoint per kind"),
        ({"kinds": RELAY, "endpoints": [""]}, "registry: empty endpoint"),
        ({"kinds": RELAY, "endpoints": ["wss://" + "a" * 251]}, "registry: endpoint too long"),
        ({"kinds": RELAY, "meta": "https://" + "a" * 249}, "registry: endpoint too long"),
        ({"kinds": RELAY, "endpoints": ["https://relay.example"]}, "registry: relay must be wss://"),
        ({"kinds": RELAY, "endpoints": ["ws://relay.example:80"]}, "registry: relay must be wss://"),
        ({"kinds": RELAY, "endpoints": ["wss://"]}, "registry: relay must be wss://"),
        # Issue 11, finding 5: the loopback rule reads the authority, not a prefix.
        (
            {"kinds": RELAY, "endpoints": ["ws://127.0.0.1:@relay.evil.example/"]},
            "registry: bad endpoint authority",
        ),
        ({"kinds": RELAY, "endpoints": ["ws://localhost.evil.example/"]}, "registry: relay must be wss://"),
        (
            {"kinds": RELAY, "endpoints": ["ws://127.0.0.1.evil.example:80/"]},
            "registry: relay must be wss://",
        ),
        ({"kinds": RELAY, "endpoints": ["ws://127.0.0.1:80x/"]}, "registry: bad endpoint authority"),
        ({"kinds": RELAY, "endpoints": ["wss://user@relay.example/"]}, "registry: bad endpoint authority"),
        ({"kinds": RELAY, "endpoints": ["wss://relay.example:/"]}, "registry: bad endpoint authority"),
        ({"kinds": RELAY, "endpoints": ["wss://relay.example:443443"]}, "registry: bad endpoint authority"),
        ({"kinds": RELAY, "endpoints": ["wss:///path"]}, "registry: bad endpoint authority"),
        ({"kinds": RELAY, "endpoints": ["wss://[2001:db8::1]:443/"]}, "registry: bad endpoint authority"),
        (
            {"kinds": NOTIFY, "endpoints": ["http://localhost:@notify.evil.example/"]},
            "registry: bad endpoint authority",
        ),
        (
            {"kinds": TURN, "credential": "http://127.0.0.1:@cred.evil.example/turn"},
            "registry: bad endpoint authority",
        ),
        ({"kinds": TURN, "credential": "https://a:b@cred.example/turn"}, "registry: bad endpoint authority"),
        ({"kinds": TURN, "endpoints": ["stun:turn.example"]}, "registry: TURN must be turn(s):"),
        ({"kinds": TURN, "credential": ""}, "registry: empty endpoint"),
        ({"kinds": TURN, "credential": "http://cred.example"}, "registry: endpoint not https://"),
        ({"kinds": NOTIFY, "endpoints": ["wss://notify.example"]}, "registry: endpoint not https://"),
        ({"kinds": RELAY, "credential": "https://cred.example"}, "registry: credential needs TURN"),
        ({"kinds": RELAY, "commission": 5001}, "registry: commission too high"),
        ({"kinds": RELAY, "amount": 10_000 * 10**18 - 1}, "registry: stake below minimum"),
        ({"kinds": RELAY | NOTIFY, "amount": 2 * 10_000 * 10**18 - 1}, "registry: stake below minimum"),
    ],
)
def test_register_bad_input(registry, actors, kwargs, reason):
    with boa.reverts(reason):
        _register(registry, actors.operator, actors.node_key, **kwargs)


def test_register_loopback_dev_endpoints(registry, actors, minimum):
    _register(
        registry,
        actors.operator,
        actors.node_key,
        kinds=RELAY | TURN,
        endpoints=["ws://127.0.0.1:8765", "turn:127.0.0.1:3478"],
        credential="http://localhost:8080/cred",
    )
    assert registry.endpoint(actors.operator, RELAY) == "ws://127.0.0.1:8765"


@pytest.mark.parametrize(
    "relay",
    ["ws://localhost", "ws://127.0.0.1/", "ws://localhost:8765/ws", "wss://r.example:443?x=@#y"],
)
def test_register_accepts_parsed_authorities(registry, actors, relay):
    _register(registry, actors.operator, actors.node_key, endpoints=[relay])
    assert registry.endpoint(actors.operator, RELAY) == relay


def test_register_exactly_256_chars(registry, actors):
    uri = "wss://" + "a" * 250
    _register(registry, actors.operator, actors.node_key, endpoints=[uri])
    assert registry.endpoint(actors.operator, RELAY) == uri


def test_register_key_checks(registry, actors, alice, bob):
    with boa.reverts("registry: zero node key"):
        _register(registry, actors.operator, ZERO)
    with boa.reverts("registry: node key is operator"):
        _register(registry, actors.operator, actors.operator)
    _register(registry, actors.operator, actors.node_key)
    with boa.reverts("registry: already registered"):
        _register(registry, actors.operator, alice)
    with boa.reverts("registry: node key in use"):
        _register(registry, bob, actors.node_key)


def test_register_needs_allowance(registry, actors, token):
    with boa.env.prank(actors.operator):
        token.approve(registry.address, 0)
    with boa.reverts("erc20: insufficient allowance"):
        _register(registry, actors.operator, actors.node_key)


def test_set_endpoint(directory, registry, actors, alice):
    register_node(registry, actors.operator, actors.node_key, kinds=RELAY | TURN, amount=20_000 * 10**18)
    with boa.env.prank(actors.operator):
        registry.set_endpoint(RELAY, "wss://new.example")
        ev = registry.get_logs()[-1]
        registry.set_endpoint(TURN_CREDENTIAL, "https://cred2.example")
    assert ev.kind == RELAY and ev.uri == "wss://new.example"
    assert registry.endpoint(actors.operator, RELAY) == "wss://new.example"
    assert directory.credential_endpoint(actors.operator) == "https://cred2.example"
    with boa.env.prank(actors.operator), boa.reverts("registry: kind not declared"):
        registry.set_endpoint(NOTIFY, "https://x.example")
    with boa.env.prank(actors.operator), boa.reverts("registry: unknown kind"):
        registry.set_endpoint(16, "https://x.example")
    with boa.env.prank(actors.operator), boa.reverts("registry: TURN must be turn(s):"):
        registry.set_endpoint(TURN, "wss://x.example")
    with boa.env.prank(actors.operator), boa.reverts("registry: endpoint too long"):
        registry.set_endpoint(RELAY, "wss://" + "b" * 300)
    with boa.env.prank(alice), boa.reverts("registry: not registered"):
        registry.set_endpoint(RELAY, "wss://x.example")


def test_set_credential_needs_turn(registry, actors):
    register_node(registry, actors.operator, actors.node_key, kinds=RELAY, amount=10_000 * 10**18)
    with boa.env.prank(actors.operator), boa.reverts("registry: kind not declared"):
        registry.set_endpoint(TURN_CREDENTIAL, "https://cred.example")


def test_set_node_key(directory, registry, actors, alice, bob):
    register_node(registry, actors.operator, actors.node_key, kinds=RELAY, amount=10_000 * 10**18)
    approve_key(registry, alice, actors.operator)
    with boa.env.prank(actors.operator):
        registry.set_node_key(alice)
        ev = registry.get_logs()[-1]
    assert (ev.old_key, ev.new_key) == (actors.node_key, alice)
    assert registry.node_key(actors.operator) == alice
    # A retired key stays attributed to its operator (see test_key_history.py).
    assert directory.operator_of_key(actors.node_key) == actors.operator
    with boa.env.prank(actors.node_key), boa.reverts("registry: not a node key"):
        registry.heartbeat()
    with boa.env.prank(alice):
        registry.heartbeat()
    bob_key = str(boa.env.generate_address("bob_key"))
    register_node(registry, bob, bob_key, kinds=RELAY, amount=10_000 * 10**18)
    with boa.env.prank(actors.operator), boa.reverts("registry: node key in use"):
        registry.set_node_key(bob_key)
    with boa.env.prank(actors.operator), boa.reverts("registry: zero node key"):
        registry.set_node_key(ZERO)
    with boa.env.prank(actors.operator), boa.reverts("registry: node key is operator"):
        registry.set_node_key(actors.operator)
    with boa.env.prank(actors.delegator), boa.reverts("registry: not registered"):
        registry.set_node_key(carol_like := str(boa.env.generate_address("k2")))  # noqa: F841


def test_set_metadata(registry, actors):
    register_node(registry, actors.operator, actors.node_key, kinds=RELAY, amount=10_000 * 10**18)
    with boa.env.prank(actors.operator):
        registry.set_metadata("us-east", "ipfs://meta")
        ev = registry.get_logs()[-1]
    assert (ev.region, ev.metadata_uri) == ("us-east", "ipfs://meta")
    assert (
        registry.region(actors.operator) == "us-east"
        and registry.metadata_uri(actors.operator) == "ipfs://meta"
    )
    with boa.env.prank(actors.operator), boa.reverts("registry: endpoint too long"):
        registry.set_metadata("x", "h" * 257)
    with boa.env.prank(actors.delegator), boa.reverts("registry: not registered"):
        registry.set_metadata("x", "y")


def test_client_endpoint_rules_match_the_contract(registry, actors, minimum):
    """clubchat.protocol.endpoints (what clients check again) accepts exactly what the contract accepts."""
    register_node(registry, actors.operator, actors.node_key, kinds=RELAY | TURN | NOTIFY, amount=3 * minimum)
    for kind, uri, accepted in CASES:
        with boa.env.anchor(), boa.env.prank(actors.operator):
            try:
                registry.set_endpoint(kind, uri)
                on_chain = True
            except boa.BoaError:
                on_chain = False
        assert on_chain == accepted == is_valid_endpoint(kind, uri), (kind, uri)
