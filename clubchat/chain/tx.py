"""Sending transactions: the one `Sender` protocol, its web3.py implementations and the receipt wait.

Every transaction the package sends goes through a `Sender` (an object with `.address` and
`.send(to, data, value) -> tx hash`, returning once the transaction is mined successfully):

- `LocalSender` signs with an eth-account key (operators, node keys, test keys). Every LocalSender
  of one key takes its nonce and submits under that key's lock, a thread lock within a process and
  an `flock` on a per-key file (`nonce_lock_dir()`) across processes: a node key's heartbeats,
  reviewer votes and ad settlements, sent from different threads, and a manual `club dispute vote`
  beside `club node run` on the same key, never take the same nonce;
- `Web3Sender` uses `eth_sendTransaction` from an account the node signs for (anvil's unlocked
  accounts, impersonation in simulations and the demo);
- `clubchat.chain.ape_sender.ApeSender` wraps an ape account (`ape run ...` scripts); it lives in
  its own module so that nothing at run time imports ape.

A transaction that would revert or did revert raises `TransactionFailed` with one sentence that
names the target and the contract's revert reason. `transact(sender, fn)` sends a web3.py contract
function call (or a constructor, for `LocalSender`/`Web3Sender`) and returns its receipt.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, Protocol

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from web3 import Web3
from web3.types import TxReceipt

RECEIPT_TIMEOUT_SECONDS = 120.0
# Headroom over the estimate: it runs on the latest block, the transaction in the next one, and
# timestamp-keyed bookkeeping (vote checkpoints, epochs) can take a costlier path there.
GAS_HEADROOM = 1.3
GAS_EXTRA = 30_000


class TransactionFailed(RuntimeError):
    """A transaction would revert or reverted; the message names the target and the revert reason."""


class Sender(Protocol):
    """Sends one transaction and waits for it to be mined."""

    address: str

    def send(self, to: str, data: bytes, value: int = 0) -> str:
        """Send `data` to `to` with `value` wei; return the transaction hash once mined successfully."""
        ...


def short(address: str | None) -> str:
    """`0xabcd…1234`, or "a new contract" for a deployment."""
    return f"{address[:6]}…{address[-4:]}" if address else "a new contract"


def revert_reason(exc: BaseException) -> str:
    """The node's revert message without web3's prefixes, on one line."""
    text = " ".join(str(exc).split())
    for prefix in ("('", '("'):
        if text.startswith(prefix):  # web3 wraps (message, data) tuples
            text = text[2:].split("', ")[0].split('", ')[0]
    return text.removeprefix("execution reverted: ")[:200] or type(exc).__name__


def wait_for_receipt(w3: Web3, tx_hash: Any, tx: dict[str, Any], timeout: float) -> TxReceipt:
    """Wait for `tx_hash`; raise TransactionFailed with the revert reason when it did not succeed.

    The reason is learnt by replaying `tx` as a call on the parent block of the failed one.
    """
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=timeout)
    if receipt["status"] == 1:
        return receipt
    reason = "no reason given"
    try:
        call = {k: tx[k] for k in ("from", "to", "data", "value") if tx.get(k) is not None}
        w3.eth.call(call, receipt["blockNumber"] - 1)  # type: ignore[arg-type]
    except Exception as exc:  # the revert we are after
        reason = revert_reason(exc)
    used = f"gas {receipt['gasUsed']:,} of {tx.get('gas', receipt['gasUsed']):,}"
    tx_hash = receipt["transactionHash"].to_0x_hex()
    raise TransactionFailed(f"transaction {tx_hash} to {short(tx.get('to'))} reverted ({used}): {reason}")


class _RpcSender:
    """What both web3.py senders share: checking for a revert first, sending, the receipt wait."""

    w3: Web3
    address: str
    timeout: float

    def __init__(self) -> None:
        # The last transaction sent and its receipt (callers read them, e.g. for gas or events).
        self.last_tx = ""
        self.last_receipt: TxReceipt | None = None

    def send(self, to: str, data: bytes, value: int = 0) -> str:
        self._send({"to": to_checksum_address(to), "data": data, "value": value})
        return self.last_tx

    def transact(self, fn: Any, value: int = 0) -> TxReceipt:
        """Send a web3.py contract function call or constructor; return the receipt once mined."""
        if hasattr(fn, "address"):  # a function of a deployed contract
            tx = {
                "to": to_checksum_address(fn.address),
                "data": fn._encode_transaction_data(),
                "value": value,
            }
        else:  # a constructor: no `to`
            tx = {"data": fn.data_in_transaction, "value": value}
        return self._send(tx)

    def _send(self, tx: dict[str, Any]) -> TxReceipt:
        tx = {"from": self.address, **tx}
        try:
            estimate = int(self.w3.eth.estimate_gas(tx))  # type: ignore[arg-type]
        except Exception as exc:  # the node's revert message is what the user needs
            raise TransactionFailed(
                f"a transaction to {short(tx.get('to'))} would revert: {revert_reason(exc)}"
            ) from None
        tx["gas"] = int(estimate * GAS_HEADROOM) + GAS_EXTRA
        tx_hash = self._submit(tx)
        receipt = wait_for_receipt(self.w3, tx_hash, tx, self.timeout)
        self.last_tx = str(receipt["transactionHash"].to_0x_hex())
        self.last_receipt = receipt
        return receipt

    def _submit(self, tx: dict[str, Any]) -> Any:
        """Send `tx` (from, to, data, value, gas); return its hash."""
        raise NotImplementedError


class LocalSender(_RpcSender):
    """Signs with a local eth-account key (EIP-1559 fees) and sends the raw transaction."""

    def __init__(self, w3: Web3, account: LocalAccount, timeout: float = RECEIPT_TIMEOUT_SECONDS) -> None:
        super().__init__()
        self.w3, self.account, self.timeout = w3, account, timeout
        self.address = str(account.address)

    # One lock per key address, shared by every LocalSender of this machine's user: reading the
    # pending nonce and submitting is one step per key (the node's pool counts a transaction as
    # pending once `send_raw_transaction` returns). The receipt wait runs outside it.
    _key_locks: ClassVar[dict[str, threading.Lock]] = {}
    _locks_lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    @contextmanager
    def key_lock(cls, address: str) -> Iterator[None]:
        """Hold `address`'s nonce lock: this process's thread lock, then the file lock other
        processes of this user take (threads queue on the first, so one flock per process)."""
        checksum = to_checksum_address(address)
        with cls._locks_lock:
            lock = cls._key_locks.setdefault(checksum, threading.Lock())
        with lock, (nonce_lock_dir() / f"{checksum}.lock").open("a") as file:
            fcntl.flock(file, fcntl.LOCK_EX)  # released when the file closes, or the process dies
            yield

    def _submit(self, tx: dict[str, Any]) -> Any:
        base = int(self.w3.eth.get_block("latest").get("baseFeePerGas", 0))
        with self.key_lock(self.address):
            full = {
                **tx,
                "nonce": self.w3.eth.get_transaction_count(to_checksum_address(self.address), "pending"),
                "chainId": self.w3.eth.chain_id,
                "maxFeePerGas": 2 * base + 10**9,
                "maxPriorityFeePerGas": 10**9,
            }
            signed = self.account.sign_transaction(full)
            return self.w3.eth.send_raw_transaction(signed.raw_transaction)


def nonce_lock_dir() -> Path:
    """Where the per-key nonce lock files live: `$CLUBCHAT_LOCK_DIR`, else a directory of this
    user's in the system's temporary directory (created 0700)."""
    configured = os.environ.get("CLUBCHAT_LOCK_DIR")
    path = Path(configured) if configured else Path(tempfile.gettempdir()) / f"clubchat-nonces-{os.getuid()}"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


class Web3Sender(_RpcSender):
    """`eth_sendTransaction` from an account the node signs for (anvil's test accounts, impersonation)."""

    def __init__(self, w3: Web3, address: str, timeout: float = RECEIPT_TIMEOUT_SECONDS) -> None:
        super().__init__()
        self.w3, self.timeout = w3, timeout
        self.address = str(to_checksum_address(address))

    def _submit(self, tx: dict[str, Any]) -> Any:
        return self.w3.eth.send_transaction(tx)  # type: ignore[arg-type]


def call_data(fn: Any) -> bytes:
    """The calldata of a web3.py contract function call."""
    return bytes.fromhex(fn._encode_transaction_data().removeprefix("0x"))


def send_call(sender: Sender, fn: Any, value: int = 0) -> str:
    """Send a web3.py contract function call through any `Sender`; returns the transaction hash."""
    return sender.send(str(fn.address), call_data(fn), value)


def send_tx(w3: Web3, account: LocalAccount, fn: Any, timeout: float = RECEIPT_TIMEOUT_SECONDS) -> TxReceipt:
    """Sign `fn` (a contract function call or constructor) with `account`, send it, return the receipt."""
    return LocalSender(w3, account, timeout).transact(fn)
