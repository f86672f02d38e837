"""The web3.py backend of the deployment plan: titanoboa compiles, a JSON-RPC node (anvil) executes.

`Web3Backend` implements `clubchat.deploy.backend.Backend` with signed transactions from a
local key and records every deployed contract (address, ABI, block) so that a deployment
manifest can be written for the run-time code (node, client) to read. The node and client
tests use it to put ClubToken and NodeRegistry on a private anvil. `boa` (for the compiler)
is imported on the first deployment only.
"""

from __future__ import annotations

from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3

from clubchat.chain.manifest import ContractRecord
from clubchat.chain.tx import send_tx
from clubchat.deploy.boa_backend import deployer_for


class Web3Backend:
    """The plan's `Backend` over web3.py, sending from `deployer`; `records` holds what it deployed."""

    def __init__(self, w3: Web3, deployer: LocalAccount) -> None:
        self.w3 = w3
        self.account = deployer
        self.deployer = deployer.address
        self.records: dict[str, ContractRecord] = {}

    def existing(self, name: str) -> Any | None:
        return None

    def deploy(self, name: str, *args: Any) -> Any:
        from vyper.compiler.output import build_abi_output

        compiled = deployer_for(name)
        abi = build_abi_output(compiled.compiler_data)
        factory = self.w3.eth.contract(abi=abi, bytecode=compiled.compiler_data.bytecode)
        receipt = send_tx(self.w3, self.account, factory.constructor(*args))
        address = receipt["contractAddress"]
        assert address is not None, f"deploying {name} created no contract"
        self.records[name] = ContractRecord(address=address, abi=abi, block=int(receipt["blockNumber"]))
        return self.w3.eth.contract(address=address, abi=abi)

    def transact(self, contract: Any, fn: str, *args: Any) -> Any:
        return send_tx(self.w3, self.account, contract.functions[fn](*args))

    def call(self, contract: Any, fn: str, *args: Any) -> Any:
        return contract.functions[fn](*args).call()

    def address(self, contract: Any) -> str:
        return str(contract.address)

    def timestamp(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])
