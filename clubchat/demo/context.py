"""What every demo chapter gets (`DemoContext`) and the formatting helpers the chapters share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.table import Table
from web3 import Web3
from web3.contract import Contract
from web3.types import TxReceipt

from clubchat.chain.manifest import Manifest
from clubchat.chain.tx import Web3Sender
from clubchat.params import WAD


@dataclass
class DemoContext:
    """What every chapter gets: the chain, the deployment, named accounts, output and report."""

    w3: Web3
    manifest: Manifest
    accounts: dict[str, str]
    console: Console
    report: dict[str, Any] = field(default_factory=dict)
    epochs: int = 3

    def contract(self, name: str) -> Contract:
        return self.manifest.contract(self.w3, name)

    def sender(self, address: str) -> Web3Sender:
        """A `Sender` for an account anvil signs for (unlocked or impersonated)."""
        return Web3Sender(self.w3, address, timeout=30)

    def transact(self, fn: Any, sender: str) -> TxReceipt:
        """Send a contract function call from an unlocked anvil account and wait for its receipt."""
        return self.sender(sender).transact(fn)

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def travel_to(self, timestamp: int) -> None:
        """Mine the next block at `timestamp` (anvil only); later blocks follow from there."""
        if timestamp > self.now():
            self.w3.provider.make_request("evm_setNextBlockTimestamp", [timestamp])  # type: ignore[arg-type]
            self.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]

    def enter_next_sampling_epoch(self) -> None:
        """Mine the next block just inside NodeRegistry's next sampling epoch: sampling weights are
        frozen at each epoch's start, so a node registered now is drawn only from the next one."""
        registry = self.contract("NodeRegistry")
        start = int(registry.functions.EPOCH_START().call())
        length = int(registry.functions.EPOCH_SECONDS().call())
        self.travel_to(start + ((self.now() - start) // length + 1) * length + 1)

    def label(self, address: str) -> str:
        """A readable name for an address of the deployment, else the short address."""
        address = Web3.to_checksum_address(address)
        for name, record in self.manifest.contracts.items():
            if record.address == address:
                return name
        for name, escrow in self.manifest.escrows.items():
            if escrow == address:
                return f"{name} escrow"
        for name, account in self.accounts.items():
            if Web3.to_checksum_address(account) == address:
                return name
        return f"{address[:6]}…{address[-4:]}"


Chapter = Callable[[DemoContext], None]


# -- formatting ---------------------------------------------------------------------------


def club(wei: int, decimals: int = 2) -> str:
    """`1234.5 CLUB` from wei, with thousands separators (rounded down for display)."""
    whole, frac = divmod(int(wei), WAD)
    text = f"{whole:,}"
    if decimals:
        text += "." + f"{frac:018d}"[:decimals]
    return text


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.2f} %" if whole else "-"


def date(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d")


def days(seconds: int) -> str:
    return f"{seconds / 86_400:,.0f} d"


def table(title: str, *columns: str, right: tuple[int, ...] = ()) -> Table:
    table = Table(title=title, title_style="bold", header_style="bold cyan", title_justify="left")
    for index, column in enumerate(columns):
        table.add_column(column, justify="right" if index in right else "left")
    return table
