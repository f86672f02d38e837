"""`ape run nodes ...` against an anvil the test starts: register (a refused endpoint first), then status.

The operator's CLUB comes from the treasury (the Timelock, impersonated on anvil); on a live network
that transfer would be a governance proposal. A registration the registry refuses ends the command
with one sentence carrying the contract's reason, not a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from eth_account import Account

from clubchat.chain import Web3Sender, load_manifest, send_call
from clubchat.chain.tx import short
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
    treasury = manifest.address("Timelock")
    w3.provider.make_request("anvil_impersonateAccount", [treasury])  # type: ignore[arg-type]
    w3.provider.make_request("anvil_setBalance", [treasury, hex(WAD)])  # type: ignore[arg-type]
    send_call(Web3Sender(w3, treasury), token.functions.transfer(operator, 20_000 * WAD))
    key = Account.create().address
    register = ["register", "--account", f"TEST::{OPERATOR_INDEX}", "--kinds", "relay", "--node-key", key]

    refused = ape_run(chain, "nodes", *register, "--relay", "http://r.example", "--stake", "20000", ok=False)
    reason = f"a transaction to {short(str(registry.address))} would revert: registry: relay must be wss://"
    assert f"Error: {reason}" in refused
    assert "Traceback" not in refused
    assert int(registry.functions.node_key(operator).call(), 16) == 0

    text = ape_run(chain, "nodes", *register, "--relay", "wss://r.example", "--stake", "20000")
    assert f"registered {operator} as kinds relay with 20000 CLUB" in text
    assert registry.functions.node_key(operator).call() == key
    assert registry.functions.endpoint(operator, 1).call() == "wss://r.example"

    status = ape_run(chain, "nodes", "status", operator)
    assert "wss://r.example" in status
    assert "20,000.0000 CLUB for" in status
