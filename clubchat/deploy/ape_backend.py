"""The ape backend of the deployment plan, and the job behind `ape run deploy`.

`ApeBackend` implements `clubchat.deploy.backend.Backend` on the connected ape
provider: it reuses a contract of the network's existing manifest when that
address still holds the contract's compiled code, deploys it otherwise, and
checkpoints the manifest after every new contract so that an interrupted run
resumes where it stopped. `deploy_network` runs the whole plan and writes
`deployments/<network>.json`; `scripts/deploy.py` is only its click front end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ape import chain, project
from ape.api import AccountAPI, ProviderAPI
from ape.contracts import ContractContainer

from clubchat.chain.manifest import DEPLOYMENTS_DIR, ContractRecord, Manifest, load_manifest, manifest_name
from clubchat.deploy.backend import contract_path
from clubchat.deploy.choices import DeployError
from clubchat.deploy.manifest import build_manifest, parameter_differences, stale_reason
from clubchat.deploy.plan import Deployment, deploy_protocol
from clubchat.params import REPO_ROOT, Parameters

Log = Callable[[str], None]


MAX_IMMUTABLE_WORDS = 64


def deployed_runtime_in(initcode: bytes, code: bytes) -> bool:
    """True when `code` is a runtime blob of `initcode` followed by at most 64 immutable words."""
    if not code:
        return False
    for words in range(MAX_IMMUTABLE_WORDS + 1):
        runtime = code[: len(code) - 32 * words]
        if len(runtime) * 2 < len(code):
            return False
        if runtime in initcode:
            return True
    return False


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
        # Vyper appends the immutables (32-byte words) after the runtime code, and the
        # runtime code is a verbatim blob of the deployment (init) code. The init code is
        # the reference: with Vyper's Venom pipeline (NodeRegistry) the standard-JSON
        # `deployedBytecode` differs from the blob the init code really deploys.
        init = self.container(name).contract_type.deployment_bytecode
        initcode = _normalise_code(init.bytecode) if init and init.bytecode else b""
        return bool(initcode) and deployed_runtime_in(initcode, code)

    def stale_reason(self) -> str | None:
        """Why the previous manifest cannot be reused on this dev chain (see `stale_reason`)."""
        if self.previous is None:
            return None

        def code_at(address: str) -> bytes:
            return _normalise_code(chain.provider.get_code(address))

        def matches_source(name: str, code: bytes) -> bool:
            try:
                return self._matches_compiled(name, code)
            except LookupError:  # the contract's source is gone from contracts/
                return False

        return stale_reason(self.previous.contracts, code_at, matches_source)


@dataclass
class DeployRequest:
    """What the caller chose: parameters file, account and who receives the genesis allocations."""

    params: Parameters
    account: AccountAPI
    beneficiaries: dict[str, str] = field(default_factory=dict)
    treasury: str | None = None
    directory: Path = DEPLOYMENTS_DIR


def manifest_file(provider: ProviderAPI, directory: Path = DEPLOYMENTS_DIR) -> Path:
    network = provider.network
    return directory / f"{manifest_name(network.ecosystem.name, network.name)}.json"


def _shown(path: Path) -> Path:
    return path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path


def _load_previous(path: Path, chain_id: int, log: Log) -> Manifest | None:
    """The network's existing manifest, if any, after checking it names this chain."""
    if not path.is_file():
        return None
    previous = load_manifest(path)
    if previous.chain_id != chain_id:
        raise DeployError(
            f"{path} belongs to chain {previous.chain_id} but the network serves chain {chain_id}; "
            "move that file away or pick the right network"
        )
    log(f"found   {_shown(path)}")
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
    if previous is not None and network.is_dev and (reason := backend.stale_reason()):
        # A dev chain is throwaway: a manifest that no longer matches it is replaced whole.
        log(f"stale   {_shown(path)}: {reason}; starting over")
        backend.previous = previous = None
    if previous is not None and (differ := parameter_differences(previous.parameters, request.params.raw)):
        # The chain keeps what was deployed; a manifest naming other values would lie about it.
        raise DeployError(
            f"{_shown(path)} was deployed with other parameters ({'; '.join(differ[:8])}"
            f"{'; …' if len(differ) > 8 else ''}); the contracts on chain keep theirs: change them by "
            "governance, or deploy afresh (a new local chain, or move the manifest away)"
        )
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
    log(f"wrote   {_shown(path)}: {len(backend.deployed)} deployed, {len(backend.reused)} reused")
    return manifest
