"""The titanoboa backend of the deployment plan: tests build the protocol exactly as `ape run deploy` does."""

from __future__ import annotations

from functools import cache
from typing import Any

import boa

from clubchat.deploy.backend import EVM_VERSION, contract_path
from clubchat.deploy.plan import Deployment, deploy_protocol
from clubchat.params import Parameters


@cache
def deployer_for(name: str) -> Any:
    """Compiled (once per session) contract factory for contracts/**/<name>.vy."""
    return boa.load_partial(str(contract_path(name)), compiler_args={"evm_version": EVM_VERSION})


class BoaBackend:
    def __init__(self, deployer: str) -> None:
        self.deployer = deployer

    def existing(self, name: str) -> Any | None:
        return None

    def deploy(self, name: str, *args: Any) -> Any:
        with boa.env.prank(self.deployer):
            return deployer_for(name).deploy(*args)

    def transact(self, contract: Any, fn: str, *args: Any) -> Any:
        with boa.env.prank(self.deployer):
            return getattr(contract, fn)(*args)

    def call(self, contract: Any, fn: str, *args: Any) -> Any:
        return getattr(contract, fn)(*args)

    def address(self, contract: Any) -> str:
        return str(contract.address)

    def timestamp(self) -> int:
        return int(boa.env.evm.patch.timestamp)


def deploy_all(params: Parameters, deployer: str, beneficiaries: dict[str, str] | None = None) -> Deployment:
    """Deploy the whole protocol in the current boa environment."""
    return deploy_protocol(BoaBackend(deployer), params, beneficiaries=beneficiaries)
