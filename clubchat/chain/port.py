"""The port a typed contract client acts through: one account's reads, transactions and events.

A client such as `clubchat.registry.RegistryActions` defines each contract action once, against
this port, so the same definition runs on any backend:

- `Web3Port` (here): web3.py contracts and a `Sender` (the `club` CLI, `ape run nodes`, the node
  software, the client, the demo and the integration tests);
- `clubchat.deploy.boa_backend.BoaPort`: titanoboa's in-process EVM, acting by `prank`
  (contracts in the loop, `clubchat.sim.loop`).

Contract handles are the backend's own (a web3.py `Contract`, a boa contract); arguments and
results are plain Python values (addresses as strings, amounts as ints).
"""

from __future__ import annotations

from typing import Any, Protocol

from web3 import Web3
from web3.logs import DISCARD

from clubchat.chain.tx import Sender, send_call


class Port(Protocol):
    """One account on one chain backend."""

    # The acting address; None for a read-only port (a transaction then raises).
    account: str | None

    def call(self, contract: Any, fn: str, *args: Any) -> Any:
        """Read view `fn` of `contract`."""
        ...

    def transact(self, contract: Any, fn: str, *args: Any) -> str:
        """Send `fn(*args)` to `contract` from `account`; return the transaction's id once it succeeded."""
        ...

    def events(self, contract: Any, name: str, tx: str) -> list[dict[str, Any]]:
        """The `name` events `contract` emitted in transaction `tx`, each as {field: value}."""
        ...

    def balance(self, address: str) -> int:
        """Ether balance of `address` in wei."""
        ...

    def timestamp(self) -> int:
        """Timestamp of the latest block."""
        ...

    def acting_as(self, who: Any) -> Port:
        """The same chain acting as `who` (a `Sender` on web3.py, an address on titanoboa)."""
        ...


class Web3Port:
    """`Port` over web3.py: reads with `eth_call`, sends through a `Sender` (None: read-only)."""

    def __init__(self, w3: Web3, sender: Sender | None = None) -> None:
        self.w3, self.sender = w3, sender
        self.account = str(sender.address) if sender is not None else None

    def call(self, contract: Any, fn: str, *args: Any) -> Any:
        return contract.functions[fn](*args).call()

    def transact(self, contract: Any, fn: str, *args: Any) -> str:
        if self.sender is None:
            raise ValueError("this port is read-only; give it a Sender to send transactions")
        return send_call(self.sender, contract.functions[fn](*args))

    def events(self, contract: Any, name: str, tx: str) -> list[dict[str, Any]]:
        receipt = self.w3.eth.get_transaction_receipt(tx)  # type: ignore[arg-type]
        return [dict(ev.args) for ev in contract.events[name]().process_receipt(receipt, errors=DISCARD)]

    def balance(self, address: str) -> int:
        return int(self.w3.eth.get_balance(Web3.to_checksum_address(address)))

    def timestamp(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def acting_as(self, who: Any) -> Web3Port:
        return Web3Port(self.w3, who)
