"""`ape run nodes ...` against an anvil the test starts: register (a refused endpoint first), then status.

The operator's CLUB comes from `ape run local fund` (the treasury, impersonated on anvil; refused on a
live network, where it would be a governance grant). A bad endpoint ends the command in one sentence
before any transaction; then unbond --amount, withdraw --all after `ape run local advance`, a claim
with nothing pending (no transaction) and a keeper pass.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from eth_account import Account

from clubchat.chain import LocalSender, load_manifest
from clubchat.chain.tx import send_call
from clubchat.cli import main
from clubchat.params import WAD
from tests.utils.ape_cli import ApeChain, ape_run, deployed_anvil

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

OPERATOR_INDEX = 5  # TEST::5: anvil and ape derive their test accounts from the same mnemonic


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApeChain]:
    with deployed_anvil(tmp_path_factory.mktemp("deployments")) as deployed:
        yield deployed


def test_register_and_status(chain: ApeChain) -> None:
    _, w3, out = chain
    manifest = load_manifest("local", directory=out)
    registry, token = manifest.contract(w3, "NodeRegistry"), manifest.contract(w3, "ClubToken")
    operator = str(w3.eth.accounts[OPERATOR_INDEX])
    funded = ape_run(chain, "local", "fund", operator, "--club", "20100.5", "--eth", "0.5")
    assert f"sent 20,100.5 CLUB and 0.5 ETH to {operator}" in funded
    assert int(token.functions.balanceOf(operator).call()) == 20_100 * WAD + WAD // 2
    key_account = Account.create()
    key = key_account.address
    # The node key consents to its operator with its own transaction (the script is given only its
    # address here); anvil's account 0 gives it gas money.
    w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": key, "value": WAD})
    send_call(LocalSender(w3, key_account), registry.functions.approve_operator(operator))
    register = [
        "register",
        "--account",
        f"TEST::{OPERATOR_INDEX}",
        "--kinds",
        "relay",
        "--node-key-address",
        key,
    ]

    # a wrong scheme is refused before any transaction (the approve is not paid for)
    nonce = w3.eth.get_transaction_count(operator)
    refused = ape_run(chain, "nodes", *register, "--relay", "http://r.example", "--stake", "20000", ok=False)
    assert "a relay endpoint must be wss://" in refused
    assert "Traceback" not in refused
    assert w3.eth.get_transaction_count(operator) == nonce
    assert int(registry.functions.node_key(operator).call(), 16) == 0

    text = ape_run(chain, "nodes", *register, "--relay-uri", "wss://r.example", "--stake", "20000")
    assert f"registered {operator} as kinds relay with 20,000 CLUB" in text
    assert registry.functions.node_key(operator).call() == key
    assert registry.functions.endpoint(operator, 1).call() == "wss://r.example"

    status = ape_run(chain, "nodes", "status", operator)
    assert "wss://r.example" in status
    assert "20,000.0000 CLUB for" in status

    me = ["--account", f"TEST::{OPERATOR_INDEX}"]
    nothing = ape_run(chain, "nodes", "claim", *me)
    assert "(0 CLUB pending); no transaction sent" in nothing
    unbonded = ape_run(chain, "nodes", "unbond", operator, "--amount", "100.5", *me)
    assert "unbonding 100.5 CLUB" in unbonded and "(in 14 days; unix " in unbonded
    moved = ape_run(chain, "local", "advance", "--days", "15")
    assert "moved the clock 15 days forward" in moved
    assert "withdrew 100.5 CLUB from 1 entry" in ape_run(chain, "nodes", "withdraw", "--all", *me)
    kept = ape_run(chain, "keeper", "--once", "--account", "TEST::6")
    assert re.search(r"Emission: settled 2 emission epochs, minted [\d,.]+ CLUB; tip 20 CLUB", kept), kept
    assert "NodeRegistry: finalised reward epoch 0" in kept
    # `club keeper run` on the same chain: everything is settled, so it sends nothing and says when next
    node, _, out = chain
    keeper_key = "0x" + "d1" * 32
    args = [
        "keeper",
        "run",
        "--once",
        "--key",
        keeper_key,
        "--rpc-url",
        node.url,
        "--network",
        str(out / "local.json"),
    ]
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0, again.output
    assert "nothing due" in again.output
    assert re.search(
        r"next emission epoch: 20\S+ \S+ UTC \(in \d+ days?( \d+ hours?)?; unix \d+\)", again.output
    )
