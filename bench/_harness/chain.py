"""The benchmarks' chain: a private anvil (`clubchat.chain.anvil`) at a fixed genesis time, and
web3 on it with named funded accounts, snapshots and measured transactions.

Operations are real signed transactions, each mined in its own block with a fresh timestamp, and
the figure a benchmark reports is the receipt's `gasUsed`.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import HTTPProvider, Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.types import TxReceipt

from _harness.compile import Artifact
from _harness.paths import BenchError
from clubchat.chain.anvil import TEST_MNEMONIC, Anvil, AnvilError, anvil_binary, free_port
from clubchat.deploy.backend import EVM_VERSION

# anvil's default test mnemonic: its first ten accounts are funded with 10,000 ETH each.
ANVIL_MNEMONIC = TEST_MNEMONIC
# Fixed genesis time (2026-01-01T00:00:00Z) so timestamps, and hence every run, are reproducible.
GENESIS_TIMESTAMP = 1_767_225_600
# Seconds between consecutive blocks; every transaction gets its own block and timestamp.
BLOCK_INTERVAL = 12
# Gas limit of every call; receipt gasUsed does not depend on it (it only has to be large enough).
CALL_GAS_LIMIT = 3_000_000


def anvil_version() -> str:
    out = subprocess.run(
        [str(anvil_binary()), "--version"], capture_output=True, text=True, check=True
    ).stdout
    return out.splitlines()[0].strip()


@contextmanager
def anvil(
    hardfork: str = EVM_VERSION, timeout: float = 60.0, extra_args: Sequence[str] = ()
) -> Iterator[str]:
    """Run a private anvil on a free loopback port for the duration of the block; yields its RPC URL.

    The chain is `clubchat.chain.anvil.Anvil` with the test mnemonic, pinned to `hardfork` and to
    GENESIS_TIMESTAMP. `extra_args` go to anvil as they are (e.g. `--steps-tracing` to inspect where a
    transaction's gas goes with `debug_traceTransaction`; the benchmarks themselves run without it).
    Exactly the processes started here (anvil's own process group) are stopped on exit.
    """
    node = Anvil(
        free_port(),
        startup_timeout=timeout,
        extra_args=["--hardfork", hardfork, "--timestamp", str(GENESIS_TIMESTAMP), *extra_args],
    )
    try:
        node.start()
    except AnvilError as exc:
        raise BenchError(str(exc)) from exc
    try:
        yield node.url
    finally:
        node.stop()


class Chain:
    """web3 on a private anvil: named funded accounts, deployments and measured transactions.

    Every transaction is signed locally, mined in its own block whose timestamp is the previous block's
    plus BLOCK_INTERVAL (or an explicit `travel`), and must succeed.
    """

    def __init__(self, url: str, actors: Sequence[str]) -> None:
        self.w3 = Web3(HTTPProvider(url, request_kwargs={"timeout": 120}))
        self.chain_id = int(self.w3.eth.chain_id)
        Account.enable_unaudited_hdwallet_features()
        self.accounts: dict[str, LocalAccount] = {}
        for index, actor in enumerate(actors):
            self.accounts[actor] = Account.from_mnemonic(
                ANVIL_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}"
            )
        for acct in self.accounts.values():
            if self.w3.eth.get_balance(acct.address) == 0:
                # anvil funds only its first accounts; top up the others (no gas effect on what is measured).
                self.rpc("anvil_setBalance", acct.address, hex(10**22))

    def rpc(self, method: str, *params: Any) -> Any:
        response = self.w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
        if "error" in response:
            raise BenchError(f"{method} failed: {response['error']}")
        return response.get("result")

    def address(self, actor: str) -> str:
        return str(self.accounts[actor].address)

    def latest_timestamp(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def travel(self, seconds: int) -> None:
        """Mine an empty block `seconds` after the latest one (voting delays, timelock delays)."""
        self.rpc("evm_setNextBlockTimestamp", self.latest_timestamp() + seconds)
        self.rpc("evm_mine")

    def snapshot(self) -> str:
        return str(self.rpc("evm_snapshot"))

    def revert(self, snapshot_id: str) -> None:
        if not self.rpc("evm_revert", snapshot_id):
            raise BenchError(f"anvil could not revert to snapshot {snapshot_id}")

    @contextmanager
    def isolated(self) -> Iterator[None]:
        """Run the block on top of the current state and roll everything back afterwards."""
        snap = self.snapshot()
        try:
            yield
        finally:
            self.revert(snap)

    def _send(self, sender: str, tx: dict[str, Any]) -> TxReceipt:
        acct = self.accounts[sender]
        base_fee = int(self.w3.eth.get_block("latest").get("baseFeePerGas", 0))
        tx.update(
            {
                "from": acct.address,
                "nonce": self.w3.eth.get_transaction_count(acct.address),
                "chainId": self.chain_id,
                "maxPriorityFeePerGas": 0,
                "maxFeePerGas": 2 * base_fee + 10**9,
                "type": 2,
            }
        )
        signed = acct.sign_transaction(tx)
        self.rpc("evm_setNextBlockTimestamp", self.latest_timestamp() + BLOCK_INTERVAL)
        tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60)
        if receipt["status"] != 1:
            raise BenchError(f"transaction from {sender} reverted: {self._revert_reason(tx)}")
        return receipt

    def _revert_reason(self, tx: dict[str, Any]) -> str:
        call = {k: tx[k] for k in ("from", "to", "data") if k in tx}
        try:
            self.w3.eth.call(call)  # type: ignore[arg-type]
        except Exception as exc:  # the message is what we want
            return str(exc)
        return "unknown reason"

    def deploy(self, artifact: Artifact, *args: Any, sender: str) -> Contract:
        factory = self.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        data = factory.constructor(*args).data_in_transaction
        tx: dict[str, Any] = {"data": data}
        tx["gas"] = int(self.w3.eth.estimate_gas({"from": self.address(sender), "data": data}) * 1.2)
        receipt = self._send(sender, tx)
        return self.w3.eth.contract(address=receipt["contractAddress"], abi=artifact.abi)

    def transact(self, call: ContractFunction, sender: str, gas_limit: int = CALL_GAS_LIMIT) -> TxReceipt:
        tx: dict[str, Any] = {
            "to": call.address,
            "data": call._encode_transaction_data(),
            "gas": gas_limit,
        }
        return self._send(sender, tx)

    def gas(self, call: ContractFunction, sender: str, gas_limit: int = CALL_GAS_LIMIT) -> int:
        """Send `call` from `sender` in a fresh block and return the receipt's gasUsed (`gas_limit`
        only has to be large enough: a batch of 100 settlements needs more than the default)."""
        return int(self.transact(call, sender, gas_limit)["gasUsed"])

    def sign_typed_data(
        self, signer: str, domain: dict[str, Any], types: dict[str, Any], message: dict
    ) -> Any:
        return self.accounts[signer].sign_typed_data(domain, types, message)


def eip712_domain(contract: Contract) -> dict[str, Any]:
    """The EIP-712 domain a contract reports through EIP-5267 `eip712Domain()`."""
    _fields, name, version, chain_id, verifying_contract, _salt, _ext = (
        contract.functions.eip712Domain().call()
    )
    return {"name": name, "version": version, "chainId": chain_id, "verifyingContract": verifying_contract}
