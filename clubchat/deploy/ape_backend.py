"""The ape backend of the deployment plan, and the job behind `ape run deploy`.

`ApeBackend` implements `clubchat.deploy.backend.Backend` on the connected ape
provider: it reuses a contract of the network's existing manifest when that
address still holds the contract's compiled code, deploys it otherwise, and
checkpoints the manifest after every new contract so that an interrupted run
resumes where it stopped. `deploy_network` runs the whole plan and writes
`deployments/<network>.json`; `scripts/deploy.py` is only its click front end.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ape import chain, project
from ape.api import AccountAPI, ProviderAPI
from ape.contracts import ContractContainer
from eth_utils import is_address, to_checksum_address

from clubchat.chain.manifest import DEPLOYMENTS_DIR, ContractRecord, Manifest, load_manifest, manifest_name
from clubchat.deploy.backend import contract_path
from clubchat.deploy.manifest import build_manifest
from clubchat.deploy.plan import Deployment, deploy_protocol
from clubchat.params import REPO_ROOT, Parameters

Log = Callable[[str], None]

# Environment variable naming the beneficiary of vesting allocation NAME on live networks.
BENEFICIARY_ENV = "CLUBCHAT_BENEFICIARY_{}"


class DeployError(RuntimeError):
    """A deployment cannot proceed; the message says what to fix."""


def _normalise_code(code: Any) -> bytes:
    if isinstance(code, bytes | bytearray):
        return bytes(code)
    text = str(code)
    return bytes.fromhex(text[2:] if text.startswith("0x") else text)


class ApeBackend:
    """`Backend` on the connected ape provider, deploying and sending from `account`."""

    def __init__(
        self,
        account: AccountAPI,
        previous: Manifest | None,
        checkpoint: Callable[[ApeBackend], object] | None = None,
        log: Log = print,
    ) -> None:
        self.account = account
        self.deployer = str(account.address)
        self.previous = previous
        self.log = log
        self._checkpoint = checkpoint
        self._containers: dict[str, ContractContainer] = {}
        # What this run found on chain or deployed, in order.
        self.records: dict[str, ContractRecord] = {}
        self.deployed: list[str] = []
        self.reused: list[str] = []

    # -- Backend protocol -------------------------------------------------------------

    def existing(self, name: str) -> Any | None:
        if name in self.records:
            return self.container(name).at(self.records[name].address)
        if self.previous is None or name not in self.previous.contracts:
            return None
        record = self.previous.contracts[name]
        code = _normalise_code(chain.provider.get_code(record.address))
        if not code:
            return None
        if not self._matches_compiled(name, code):
            raise DeployError(
                f"{name} at {record.address} (from {self.previous.source}) runs different code than "
                f"{contract_path(name).relative_to(REPO_ROOT)}; remove that manifest entry to redeploy it"
            )
        self.records[name] = record
        self.reused.append(name)
        self.log(f"reuse   {name:<16} {record.address}")
        return self.container(name).at(record.address)

    def deploy(self, name: str, *args: Any) -> Any:
        instance = self.account.deploy(self.container(name), *args)
        receipt = chain.provider.get_receipt(str(instance.txn_hash))
        address = str(instance.address)
        self.records[name] = ContractRecord(address=address, abi=self.abi(name), block=receipt.block_number)
        self.deployed.append(name)
        self.log(f"deploy  {name:<16} {address}  block {receipt.block_number}  gas {receipt.gas_used:,}")
        if self._checkpoint is not None:
            self._checkpoint(self)
        return instance

    def transact(self, contract: Any, fn: str, *args: Any) -> Any:
        receipt = getattr(contract, fn)(*args, sender=self.account)
        self.log(f"send    {contract.contract_type.name}.{fn}  gas {receipt.gas_used:,}")
        return receipt

    def call(self, contract: Any, fn: str, *args: Any) -> Any:
        return getattr(contract, fn)(*args)

    def address(self, contract: Any) -> str:
        return str(contract.address)

    def timestamp(self) -> int:
        return int(chain.blocks.head.timestamp)

    # -- compiled artefacts -----------------------------------------------------------

    def container(self, name: str) -> ContractContainer:
        """The compiled contract `name`; compiles only its source (and what it imports)."""
        if name not in self._containers:
            source = contract_path(name).relative_to(project.path)
            loaded = project.load_contracts(source)
            if name not in loaded:
                raise DeployError(f"compiling {source} produced no contract named {name}")
            self._containers[name] = loaded[name]
        return self._containers[name]

    def abi(self, name: str) -> list[dict[str, Any]]:
        entries = self.container(name).contract_type.abi
        return [entry.model_dump(mode="json", by_alias=True, exclude_none=True) for entry in entries]

    def _matches_compiled(self, name: str, code: bytes) -> bool:
        # Vyper appends the immutables after the runtime code, so the deployed code
        # starts with the compiled runtime bytecode.
        runtime = self.container(name).contract_type.runtime_bytecode
        expected = _normalise_code(runtime.bytecode) if runtime and runtime.bytecode else b""
        return bool(expected) and code.startswith(expected)


@dataclass
class DeployRequest:
    """What the caller chose: parameters file, account and who receives the genesis allocations."""

    params: Parameters
    account: AccountAPI
    beneficiaries: dict[str, str] = field(default_factory=dict)
    treasury: str | None = None
    directory: Path = DEPLOYMENTS_DIR


def parse_beneficiaries(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """`("team=0xabc…", …)` from the command line into a checksummed mapping."""
    result: dict[str, str] = {}
    for pair in pairs:
        name, sep, address = pair.partition("=")
        if not sep or not name or not is_address(address):
            raise DeployError(f"--beneficiary takes NAME=0xADDRESS (e.g. team=0x…), got {pair!r}")
        result[name.strip()] = str(to_checksum_address(address))
    return result


def resolve_beneficiaries(
    params: Parameters,
    given: Mapping[str, str],
    *,
    is_dev: bool,
    test_accounts: list[str],
    environ: Mapping[str, str] = os.environ,
) -> dict[str, str]:
    """Beneficiary of every vesting allocation in the parameters file.

    On a local chain the allocations go to distinct test accounts (1, 2, 3, …;
    account 0 deploys) unless given. On live networks each must be given with
    `--beneficiary NAME=0x…` or `CLUBCHAT_BENEFICIARY_<NAME>`: a deployment never
    silently vests tokens to a placeholder.
    """
    names = [a.name for a in params.genesis.vesting]
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise DeployError(
            f"--beneficiary {unknown[0]} is not a vesting allocation of the parameters file "
            f"(allocations: {', '.join(names)})"
        )
    result: dict[str, str] = {}
    for index, name in enumerate(names):
        env_name = BENEFICIARY_ENV.format(name.upper())
        if name in given:
            result[name] = given[name]
        elif env_name in environ:
            result[name] = parse_beneficiaries([f"{name}={environ[env_name]}"])[name]
        elif is_dev and index + 1 < len(test_accounts):
            result[name] = test_accounts[index + 1]
        else:
            raise DeployError(
                f"no beneficiary for the {name!r} vesting allocation: pass --beneficiary {name}=0x… "
                f"or set {env_name}"
            )
    return result


def manifest_file(provider: ProviderAPI, directory: Path = DEPLOYMENTS_DIR) -> Path:
    network = provider.network
    return directory / f"{manifest_name(network.ecosystem.name, network.name)}.json"


def _load_previous(path: Path, chain_id: int, log: Log) -> Manifest | None:
    if not path.is_file():
        return None
    previous = load_manifest(path)
    if previous.chain_id != chain_id:
        raise DeployError(
            f"{path} belongs to chain {previous.chain_id} but the network serves chain {chain_id}; "
            "move that file away or pick the right network"
        )
    log(f"found   {path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path}")
    return previous


def deploy_network(provider: ProviderAPI, request: DeployRequest, log: Log = print) -> Manifest:
    """Deploy (or complete) the protocol on the connected network and write its manifest."""
    network = provider.network
    chain_id = int(provider.chain_id)
    path = manifest_file(provider, request.directory)
    previous = _load_previous(path, chain_id, log)
    network_label = f"{network.ecosystem.name}:{network.name}"

    def checkpoint(backend: ApeBackend, dep: Deployment | None = None) -> Manifest:
        manifest = build_manifest(
            network=network_label,
            chain_id=chain_id,
            records=backend.records,
            params=request.params,
            deployer=backend.deployer,
            treasury=dep.treasury if dep else (request.treasury or backend.deployer),
            genesis_time=dep.genesis_time if dep else 0,
            beneficiaries=dep.beneficiaries if dep else request.beneficiaries,
            escrows=dep.escrows if dep else {},
        )
        manifest.save(path)
        return manifest

    backend = ApeBackend(request.account, previous, checkpoint=checkpoint, log=log)
    # A re-run keeps the original genesis time when the original token is still there.
    genesis_time = previous.genesis_time if previous and backend.existing("ClubToken") is not None else 0
    dep = deploy_protocol(
        backend,
        request.params,
        beneficiaries=request.beneficiaries,
        treasury=request.treasury,
        genesis_time=genesis_time,
    )
    manifest = checkpoint(backend, dep)
    log(
        f"wrote   {path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path}: "
        f"{len(backend.deployed)} deployed, {len(backend.reused)} reused"
    )
    return manifest
