"""The whole operator lifecycle through `club node …` on a private anvil.

Register with an exact decimal stake, refuse a bad endpoint before any transaction, schedule a
commission change (printed with when it applies), claim with nothing pending (no transaction),
unbond `--amount` in CLUB, rebond, withdraw `--all` after the clock moved, set endpoint, metadata and
node key, jail + unjail, exit; every action prints CLUB amounts with units and every refusal is
one line.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner, Result
from eth_account import Account
from eth_account.signers.local import LocalAccount

from clubchat.chain.tx import send_tx
from clubchat.cli import main
from clubchat.node.cli import REGISTRATION_HINT, ChainLink
from clubchat.registry import check_registration
from clubchat.registry.words import node_record
from tests.node.chain_env import Chain, chain

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

WAD = 10**18


@pytest.fixture(scope="module")
def c(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    with chain(tmp_path_factory.mktemp("lifecycle")) as deployed:
        yield deployed


def club(c: Chain, *args: str, ok: bool = True) -> Result:
    result = CliRunner().invoke(
        main, [*args, "--rpc-url", c.anvil.url, "--network", str(c.manifest_path)], catch_exceptions=False
    )
    assert (result.exit_code == 0) == ok, result.output
    assert "Traceback" not in result.output
    return result


def hexkey(account: LocalAccount) -> str:
    return "0x" + bytes(account.key).hex()


def nonce(c: Chain, who: str) -> int:
    return int(c.w3.eth.get_transaction_count(who))


def test_operator_lifecycle(c: Chain, tmp_path: Path) -> None:
    operator, node_key, delegator = Account.create(), Account.create(), Account.create()
    c.fund(operator.address, 40_000)
    c.fund(delegator.address, 5_000)
    c.fund(node_key.address, 0)  # 1 ETH: the key sends its own approval of the operator
    reg = c.registry.functions
    key_file = tmp_path / "operator.key"
    key_file.write_text(hexkey(operator) + "\n")
    register = ["node", "register", "--key-file", str(key_file), "--node-key", hexkey(node_key)]

    # a wrong endpoint scheme is refused before the approve transaction is paid for
    bad = club(c, *register, "--relay", "http://relay.example", "--stake", "30000.3", ok=False)
    assert "a relay endpoint must be wss://" in bad.output
    assert nonce(c, operator.address) == 0
    # a thousands separator is refused with what to type instead
    sep = club(c, *register, "--relay", "wss://relay.example", "--stake", "30,000", ok=False)
    assert "write CLUB amounts without thousands separators, e.g. 30000" in sep.output

    out = club(c, *register, "--relay", "wss://relay.example", "--stake", "30000.3").output
    assert '"stake": "30,000.3 CLUB"' in out
    assert int(reg.assets_of(operator.address, operator.address).call()) == 30_000 * WAD + 3 * WAD // 10
    assert reg.node_key(operator.address).call() == node_key.address

    # a second registration names the commands that change a registration
    again = club(c, *register, "--relay", "wss://relay.example", "--stake", "10000", ok=False)
    assert (
        f"{operator.address} is already registered; change it with `club node set-endpoint`" in again.output
    )

    me = ["--key", hexkey(operator)]
    sent = nonce(c, operator.address)
    nothing = club(c, "node", "claim", *me).output
    assert f"nothing to claim from {operator.address} for {operator.address} (0 CLUB pending)" in nothing
    assert nonce(c, operator.address) == sent  # no transaction

    commission = club(c, "node", "set-commission", "700", *me).output
    assert "commission 5.00 % -> 7.00 % scheduled; applies from" in commission
    assert "(in 7 days; unix " in commission
    assert int(node_record(c.registry, operator.address)[8]) == 700

    delegated = club(c, "node", "delegate", operator.address, "1000.25", "--key", hexkey(delegator)).output
    assert f"delegated 1,000.25 CLUB to {operator.address}" in delegated

    unbonded = club(c, "node", "unbond", operator.address, "--amount", "1000.5", *me).output
    assert "unbonding 1,000.5 CLUB" in unbonded and "as entry 0, released" in unbonded
    assert "(in 14 days; unix " in unbonded
    rebonded = club(c, "node", "rebond", "0", *me).output
    assert "rebonded entry 0 1,000.5 CLUB" in rebonded
    club(c, "node", "unbond", operator.address, "--amount", "500", *me)
    early = club(c, "node", "withdraw", "--all", *me).output
    assert "nothing to withdraw yet (entry 1 released" in early

    moved = club(c, "chain", "advance", "--days", "15").output
    assert "moved the clock 15 days forward" in moved
    before = int(c.token.functions.balanceOf(operator.address).call())
    withdrawn = club(c, "node", "withdraw", "--all", *me).output
    assert "withdrew 500 CLUB from 1 entry" in withdrawn
    assert int(c.token.functions.balanceOf(operator.address).call()) - before == 500 * WAD

    club(c, "node", "set-endpoint", "relay", "wss://relay2.example", *me)
    assert reg.endpoint(operator.address, 1).call() == "wss://relay2.example"
    bad_uri = club(c, "node", "set-endpoint", "relay", "https://relay2.example", *me, ok=False)
    assert "a relay endpoint must be wss://" in bad_uri.output
    club(c, "node", "set-metadata", "--region", "eu-west", "--metadata-uri", "https://op.example", *me)
    assert reg.region(operator.address).call() == "eu-west"
    new_key = Account.create()
    c.fund(new_key.address, 0)  # it approves the operator itself before the rotation
    rotated = club(c, "node", "set-node-key", "--node-key", hexkey(new_key), *me).output
    assert f"node key of {operator.address} is now {new_key.address}" in rotated
    assert reg.node_key(operator.address).call() == new_key.address

    not_jailed = club(c, "node", "unjail", *me, ok=False).output
    assert "registry: not jailed" in not_jailed
    now = int(c.w3.eth.get_block("latest")["timestamp"])
    send_tx(c.w3, c.backend.account, c.registry.functions.jail(operator.address, now + 60))
    club(c, "chain", "advance", "--seconds", "120")
    assert "is out of jail" in club(c, "node", "unjail", *me).output
    assert not bool(node_record(c.registry, operator.address)[3])

    left = club(c, "node", "exit", *me).output
    assert "exit: unbonding 29,500.3 CLUB" in left and "club node withdraw --all" in left
    assert (
        int(c.registry.functions.node_words(operator.address, operator.address).call()[6]) & (2**127 - 1) == 0
    )

    status = club(c, "node", "status", operator.address).output
    assert "wss://relay2.example" in status


def test_bad_keys_are_one_sentence(c: Chain) -> None:
    short = club(c, "node", "stake", "10", "--key", "0x1234", ok=False).output
    assert "not a private key: got 4 characters, expected 64 hex digits" in short
    mnemonic = " ".join(["test"] * 11 + ["junk"])
    words = club(c, "node", "stake", "10", "--key", mnemonic, ok=False).output
    assert "that looks like a mnemonic" in words


def test_node_key_without_eth_gets_a_warning_naming_it(c: Chain) -> None:
    operator, poor_key = Account.create(), Account.create()
    link = ChainLink.open(c.anvil.url, str(c.manifest_path), operator.address, poor_key, 2)
    warning = link.gas_warning()
    assert warning is not None
    assert f"node key {poor_key.address} holds 0 ETH" in warning
    assert f"`club chain fund {poor_key.address} --eth 1`" in warning
    c.fund(poor_key.address, 0)  # 1 ETH
    assert link.gas_warning() is None


def test_registration_hint_names_commands_that_exist() -> None:
    for command in ("set-endpoint", "set-node-key"):
        assert f"`club node {command}" in REGISTRATION_HINT
        assert CliRunner().invoke(main, ["node", command, "--help"]).exit_code == 0
    assert "club node register" not in REGISTRATION_HINT


def test_public_turn_uri_is_checked_instead_of_the_local_coturn_address(c: Chain) -> None:
    """The README's public TURN example: coturn binds 10.0.0.5, the registry holds turn.example."""
    operator, node_key = Account.create(), Account.create()
    c.fund(operator.address, 20_000)
    c.fund(node_key.address, 0)
    public = "turn:turn.example:3478?transport=udp"
    credentials = "https://turn.example/turn-credentials"
    club(
        c,
        "node",
        "register",
        "--key",
        hexkey(operator),
        "--node-key",
        hexkey(node_key),
        "--kinds",
        "turn",
        "--stake",
        "10000",
        "--turn-uri",
        public,
        "--credential-uri",
        credentials,
    )
    node = SimpleNamespace(
        config=SimpleNamespace(kinds=frozenset({"turn"})),
        relay=SimpleNamespace(uri="ws://10.0.0.5:9000", credential_uri=credentials),
        coturn=SimpleNamespace(config=SimpleNamespace(uri="turn:10.0.0.5:3478?transport=udp")),
    )
    link = ChainLink.open(c.anvil.url, str(c.manifest_path), operator.address, node_key, 2)
    local_only = check_registration(link.registry, operator.address, link.registration(node))  # type: ignore[arg-type]
    assert local_only == [
        "kind 2 endpoint on chain is 'turn:turn.example:3478?transport=udp', "
        "this node serves 'turn:10.0.0.5:3478?transport=udp'"
    ]
    link.public_turn_uri = public
    assert check_registration(link.registry, operator.address, link.registration(node)) == []  # type: ignore[arg-type]
