"""The small interface a deployment backend (ape, titanoboa) offers to the plan."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from clubchat.params import DATA_ROOT

CONTRACTS_DIR = DATA_ROOT / "contracts"

# The EVM version every contract is compiled for, in tests, benchmarks and ape
# (ape-config.yaml repeats it for ape-vyper; tests/unit/test_evm_version.py checks
# the two agree). Cancun: supported by Ethereum, Arbitrum and Moonbeam today.
EVM_VERSION = "cancun"


def contract_path(name: str) -> Path:
    """Source file of the deployable contract `name` (file names are unique under contracts/)."""
    matches = sorted(CONTRACTS_DIR.rglob(f"{name}.vy"))
    if len(matches) != 1:
        raise LookupError(f"expected exactly one contracts/**/{name}.vy, found {len(matches)}")
    return matches[0]


class Backend(Protocol):
    """What the plan needs from a chain: deploy, attach, send, read."""

    deployer: str

    def existing(self, name: str) -> Any | None:
        """The already deployed `name` (from a manifest) if its code is on chain, else None."""

    def deploy(self, name: str, *args: Any) -> Any:
        """Deploy contract `name` from the deployer; return a handle."""

    def transact(self, contract: Any, fn: str, *args: Any) -> Any:
        """Send a state-changing call from the deployer."""

    def call(self, contract: Any, fn: str, *args: Any) -> Any:
        """Read a view function."""

    def address(self, contract: Any) -> str:
        """Checksummed address of a handle."""

    def timestamp(self) -> int:
        """Timestamp of the latest block."""
