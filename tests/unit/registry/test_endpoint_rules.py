"""EndpointRules: the registry's endpoint validation as its own contract, and the registry's code size.

The registry's runtime code must fit EIP-170 (24,576 bytes): anvil and every chain refuse to
deploy a larger contract. The endpoint rules moved out of the registry for that; their reasons
still reach the registry's callers unchanged (the rule-by-rule cases are in test_register.py).
"""

from __future__ import annotations

import boa
import pytest

from clubchat.deploy.plan import registry_constructor_args
from tests.utils.deployer import deployer_for
from tests.utils.registry import NOTIFY, RELAY, TURN

EIP170_LIMIT = 24_576
TURN_CREDENTIAL = 8


@pytest.fixture(scope="session")
def rules(protocol):
    return protocol["EndpointRules"]


def test_registry_runtime_fits_eip170(registry) -> None:
    code = boa.env.get_code(registry.address)
    assert 0 < len(code) <= EIP170_LIMIT


def test_registry_calls_the_deployed_rules(registry, rules) -> None:
    assert registry.ENDPOINT_RULES() == rules.address


@pytest.mark.parametrize(
    ("kind", "uri"),
    [
        (RELAY, "wss://relay.example:443/path"),
        (RELAY, "ws://127.0.0.1:8080"),
        (TURN, "turns:turn.example:5349"),
        (NOTIFY, "https://notify.example/push"),
        (TURN_CREDENTIAL, "http://localhost/turn"),
    ],
)
def test_check_returns_a_valid_uri(rules, kind: int, uri: str) -> None:
    assert rules.check(kind, uri) == uri


@pytest.mark.parametrize(
    ("kind", "uri", "reason"),
    [
        (RELAY, "", "registry: empty endpoint"),
        (RELAY, "wss://" + "a" * 251, "registry: endpoint too long"),
        (RELAY, "ws://relay.example", "registry: relay must be wss://"),
        (RELAY, "wss://user@relay.example/", "registry: bad endpoint authority"),
        (TURN, "stun:turn.example", "registry: TURN must be turn(s):"),
        (NOTIFY, "wss://notify.example", "registry: endpoint not https://"),
        (3, "https://notify.example", "registry: unknown kind"),
        (16, "https://notify.example", "registry: unknown kind"),
    ],
)
def test_check_reverts_with_the_registry_reason(rules, kind: int, uri: str, reason: str) -> None:
    with boa.reverts(reason):
        rules.check(kind, uri)


def test_bounded_checks_only_the_length(rules) -> None:
    assert rules.bounded("") == ""
    assert rules.bounded("ipfs://" + "m" * 249) == "ipfs://" + "m" * 249
    with boa.reverts("registry: endpoint too long"):
        rules.bounded("ipfs://" + "m" * 250)


@pytest.mark.parametrize(
    ("kinds", "endpoints", "credential"),
    [(RELAY, 1, 0), (RELAY | TURN, 2, 20), (TURN, 1, 0), (RELAY | TURN | NOTIFY, 3, 5), (NOTIFY, 1, 0)],
)
def test_check_kinds_accepts(rules, kinds: int, endpoints: int, credential: int) -> None:
    assert rules.check_kinds(kinds, endpoints, credential) is True


@pytest.mark.parametrize(
    ("kinds", "endpoints", "credential", "reason"),
    [
        (0, 0, 0, "registry: unknown kind"),
        (8, 1, 0, "registry: unknown kind"),
        (RELAY | 16, 1, 0, "registry: unknown kind"),
        (RELAY | NOTIFY, 1, 0, "registry: one endpoint per kind"),
        (RELAY, 2, 0, "registry: one endpoint per kind"),
        (RELAY | NOTIFY, 2, 1, "registry: credential needs TURN"),
    ],
)
def test_check_kinds_reverts_with_the_registry_reason(
    rules, kinds: int, endpoints: int, credential: int, reason: str
) -> None:
    with boa.reverts(reason):
        rules.check_kinds(kinds, endpoints, credential)


def test_check_key(rules) -> None:
    operator, key = boa.env.generate_address("op"), boa.env.generate_address("key")
    assert rules.check_key(operator, key, False, True) is True
    with boa.reverts("registry: zero node key"):
        rules.check_key(operator, "0x" + "00" * 20, False, True)
    with boa.reverts("registry: node key is operator"):
        rules.check_key(operator, operator, False, True)
    with boa.reverts("registry: node key in use"):
        rules.check_key(operator, key, True, True)
    with boa.reverts("registry: node key did not approve"):
        rules.check_key(operator, key, False, False)


def test_constructor_rejects_rules_without_code(params, protocol) -> None:
    token = str(protocol["ClubToken"].address)
    nobody = str(boa.env.generate_address("no_rules"))
    with boa.reverts("registry: endpoint rules not a contract"):
        deployer_for("NodeRegistry").deploy(*registry_constructor_args(params, token, nobody, 0))
