"""Who sends governance transactions: one protocol for web3 (unlocked, impersonated) and ape accounts."""

from __future__ import annotations

from typing import Any, Protocol

from eth_utils import to_checksum_address
from web3 import Web3

RECEIPT_TIMEOUT_SECONDS = 120


class TransactionFailed(RuntimeError):
    """A governance transaction reverted; the message carries the revert reason when the node gives one."""


class Sender(Protocol):
    """Sends one transaction and waits for it to be mined."""

    address: str

    def send(self, to: str, data: bytes, value: int = 0) -> str:
        """Send `data` to `to` with `value` wei; return the transaction hash once mined successfully."""
        ...


class Web3Sender:
    """`eth_sendTransaction` from an account the node signs for (anvil's test accounts, impersonation)."""

    def __init__(self, w3: Web3, address: str) -> None:
        self.w3 = w3
        self.address: str = str(to_checksum_address(address))
        # Hash of the last transaction sent (callers read its receipt, e.g. for gas).
        self.last_tx = ""

    def send(self, to: str, data: bytes, value: int = 0) -> str:
        tx = {"from": self.address, "to": to_checksum_address(to), "data": data, "value": value}
        try:
            self.w3.eth.call(tx)  # type: ignore[arg-type]
        except Exception as exc:  # the node's revert message is what the user needs
            raise TransactionFailed(f"{_short(to)} would revert: {exc}") from None
        tx_hash = self.w3.eth.send_transaction(tx)  # type: ignore[arg-type]
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=RECEIPT_TIMEOUT_SECONDS)
        if receipt["status"] != 1:
            raise TransactionFailed(f"transaction {tx_hash.hex()} to {_short(to)} reverted")
        self.last_tx = str(tx_hash.to_0x_hex())
        return self.last_tx


def _short(address: str) -> str:
    return f"{address[:6]}…{address[-4:]}"


class AccountSender:
    """Sends through an ape account object (keystores, hardware wallets, test accounts alike).

    Duck-typed on `account.address` and `account.transfer(to, value, data=...)`, so this
    module needs no ape import; the `ape run governance|nodes` scripts pass their accounts in.
    """

    def __init__(self, account: Any) -> None:
        self.account = account
        self.address = str(account.address)

    def send(self, to: str, data: bytes, value: int = 0) -> str:
        receipt = self.account.transfer(to, value, data=data)
        return str(receipt.txn_hash)
