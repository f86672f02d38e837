"""The deployment manifest: what `ape run deploy` wrote for one network, read without ape.

A manifest (`deployments/<name>.json`) holds the chain id, the first block of the
deployment, every contract's address and ABI keyed by contract name, the raw
parameters it was deployed with, and who holds what (deployer, treasury, vesting
beneficiaries and escrows). Run-time code finds every contract through it; nothing
else in the repository hard-codes an address.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_utils import to_checksum_address
from web3 import Web3
from web3.contract import Contract

from clubchat.params import REPO_ROOT

# CLUBCHAT_DEPLOYMENTS_DIR moves every manifest (`ape run deploy --out-dir` reads it too; tests use it).
DEPLOYMENTS_DIR = Path(os.environ.get("CLUBCHAT_DEPLOYMENTS_DIR") or REPO_ROOT / "deployments")
FORMAT_VERSION = 1

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


class ManifestError(ValueError):
    """A manifest is missing, malformed or does not match the chain; the message says what to do."""


def manifest_name(ecosystem: str, network: str) -> str:
    """File stem of the manifest of `ecosystem:network`.

    Every local network of any ecosystem is `local` (ape's default is
    `ethereum:local`); forks are `local-<ecosystem>-<network>` (both are
    gitignored: they describe throwaway chains). Ethereum's public networks keep
    their name (`sepolia`); other ecosystems are prefixed so that
    `arbitrum:sepolia` does not overwrite `ethereum:sepolia`.
    """
    if network == "local":
        return "local"
    if network.endswith("-fork"):
        return f"local-{ecosystem}-{network}"
    if ecosystem == "ethereum":
        return network
    return f"{ecosystem}-{network}"


def manifest_path(network: str, directory: Path = DEPLOYMENTS_DIR) -> Path:
    """Path of the manifest of `local`, `sepolia` or a network choice like `arbitrum:sepolia:node`."""
    parts = network.split(":")
    stem = parts[0] if len(parts) == 1 else manifest_name(parts[0], parts[1])
    return directory / f"{stem}.json"


@dataclass(frozen=True)
class ContractRecord:
    """One deployed contract: where it is, its ABI and the block it was deployed in."""

    address: str
    abi: list[dict[str, Any]]
    block: int


@dataclass(frozen=True)
class Manifest:
    """Typed view of one deployment manifest."""

    network: str
    chain_id: int
    block: int
    contracts: dict[str, ContractRecord]
    parameters: dict[str, Any]
    deployer: str
    treasury: str
    genesis_time: int
    beneficiaries: dict[str, str] = field(default_factory=dict)
    escrows: dict[str, str] = field(default_factory=dict)
    source: Path | None = field(default=None, compare=False)

    def address(self, name: str) -> str:
        """Checksummed address of contract `name`."""
        return self._record(name).address

    def contract(self, w3: Web3, name: str) -> Contract:
        """A web3.py handle on contract `name` with its ABI."""
        record = self._record(name)
        return w3.eth.contract(address=to_checksum_address(record.address), abi=record.abi)

    def check_chain(self, w3: Web3) -> None:
        """Raise ManifestError unless `w3` is on this manifest's chain and every contract has code."""
        chain_id = int(w3.eth.chain_id)
        if chain_id != self.chain_id:
            raise ManifestError(
                f"{self._where()} describes chain {self.chain_id} but the RPC serves chain {chain_id}; "
                "point to the right RPC or re-run `ape run deploy`"
            )
        for name, record in self.contracts.items():
            if not w3.eth.get_code(to_checksum_address(record.address)):
                raise ManifestError(
                    f"{self._where()}: {name} has no code at {record.address} on this chain; "
                    "the chain was reset, re-run `ape run deploy`"
                )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form written to deployments/<name>.json."""
        return {
            "format": FORMAT_VERSION,
            "network": self.network,
            "chain_id": self.chain_id,
            "block": self.block,
            "genesis_time": self.genesis_time,
            "deployer": self.deployer,
            "treasury": self.treasury,
            "beneficiaries": dict(self.beneficiaries),
            "escrows": dict(self.escrows),
            "contracts": {
                name: {"address": r.address, "abi": r.abi, "block": r.block}
                for name, r in sorted(self.contracts.items())
            },
            "parameters": self.parameters,
        }

    def save(self, path: Path) -> None:
        """Write atomically (a reader never sees half a manifest)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        os.replace(tmp, path)

    def _record(self, name: str) -> ContractRecord:
        try:
            return self.contracts[name]
        except KeyError:
            known = ", ".join(sorted(self.contracts)) or "none"
            raise ManifestError(
                f"{self._where()} has no contract {name!r} (it has: {known}); re-run `ape run deploy`"
            ) from None

    def _where(self) -> str:
        return str(self.source) if self.source else f"the {self.network} manifest"


def _require(cond: bool, where: str, message: str) -> None:
    if not cond:
        raise ManifestError(f"{where}: {message}")


def _address(value: Any, where: str, key: str) -> str:
    _require(
        isinstance(value, str) and bool(_ADDRESS.match(value)),
        where,
        f"{key} must be a 0x-prefixed 20-byte hex address, got {value!r}",
    )
    return str(to_checksum_address(value))


def _int(value: Any, where: str, key: str) -> int:
    _require(
        isinstance(value, int) and not isinstance(value, bool) and value >= 0,
        where,
        f"{key} must be a non-negative integer, got {value!r}",
    )
    return int(value)


def _addresses(value: Any, where: str, key: str) -> dict[str, str]:
    _require(isinstance(value, dict), where, f"{key} must be an object of name -> address")
    return {str(k): _address(v, where, f"{key}.{k}") for k, v in value.items()}


def from_dict(data: Any, source: Path | None = None) -> Manifest:
    """Validate a decoded manifest; every error is one sentence naming the bad key."""
    where = str(source) if source else "manifest"
    _require(isinstance(data, dict), where, "the manifest must be a JSON object")
    for key in ("chain_id", "block", "contracts", "parameters"):
        _require(key in data, where, f"missing key {key!r}; re-run `ape run deploy` to rewrite it")
    raw_contracts = data["contracts"]
    _require(
        isinstance(raw_contracts, dict) and bool(raw_contracts),
        where,
        "contracts must be a non-empty object keyed by contract name",
    )
    contracts: dict[str, ContractRecord] = {}
    for name, entry in raw_contracts.items():
        _require(isinstance(entry, dict), where, f"contracts.{name} must be an object with address and abi")
        abi = entry.get("abi")
        _require(
            isinstance(abi, list) and all(isinstance(item, dict) for item in abi),
            where,
            f"contracts.{name}.abi must be a list of ABI entries",
        )
        contracts[str(name)] = ContractRecord(
            address=_address(entry.get("address"), where, f"contracts.{name}.address"),
            abi=abi,
            block=_int(entry.get("block", data["block"]), where, f"contracts.{name}.block"),
        )
    _require(isinstance(data["parameters"], dict), where, "parameters must be an object")
    zero = "0x" + "00" * 20
    return Manifest(
        network=str(data.get("network", "")),
        chain_id=_int(data["chain_id"], where, "chain_id"),
        block=_int(data["block"], where, "block"),
        contracts=contracts,
        parameters=data["parameters"],
        deployer=_address(data.get("deployer", zero), where, "deployer"),
        treasury=_address(data.get("treasury", zero), where, "treasury"),
        genesis_time=_int(data.get("genesis_time", 0), where, "genesis_time"),
        beneficiaries=_addresses(data.get("beneficiaries", {}), where, "beneficiaries"),
        escrows=_addresses(data.get("escrows", {}), where, "escrows"),
        source=source,
    )


def load_manifest(network_or_path: str | Path = "local", directory: Path = DEPLOYMENTS_DIR) -> Manifest:
    """Load the manifest of a network (`local`, `sepolia`, `arbitrum:sepolia`) or from a .json path."""
    text = str(network_or_path)
    if isinstance(network_or_path, Path) or text.endswith(".json"):
        path = Path(network_or_path)
    else:
        path = manifest_path(text, directory)
    if not path.is_file():
        raise ManifestError(
            f"no deployment manifest at {path}; deploy first with `ape run deploy --network <network>`"
        )
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    return from_dict(data, source=path)
