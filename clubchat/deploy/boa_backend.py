"""The titanoboa backend of the deployment plan: the protocol built in-process as `ape run deploy` builds it.

Tests, benchmarks and contracts-in-the-loop (`clubchat.sim.loop`) deploy through
`deploy_all`, so they exercise the same wiring a real deployment gets; `BoaPort` is the
`clubchat.chain.port.Port` the typed contract clients act through in the loop. titanoboa is a
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


class BoaPort:
    """`clubchat.chain.port.Port` on the current boa environment: `account` acts by `prank`.

    A transaction's id is a counter; `events` answers for the last transaction this port sent
    (boa keeps a contract's last computation only, so it is kept when sent and decoded on demand).
    """

    def __init__(self, account: str | None = None) -> None:
        self.account = account
        self._sent = 0
        self._last: tuple[str, Any] = ("", None)

    def call(self, contract: Any, fn: str, *args: Any) -> Any:
        return getattr(contract, fn)(*args)

    def transact(self, contract: Any, fn: str, *args: Any) -> str:
        if self.account is None:
            raise ValueError("this port is read-only; give it an account to send transactions")
        with _boa().env.prank(self.account):
            getattr(contract, fn)(*args)
        self._sent += 1
        tx = f"boa:{self.account}:{self._sent}"
        self._last = (tx, contract._computation)
        return tx

    def events(self, contract: Any, name: str, tx: str) -> list[dict[str, Any]]:
        sent, computation = self._last
        if tx != sent:
            raise LookupError(f"{tx} is not the last transaction this port sent ({sent or 'none'})")
        address = str(contract.address)
        return [
            {k: v for k, v in ev._asdict().items() if k != "address"}
            for ev in contract.get_logs(computation)
            if type(ev).__name__ == name and str(ev.address) == address
        ]

    def balance(self, address: str) -> int:
        return int(_boa().env.get_balance(address))

    def timestamp(self) -> int:
        return int(_boa().env.evm.patch.timestamp)

    def acting_as(self, who: Any) -> BoaPort:
        return BoaPort(str(who))


def deploy_all(params: Parameters, deployer: str, beneficiaries: dict[str, str] | None = None) -> Deployment:
    """Deploy the whole protocol in the current boa environment."""
    return deploy_protocol(BoaBackend(deployer), params, beneficiaries=beneficiaries)
