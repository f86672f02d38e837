"""The titanoboa backend of the deployment plan: the protocol built in-process as `ape run deploy` builds it.

Tests, benchmarks and contracts-in-the-loop (`clubchat.sim.loop`) deploy through
`deploy_all`, so they exercise the same wiring a real deployment gets. titanoboa is a
development dependency: `boa` is imported when a contract is compiled or deployed,
not when this module is imported.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from clubchat.deploy.backend import EVM_VERSION, contract_path
from clubchat.deploy.plan import Deployment, deploy_protocol
from clubchat.params import Parameters


def _boa() -> Any:
    try:
        import boa
    except ImportError as exc:  # pragma: no cover - boa ships with the dev dependencies
        raise ImportError(
            "titanoboa is not installed; run `make setup` (it installs the dev dependencies)"
        ) from exc
    return boa


@cache
def deployer_for(name: str) -> Any:
    """Compiled (once per process) contract factory for contracts/**/<name>.vy."""
    return _boa().load_partial(str(contract_path(name)), compiler_args={"evm_version": EVM_VERSION})


class BoaBackend:
    """The plan's `Backend` on the current boa environment; every write is pranked from `deployer`."""

    def __init__(self, deployer: str) -> None:
        self.deployer = deployer

    def existing(self, name: str) -> Any | None:
        return None

    def deploy(self, name: str, *args: Any) -> Any:
        with _boa().env.prank(self.deployer):
            return deployer_for(name).deploy(*args)

    def transact(self, contract: Any, fn: str, *args: Any) -> Any:
        with _boa().env.prank(self.deployer):
            return getattr(contract, fn)(*args)

    def call(self, contract: Any, fn: str, *args: Any) -> Any:
        return getattr(contract, fn)(*args)

    def address(self, contract: Any) -> str:
        return str(contract.address)

    def timestamp(self) -> int:
        return int(_boa().env.evm.patch.timestamp)


def deploy_all(params: Parameters, deployer: str, beneficiaries: dict[str, str] | None = None) -> Deployment:
    """Deploy the whole protocol in the current boa environment."""
    return deploy_protocol(BoaBackend(deployer), params, beneficiaries=beneficiaries)
